import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, EndpointScope, KindSchema, NamespacedRef, ObjectName, ObservedGeneration, StringEnum, type KindDefinition } from './common.ts';

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/**
 * The credential lifecycle fields an ApiKey and an Application share (the Secret, rotation with a grace period,
 * expiry, revocation), with the words of each kind: one schema, so both keep the same semantics and CEL rules.
 */
export function credentialLifecycle(words: { secretName: string; generation: string; gracePeriod: string; rotation: string; expiresAt: string; revoked: string }) {
  return {
    secretName: Type.Optional(ObjectName(words.secretName)),
    rotation: Type.Optional(
      Type.Object(
        {
          generation: Type.Integer({ description: words.generation, minimum: 0, default: 0 }),
          gracePeriod: Type.Optional(Type.String({ description: words.gracePeriod, pattern: DURATION_PATTERN, default: '24h', maxLength: 32 })),
        },
        { description: words.rotation },
      ),
    ),
    expiresAt: Type.Optional(Type.String({ description: words.expiresAt, format: 'date-time' })),
    revoked: Type.Optional(Type.Boolean({ description: words.revoked, default: false })),
  };
}

/** The CEL rules of credentialLifecycle: revocation is final, rotation.generation only increases. */
export function credentialLifecycleRules(restoreMessage: string) {
  return [
    { rule: '!has(oldSelf.revoked) || !oldSelf.revoked || (has(self.revoked) && self.revoked)', message: restoreMessage },
    {
      rule: '!has(oldSelf.rotation) || !has(self.rotation) || self.rotation.generation >= oldSelf.rotation.generation',
      message: 'rotation.generation can only increase',
      fieldPath: '.rotation.generation',
    },
  ];
}

export const KEY_STATES = ['Pending', 'Approved', 'Rejected', 'Revoked', 'Expired', 'Suspended'] as const;
export type KeyState = (typeof KEY_STATES)[number];

export const ApiKeySpec = Type.Object(
  {
    apiInstanceRef: NamespacedRef(
      'The ApiInstance to call: one of this organization, or one another organization shares with it under mutual trust.',
    ),
    tier: DnsLabel('Name of the SlaTier (in the ApiInstance\'s namespace) the key is limited by.'),
    clientName: Type.Optional(Type.String({ description: 'Name of the consuming application, shown to the API owner.', maxLength: 128 })),
    endpoints: Type.Optional(EndpointScope()),
    ...credentialLifecycle({
      secretName: 'Name of the Secret that receives the key, in this namespace. Defaults to <name>-apikey.',
      generation: 'Increase to issue a new key; the previous one stays valid for gracePeriod.',
      gracePeriod: 'How long a replaced key keeps working, e.g. 24h or 90s.',
      rotation: 'Key rotation.',
      expiresAt: 'When the key stops working (RFC 3339).',
      revoked: 'Set to true to revoke the key for good.',
    }),
  },
  {
    description: 'Desired state of the ApiKey.',
    'x-kubernetes-validations': [
      ...credentialLifecycleRules('a revoked key cannot be restored: create a new ApiKey'),
    ],
  },
);

export const ApiKeyStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    state: Type.Optional(StringEnum(KEY_STATES, { description: 'Where the key stands: Pending approval, Approved (usable), Rejected, Revoked, Expired, or Suspended (trust withdrawn).' })),
    secretName: Type.Optional(Type.String({ description: 'Secret that holds the key.' })),
    keyId: Type.Optional(Type.String({ description: 'Non-secret identifier of the current key (a prefix of its SHA-256), to find it in gateway logs.' })),
    contract: Type.Optional(
      Type.Object(
        { namespace: Type.String({ description: 'Namespace of the Contract.' }), name: Type.String({ description: 'Name of the Contract.' }) },
        { description: 'The Contract on the API owner\'s side.' },
      ),
    ),
    issuedAt: Type.Optional(Type.String({ description: 'When the current key was issued.', format: 'date-time' })),
    rotatedGeneration: Type.Optional(Type.Integer({ description: 'rotation.generation the current key was issued for.', minimum: 0 })),
    previousKeyValidUntil: Type.Optional(Type.String({ description: 'Until when the replaced key keeps working.', format: 'date-time' })),
  },
  { description: 'Observed state of the ApiKey.' },
);

export const ApiKey = KindSchema(
  'ApiKey asks for a key to call an ApiInstance at a tier. The operator generates the key into a Secret in this namespace and opens a Contract on the owner\'s side; the key works once the Contract is approved.',
  ApiKeySpec,
  ApiKeyStatus,
);
export type ApiKey = Static<typeof ApiKey>;

export const apiKeyDefinition: KindDefinition<typeof ApiKey> = {
  kind: 'ApiKey',
  plural: 'apikeys',
  singular: 'apikey',
  shortNames: ['key', 'keys'],
  scope: 'Namespaced',
  description: ApiKey.description!,
  schema: ApiKey,
  printerColumns: [
    { name: 'API', type: 'string', jsonPath: '.spec.apiInstanceRef.name', description: 'ApiInstance the key calls.' },
    { name: 'Tier', type: 'string', jsonPath: '.spec.tier', description: 'SLA tier.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Pending, Approved, Rejected, Revoked, Expired or Suspended.' },
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', description: 'Secret holding the key.' },
    { name: 'Key ID', type: 'string', jsonPath: '.status.keyId', description: 'Non-secret key identifier.', priority: 1 },
    AGE_COLUMN,
  ],
};
