import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, KindSchema, ObjectName, ObservedGeneration, READY_COLUMN, StringEnum, type KindDefinition } from './common.ts';

export const ShareAccess = StringEnum(['view', 'edit'] as const, {
  description:
    'Access granted to the peer. Only view is allowed: cross-organization grants are view-only. edit is recognised so that admission can refuse it with an explanation.',
  default: 'view',
});

export const SharePeer = Type.Object(
  {
    domain: DnsLabel('Domain of the peer organization to share with. Both organizations must trust each other.'),
    access: Type.Optional(ShareAccess),
  },
  { description: 'One peer the object is shared with.' },
);

export const AssetShareSpec = Type.Object(
  {
    targetRef: Type.Object(
      {
        kind: StringEnum(['Asset', 'ApiInstance', 'ApiGroup'] as const, {
          description: 'Kind of the shared object. Sharing an ApiGroup lets the peer see the group and ask for access to it; it grants nothing on its members one by one.',
        }),
        name: ObjectName('Name of the shared object.'),
        namespace: Type.Optional(
          DnsLabel('Namespace of the shared object: the organization\'s home namespace for an Asset or an ApiGroup (default), an environment namespace for an ApiInstance.'),
        ),
      },
      { description: 'The object to share. It must belong to this organization.' },
    ),
    peers: Type.Array(SharePeer, {
      description: 'Peers to share with.',
      minItems: 1,
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['domain'],
    }),
  },
  { description: 'Desired state of the AssetShare.' },
);

export const PeerShareStatus = Type.Object(
  {
    domain: Type.String({ description: 'Peer domain.' }),
    state: StringEnum(['Active', 'Suspended', 'Pending'] as const, { description: 'Active: the peer\'s members can read the object. Suspended: trust is not mutual (see reason). Pending: not reconciled yet.' }),
    reason: Type.String({ description: 'Why the share is in this state, in CamelCase.' }),
    message: Type.String({ description: 'Human-readable explanation.' }),
    roleBinding: Type.Optional(Type.String({ description: 'RoleBinding that grants the access, while Active.' })),
    lastTransitionTime: Type.Optional(Type.String({ description: 'When the state last changed.', format: 'date-time' })),
  },
  { description: 'Observed state of the share toward one peer.' },
);

export const AssetShareStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    peers: Type.Optional(Type.Array(PeerShareStatus, { description: 'Per-peer state.', maxItems: 64 })),
    activePeers: Type.Optional(Type.Integer({ description: 'Number of peers the share is active for.', minimum: 0 })),
  },
  { description: 'Observed state of the AssetShare.' },
);

export const AssetShare = KindSchema(
  'AssetShare shares one Asset, ApiInstance or ApiGroup of this organization, view-only, with peer organizations that trust it and that it trusts.',
  AssetShareSpec,
  AssetShareStatus,
);
export type AssetShare = Static<typeof AssetShare>;

export const assetShareDefinition: KindDefinition<typeof AssetShare> = {
  kind: 'AssetShare',
  plural: 'assetshares',
  singular: 'assetshare',
  shortNames: ['ashare'],
  scope: 'Namespaced',
  description: AssetShare.description!,
  schema: AssetShare,
  printerColumns: [
    { name: 'Kind', type: 'string', jsonPath: '.spec.targetRef.kind', description: 'Kind of the shared object.' },
    { name: 'Target', type: 'string', jsonPath: '.spec.targetRef.name', description: 'Shared object.' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activePeers', description: 'Peers the share is active for.' },
    READY_COLUMN,
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why.', priority: 1 },
    AGE_COLUMN,
  ],
};
