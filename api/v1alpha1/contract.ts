import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, EndpointScope, KindSchema, LocalRef, ObservedGeneration, StringEnum, type KindDefinition } from './common.ts';

export const CONTRACT_DECISIONS = ['Pending', 'Approved', 'Rejected', 'Revoked'] as const;
export type ContractDecision = (typeof CONTRACT_DECISIONS)[number];

export const CONSUMER_KINDS = ['ApiKey', 'Application'] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

export const ContractSpec = Type.Object(
  {
    apiInstanceRef: Type.Optional(LocalRef('The ApiInstance, in this namespace, the contract grants access to. Exactly one of apiInstanceRef and apiGroupRef.')),
    apiGroupRef: Type.Optional(
      LocalRef('The ApiGroup, in this namespace (the owner\'s home namespace), the contract grants access to: every member of the group. Exactly one of apiInstanceRef and apiGroupRef.'),
    ),
    tier: Type.String({ description: 'SlaTier of the contract.', minLength: 1, maxLength: 63 }),
    consumer: Type.Object(
      {
        organization: Type.String({ description: 'Domain of the consumer organization.', maxLength: 63 }),
        namespace: Type.String({ description: 'Namespace of the consumer\'s ApiKey or Application.', maxLength: 63 }),
        kind: StringEnum(CONSUMER_KINDS, { description: 'What asked: an ApiKey, or an Application (one client ID for several APIs).' }),
        name: Type.String({ description: 'Name of the consumer\'s ApiKey or Application.', maxLength: 253 }),
        clientName: Type.Optional(Type.String({ description: 'Name of the consuming application, as the consumer shows it.', maxLength: 128 })),
      },
      { description: 'Who asked for access. Written by the operator.' },
    ),
    endpoints: Type.Optional(
      EndpointScope('Endpoints the consumer may call under this contract; absent: the whole API. Written by the operator from the consumer; a wider scope on a manual tier sets the decision back to Pending.'),
    ),
    decision: StringEnum(CONTRACT_DECISIONS, {
      description: 'The owner\'s decision. Pending until approved (manual tiers); set Approved, Rejected, or later Revoked. Revoked and Rejected are final.',
      default: 'Pending',
    }),
  },
  {
    description: 'Desired state of the Contract. The operator writes it from the consumer\'s ApiKey or Application; the API owner decides.',
    'x-kubernetes-validations': [
      { rule: "oldSelf.decision != 'Revoked' || self.decision == 'Revoked'", message: 'a revoked contract cannot be reopened', fieldPath: '.decision' },
      { rule: "oldSelf.decision != 'Rejected' || self.decision == 'Rejected'", message: 'a rejected contract cannot be reopened', fieldPath: '.decision' },
      { rule: 'self.consumer == oldSelf.consumer', message: 'consumer is immutable', fieldPath: '.consumer' },
      {
        rule: 'has(self.apiInstanceRef) == has(oldSelf.apiInstanceRef) && (!has(self.apiInstanceRef) || self.apiInstanceRef == oldSelf.apiInstanceRef)',
        message: 'apiInstanceRef is immutable',
        fieldPath: '.apiInstanceRef',
      },
      {
        rule: 'has(self.apiGroupRef) == has(oldSelf.apiGroupRef) && (!has(self.apiGroupRef) || self.apiGroupRef == oldSelf.apiGroupRef)',
        message: 'apiGroupRef is immutable',
        fieldPath: '.apiGroupRef',
      },
      { rule: 'has(self.apiInstanceRef) != has(self.apiGroupRef)', message: 'a Contract grants access to exactly one of apiInstanceRef and apiGroupRef' },
    ],
  },
);

export const ContractStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    state: Type.Optional(
      StringEnum(['Pending', 'Approved', 'Rejected', 'Revoked', 'Suspended'] as const, {
        description: 'Effective state: the decision, or Suspended while trust between the organizations is not mutual.',
      }),
    ),
    activeKeys: Type.Optional(Type.Integer({ description: 'Key hashes of this contract currently in the gateway config.', minimum: 0 })),
  },
  { description: 'Observed state of the Contract.' },
);

export const Contract = KindSchema(
  'Contract is the API owner\'s record of a consumer\'s access to an ApiInstance or an ApiGroup at a tier. The operator creates it from an ApiKey or an Application\'s access entry; the owner approves, rejects or revokes it here.',
  ContractSpec,
  ContractStatus,
);
export type Contract = Static<typeof Contract>;

export const contractDefinition: KindDefinition<typeof Contract> = {
  kind: 'Contract',
  plural: 'contracts',
  singular: 'contract',
  shortNames: ['ctr'],
  scope: 'Namespaced',
  description: Contract.description!,
  schema: Contract,
  printerColumns: [
    { name: 'Consumer', type: 'string', jsonPath: '.spec.consumer.organization', description: 'Consumer organization.' },
    { name: 'Kind', type: 'string', jsonPath: '.spec.consumer.kind', description: 'ApiKey or Application.' },
    { name: 'Client', type: 'string', jsonPath: '.spec.consumer.name', description: 'Name of the consumer\'s ApiKey or Application.' },
    { name: 'Client Name', type: 'string', jsonPath: '.spec.consumer.clientName', description: 'Consuming application, as the consumer names it.', priority: 1 },
    { name: 'Scope', type: 'string', jsonPath: '.spec.endpoints[*].path', description: 'Endpoints allowed (empty: the whole API).', priority: 1 },
    { name: 'API', type: 'string', jsonPath: '.spec.apiInstanceRef.name', description: 'ApiInstance.' },
    { name: 'Group', type: 'string', jsonPath: '.spec.apiGroupRef.name', description: 'ApiGroup.' },
    { name: 'Tier', type: 'string', jsonPath: '.spec.tier', description: 'SLA tier.' },
    { name: 'State', type: 'string', jsonPath: '.status.state', description: 'Pending, Approved, Rejected, Revoked or Suspended.' },
    AGE_COLUMN,
  ],
};
