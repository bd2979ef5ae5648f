import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN, Conditions, DnsLabel, EndpointScope, KindSchema, NamespacedRef, ObjectName, ObservedGeneration, READY_COLUMN, REASON_COLUMN, StringEnum, type KindDefinition,
} from './common.ts';
import { KEY_STATES, credentialLifecycle, credentialLifecycleRules } from './apikey.ts';

/** Where an access entry stands: a key's states, and Duplicate for an entry resolving to the target of an earlier one. */
export const ACCESS_STATES = [...KEY_STATES, 'Duplicate'] as const;
export type AccessState = (typeof ACCESS_STATES)[number];

/** The most access entries of one Application: each opens a Contract and a grant in its credential. */
export const MAX_APPLICATION_ACCESS = 16;

export const AccessEntry = Type.Object(
  {
    apiInstanceRef: Type.Optional(
      NamespacedRef(
        'The ApiInstance to call: one of this organization, or one another organization shares with it under mutual trust. Exactly one of apiInstanceRef and apiGroupRef.',
      ),
    ),
    apiGroupRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName('Name of the ApiGroup.'),
          namespace: DnsLabel('Namespace of the ApiGroup: the home namespace of its organization.'),
        },
        {
          description:
            'The ApiGroup to call, every member with the one client ID: one of this organization, or one another organization shares with it (an AssetShare of the ApiGroup) under mutual trust. Exactly one of apiInstanceRef and apiGroupRef.',
        },
      ),
    ),
    tier: DnsLabel('Name of the SlaTier the access is limited by: in the ApiInstance\'s namespace, or for a group a SlaTier of the group (its apiGroupRef) in the group\'s namespace.'),
    endpoints: Type.Optional(EndpointScope()),
  },
  {
    description: 'One API, or one ApiGroup, the application asks to call, at a tier, optionally limited to some endpoints. Each entry opens one Contract on the owner\'s side.',
    'x-kubernetes-validations': [{ rule: 'has(self.apiInstanceRef) != has(self.apiGroupRef)', message: 'an access entry names exactly one of apiInstanceRef and apiGroupRef' }],
  },
);
export type AccessEntry = Static<typeof AccessEntry>;

export const ApplicationSpec = Type.Object(
  {
    displayName: Type.Optional(Type.String({ description: 'Name shown to API owners on the Contracts, e.g. "Mule United booking site".', maxLength: 128 })),
    description: Type.Optional(Type.String({ description: 'What the application is.', maxLength: 1024 })),
    access: Type.Array(AccessEntry, {
      description: `APIs and ApiGroups the application calls (at most ${MAX_APPLICATION_ACCESS}, each ApiInstance or ApiGroup once). Removing an entry closes its Contract.`,
      maxItems: MAX_APPLICATION_ACCESS,
      'x-kubernetes-list-type': 'atomic',
    }),
    ...credentialLifecycle({
      secretName: 'Name of the Secret that receives the client ID and secret, in this namespace. Defaults to <name>-client.',
      generation: 'Increase to issue a new client secret; the previous one stays valid for gracePeriod.',
      gracePeriod: 'How long a replaced secret keeps working, e.g. 24h or 90s.',
      rotation: 'Client secret rotation. The client ID stays.',
      expiresAt: 'When the client secret stops working (RFC 3339).',
      revoked: 'Set to true to revoke the application for good: its secret is deleted and its Contracts closed.',
    }),
  },
  {
    description: 'Desired state of the Application.',
    'x-kubernetes-validations': [
      ...credentialLifecycleRules('a revoked application cannot be restored: create a new Application'),
      {
        // exists_one over whole refs: a nested filter with has() ternaries costs the apiserver's CEL budget 100 times over (the CRD is refused).
        // Refs as written: {name: x} and {name: x, namespace: <own>} differ here; the webhook and the operator
        // compare the targets they resolve to (model/access-targets.ts).
        rule:
          'self.access.all(a, self.access.exists_one(b, has(a.apiInstanceRef) ? (has(b.apiInstanceRef) && b.apiInstanceRef == a.apiInstanceRef) : (has(b.apiGroupRef) && b.apiGroupRef == a.apiGroupRef)))',
        message: 'each ApiInstance and each ApiGroup may appear once in access',
        fieldPath: '.access',
      },
    ],
  },
);

export const AccessStatus = Type.Object(
  {
    apiInstance: Type.Optional(Type.String({ description: 'namespace/name of the ApiInstance (an instance entry).', maxLength: 317 })),
    apiGroup: Type.Optional(Type.String({ description: 'namespace/name of the ApiGroup (a group entry).', maxLength: 317 })),
    tier: Type.String({ description: 'SlaTier asked for.', maxLength: 63 }),
    state: StringEnum(ACCESS_STATES, {
      description: 'Pending approval, Approved (callable), Rejected, Revoked, Expired, Suspended (trust withdrawn), or Duplicate (an earlier entry names the same target: this one is ignored).',
    }),
    reason: Type.String({ description: 'Why, in CamelCase.', maxLength: 128 }),
    message: Type.String({ description: 'Human-readable explanation.', maxLength: 1024 }),
    contract: Type.Optional(
      Type.Object(
        { namespace: Type.String({ description: 'Namespace of the Contract.', maxLength: 63 }), name: Type.String({ description: 'Name of the Contract.', maxLength: 253 }) },
        { description: 'The Contract on the API owner\'s side.' },
      ),
    ),
  },
  { description: 'Where one access entry stands.' },
);

export const ApplicationStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    clientId: Type.Optional(Type.String({ description: 'The application\'s client ID (not a secret; also in the Secret).', maxLength: 64 })),
    secretName: Type.Optional(Type.String({ description: 'Secret that holds the client ID and secret.', maxLength: 253 })),
    issuedAt: Type.Optional(Type.String({ description: 'When the current client secret was issued.', format: 'date-time' })),
    rotatedGeneration: Type.Optional(Type.Integer({ description: 'rotation.generation the current secret was issued for.', minimum: 0 })),
    previousSecretValidUntil: Type.Optional(Type.String({ description: 'Until when the replaced secret keeps working.', format: 'date-time' })),
    access: Type.Optional(Type.Array(AccessStatus, { description: 'Per access entry, in spec order.', maxItems: MAX_APPLICATION_ACCESS })),
    approved: Type.Optional(Type.Integer({ description: 'Access entries callable now.', minimum: 0 })),
  },
  { description: 'Observed state of the Application.' },
);

export const Application = KindSchema(
  'Application is a consumer\'s client: one client ID and secret for every API it asks to call. The operator issues them into a Secret in this namespace and opens one Contract per access entry on the owner\'s side; each works once its Contract is approved.',
  ApplicationSpec,
  ApplicationStatus,
);
export type Application = Static<typeof Application>;

export const applicationDefinition: KindDefinition<typeof Application> = {
  kind: 'Application',
  plural: 'applications',
  singular: 'application',
  shortNames: ['app', 'apps'],
  scope: 'Namespaced',
  description: Application.description!,
  schema: Application,
  printerColumns: [
    { name: 'Client ID', type: 'string', jsonPath: '.status.clientId', description: 'Client ID (not a secret).' },
    { name: 'Approved', type: 'integer', jsonPath: '.status.approved', description: 'Access entries callable now.' },
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', description: 'Secret holding the client ID and secret.' },
    READY_COLUMN,
    REASON_COLUMN,
    { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', description: 'Name shown to API owners.', priority: 1 },
    AGE_COLUMN,
  ],
};
