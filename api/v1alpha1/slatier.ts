import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, KindSchema, LocalRef, ObservedGeneration, READY_COLUMN, REASON_COLUMN, StringEnum, type KindDefinition } from './common.ts';

export const TierLimit = Type.Object(
  {
    requests: Type.Integer({ description: 'Requests allowed per period; must be positive.', minimum: 1, maximum: 1000000000 }),
    period: StringEnum(['second', 'minute', 'hour', 'day'] as const, { description: 'Length of the window.' }),
  },
  { description: 'One window of the tier: at most requests per period.' },
);

export const SlaTierSpec = Type.Object(
  {
    apiInstanceRef: Type.Optional(LocalRef('The ApiInstance, in this namespace (an environment namespace), the tier belongs to. Exactly one of apiInstanceRef and apiGroupRef.')),
    apiGroupRef: Type.Optional(
      LocalRef('The ApiGroup, in this namespace (the organization\'s home namespace), the tier belongs to: its limits are counted per contract across every member of the group. Exactly one of apiInstanceRef and apiGroupRef.'),
    ),
    displayName: Type.Optional(Type.String({ description: 'Name shown to consumers, e.g. "Gold".', maxLength: 128 })),
    description: Type.Optional(Type.String({ description: 'What the tier offers.', maxLength: 1024 })),
    limits: Type.Array(TierLimit, {
      description: 'Windows enforced together; a request must fit all of them.',
      minItems: 1,
      maxItems: 4,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['period'],
    }),
    approval: StringEnum(['automatic', 'manual'] as const, {
      description: 'automatic: contracts are approved at once; manual: the API owner approves each contract.',
      default: 'automatic',
    }),
  },
  {
    description: 'Desired state of the SlaTier.',
    'x-kubernetes-validations': [
      { rule: 'has(self.apiInstanceRef) != has(self.apiGroupRef)', message: 'a SlaTier belongs to exactly one of apiInstanceRef and apiGroupRef' },
      // Contracts at this tier were made for that instance or group: moving the tier would move their limits to another API.
      {
        rule: 'has(self.apiInstanceRef) == has(oldSelf.apiInstanceRef) && (!has(self.apiInstanceRef) || self.apiInstanceRef == oldSelf.apiInstanceRef)',
        message: 'apiInstanceRef cannot change: contracts at this tier were made for that ApiInstance; create a new SlaTier instead',
        fieldPath: '.apiInstanceRef',
      },
      {
        rule: 'has(self.apiGroupRef) == has(oldSelf.apiGroupRef) && (!has(self.apiGroupRef) || self.apiGroupRef == oldSelf.apiGroupRef)',
        message: 'apiGroupRef cannot change: contracts at this tier were made for that ApiGroup; create a new SlaTier instead',
        fieldPath: '.apiGroupRef',
      },
    ],
  },
);

export const SlaTierStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    contracts: Type.Optional(Type.Integer({ description: 'Approved contracts on this tier, recounted at most every 5 s while approvals come in.', minimum: 0 })),
  },
  { description: 'Observed state of the SlaTier.' },
);

export const SlaTier = KindSchema(
  'SlaTier is a service level of an ApiInstance or an ApiGroup: request limits over one or more windows, and whether contracts need the owner\'s approval.',
  SlaTierSpec,
  SlaTierStatus,
);
export type SlaTier = Static<typeof SlaTier>;

export const slaTierDefinition: KindDefinition<typeof SlaTier> = {
  kind: 'SlaTier',
  plural: 'slatiers',
  singular: 'slatier',
  shortNames: ['tier', 'tiers'],
  scope: 'Namespaced',
  description: SlaTier.description!,
  schema: SlaTier,
  printerColumns: [
    { name: 'API', type: 'string', jsonPath: '.spec.apiInstanceRef.name', description: 'ApiInstance of the tier.' },
    { name: 'Group', type: 'string', jsonPath: '.spec.apiGroupRef.name', description: 'ApiGroup of the tier.' },
    { name: 'Approval', type: 'string', jsonPath: '.spec.approval', description: 'automatic or manual.' },
    { name: 'Contracts', type: 'integer', jsonPath: '.status.contracts', description: 'Approved contracts.' },
    READY_COLUMN,
    REASON_COLUMN,
    AGE_COLUMN,
  ],
};
