import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, KindSchema, ObjectName, ObservedGeneration, READY_COLUMN, REASON_COLUMN, StringEnum, type KindDefinition } from './common.ts';
import { ApiInstanceSpec } from './apiinstance.ts';

/** The kinds a promotion copies; never Contracts, ApiKeys or Applications (consumers subscribe per environment). */
export const PROMOTED_KINDS = ['ApiInstance', 'Policy', 'SlaTier', 'Alert'] as const;
export type PromotedKind = (typeof PROMOTED_KINDS)[number];

/** At most this many copies per promotion (an instance, its policies, tiers and alerts). */
export const MAX_PROMOTED_OBJECTS = 128;

export const ApiPromotionSpec = Type.Object(
  {
    source: Type.Object(
      {
        namespace: DnsLabel('Environment namespace of the source ApiInstance: another environment of the organization that owns this namespace.'),
        name: ObjectName('Name of the source ApiInstance.'),
      },
      { description: 'The ApiInstance promoted into this namespace (the target environment).' },
    ),
    revision: Type.Optional(
      Type.Integer({
        description: 'Raise it to promote again: the copies follow the source only when this promotion\'s spec changes (a new revision, other overrides), never on their own, so production changes by a reviewed commit.',
        minimum: 0,
        maximum: 2147483647,
        default: 0,
      }),
    ),
    overrides: Type.Optional(
      Type.Object(
        {
          upstream: Type.Optional(ApiInstanceSpec.properties.upstream),
          basePath: Type.Optional(ApiInstanceSpec.properties.basePath),
          hostnames: Type.Optional(ApiInstanceSpec.properties.hostnames),
          gateway: Type.Optional(ApiInstanceSpec.properties.gateway),
        },
        { description: 'What differs in the target environment; each field replaces the source instance\'s whole field of the same name.' },
      ),
    ),
    deletionPolicy: Type.Optional(
      StringEnum(['Retain', 'Delete'] as const, {
        description: 'What deleting this promotion does to its copies: Retain (default) leaves them, Delete removes them first (a finalizer).',
        default: 'Retain',
      }),
    ),
  },
  { description: 'Desired state of the ApiPromotion.' },
);

export const PromotedObject = Type.Object(
  {
    kind: StringEnum(PROMOTED_KINDS, { description: 'Kind of the copy.' }),
    name: Type.String({ description: 'Name of the copy in this namespace.', maxLength: 253 }),
    source: Type.String({ description: 'Name of the object it was copied from, in the source namespace.', maxLength: 253 }),
    action: StringEnum(['Created', 'Updated', 'Unchanged', 'Deleted'] as const, {
      description: 'What the last promotion did: Created, Updated, Unchanged, or Deleted (a copy whose source object is gone).',
    }),
  },
  { description: 'One object of the last promotion.' },
);

export const ApiPromotionStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    state: Type.Optional(
      StringEnum(['Promoted', 'Blocked', 'Refused', 'SourceNotFound', 'SourceDeleted'] as const, {
        description: 'Promoted; Blocked (a name is taken, or a copy was refused); Refused (not allowed across these namespaces); SourceNotFound (never promoted); SourceDeleted (the copies stay).',
      }),
    ),
    promotedGeneration: Type.Optional(Type.Integer({ description: 'The .metadata.generation of this promotion the copies were last made from.', minimum: 0 })),
    sourceGeneration: Type.Optional(Type.Integer({ description: 'The .metadata.generation of the source ApiInstance the copies were last made from.', minimum: 0 })),
    promotedAt: Type.Optional(Type.String({ description: 'When the copies were last written.', format: 'date-time' })),
    copiedCount: Type.Optional(Type.Integer({ description: 'Number of copies of the last promotion (Deleted ones not counted).', minimum: 0 })),
    copied: Type.Optional(Type.Array(PromotedObject, { description: 'What the last promotion created, updated or deleted.', maxItems: MAX_PROMOTED_OBJECTS })),
  },
  { description: 'Observed state of the ApiPromotion.' },
);

export const ApiPromotion = KindSchema(
  'ApiPromotion copies an ApiInstance of another environment of the same organization into this namespace (the target environment), with the Policies that apply to it, its SlaTiers and its Alerts, and overrides for what differs (upstream, base path, hostnames, gateway). Never Contracts, ApiKeys or Applications.',
  ApiPromotionSpec,
  ApiPromotionStatus,
  { 'x-kubernetes-validations': [{ rule: 'self.metadata.name.size() <= 63', message: 'an ApiPromotion\'s name is at most 63 characters: its copies carry it as a label value' }] },
);
export type ApiPromotion = Static<typeof ApiPromotion>;

export const apiPromotionDefinition: KindDefinition<typeof ApiPromotion> = {
  kind: 'ApiPromotion',
  plural: 'apipromotions',
  singular: 'apipromotion',
  shortNames: ['promo', 'promos'],
  scope: 'Namespaced',
  description: ApiPromotion.description!,
  schema: ApiPromotion,
  printerColumns: [
    { name: 'Source NS', type: 'string', jsonPath: '.spec.source.namespace', description: 'Environment namespace of the source ApiInstance.' },
    { name: 'Source', type: 'string', jsonPath: '.spec.source.name', description: 'Source ApiInstance.' },
    { name: 'Revision', type: 'integer', jsonPath: '.spec.revision', description: 'Raise to promote again.', priority: 1 },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Promoted, Blocked, Refused, SourceNotFound or SourceDeleted.' },
    { name: 'Copied', type: 'integer', jsonPath: '.status.copiedCount', description: 'Copies of the last promotion.' },
    { name: 'Source Gen', type: 'integer', jsonPath: '.status.sourceGeneration', description: 'Generation of the source the copies were made from.', priority: 1 },
    READY_COLUMN,
    REASON_COLUMN,
    AGE_COLUMN,
  ],
};
