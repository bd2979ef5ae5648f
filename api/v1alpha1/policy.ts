import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, KindSchema, LocalRef, ObservedGeneration, READY_COLUMN, StringEnum, type KindDefinition } from './common.ts';

export const POLICY_TYPES = [
  'api-key',
  'client-id-enforcement',
  'rate-limit',
  'spike-control',
  'ip-allowlist',
  'ip-blocklist',
  'cors',
  'header-injection',
  'jwt-validation',
] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

// Kubernetes' own label limits: a key is an optional DNS-subdomain prefix (253) + "/" + a 63-character name; a value at most 63.
const LabelKey = (description: string) => Type.String({ description, minLength: 1, maxLength: 317 });
const LabelValue = (description: string) => Type.String({ description, maxLength: 63 });

export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Record(Type.String(), LabelValue('Label value.'), { description: 'Labels an ApiInstance must carry, all of them.', maxProperties: 64 }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: LabelKey('Label key.'),
            operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const, { description: 'How the key relates to the values.' }),
            values: Type.Optional(Type.Array(LabelValue('A label value.'), { description: 'Values for In and NotIn.', maxItems: 64, 'x-kubernetes-list-type': 'atomic' })),
          },
          { description: 'A label selector requirement.' },
        ),
        { description: 'Label requirements, all of them.', maxItems: 32, 'x-kubernetes-list-type': 'atomic' },
      ),
    ),
  },
  { description: 'Selects ApiInstances of this environment by label (automated policy). An empty selector selects every instance.', 'x-kubernetes-map-type': 'atomic' },
);

export const PolicySpec = Type.Object(
  {
    type: StringEnum(POLICY_TYPES, { description: 'Policy type; decides the shape of config.' }),
    order: Type.Optional(
      Type.Integer({ description: 'Position among the policies of an instance: lower runs first. Ties break by name.', minimum: 0, maximum: 10000, default: 100 }),
    ),
    targetRef: Type.Optional(LocalRef('The one ApiInstance, in this namespace, the policy applies to.')),
    selector: Type.Optional(LabelSelector),
    config: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        description: 'Configuration of the policy type; its schema depends on type (see docs/policies.md). Checked at admission, when the operator renders and when the gateway compiles.',
        // No policy type has more fields; the per-type schema bounds everything inside.
        maxProperties: 16,
        'x-kubernetes-preserve-unknown-fields': true,
      }),
    ),
  },
  {
    description: 'Desired state of the Policy.',
    'x-kubernetes-validations': [
      { rule: 'has(self.targetRef) != has(self.selector)', message: 'set exactly one of targetRef (one instance) or selector (automated policy)' },
    ],
  },
);

export const PolicyStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    appliedTo: Type.Optional(Type.Array(Type.String({ description: 'Name of an ApiInstance.' }), { description: 'ApiInstances the policy currently applies to.', maxItems: 1024 })),
    appliedCount: Type.Optional(Type.Integer({ description: 'Number of ApiInstances the policy applies to.', minimum: 0 })),
  },
  { description: 'Observed state of the Policy.' },
);

export const Policy = KindSchema(
  'Policy enforces one rule (API key, rate limit, spike control, IP lists, CORS, header injection, JWT) at the gateway for one ApiInstance or for every matching ApiInstance of the environment.',
  PolicySpec,
  PolicyStatus,
);
export type Policy = Static<typeof Policy>;

export const policyDefinition: KindDefinition<typeof Policy> = {
  kind: 'Policy',
  plural: 'policies',
  singular: 'policy',
  shortNames: ['pol'],
  scope: 'Namespaced',
  description: Policy.description!,
  schema: Policy,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Policy type.' },
    { name: 'Order', type: 'integer', jsonPath: '.spec.order', description: 'Position among the instance\'s policies.' },
    { name: 'Target', type: 'string', jsonPath: '.spec.targetRef.name', description: 'Targeted ApiInstance (empty for automated policies).' },
    { name: 'Applied', type: 'integer', jsonPath: '.status.appliedCount', description: 'ApiInstances it applies to.' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
