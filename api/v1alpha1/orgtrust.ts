import { Type, type Static } from '@sinclair/typebox';
import { AGE_COLUMN, Conditions, DnsLabel, KindSchema, ObservedGeneration, StringEnum, type KindDefinition } from './common.ts';

export const OrgTrustSpec = Type.Object(
  {
    peerDomain: DnsLabel('Domain of the organization this one trusts. Must equal metadata.name, so each peer is trusted at most once.'),
    description: Type.Optional(Type.String({ description: 'Why the trust exists, for humans.', maxLength: 1024 })),
  },
  { description: 'Desired state of the OrgTrust.' },
);

export const SharedWithMeEntry = Type.Object(
  {
    kind: StringEnum(['Asset', 'ApiInstance', 'ApiGroup'] as const, { description: 'Kind of the shared object.' }),
    namespace: Type.String({ description: 'Namespace of the shared object (in the peer organization).' }),
    name: Type.String({ description: 'Name of the shared object.' }),
    access: Type.String({ description: 'Access granted: view.' }),
    share: Type.String({ description: 'Name of the peer\'s AssetShare that grants it.' }),
  },
  { description: 'One object the peer currently shares with this organization.' },
);

export const OrgTrustStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    peerOrganization: Type.Optional(Type.String({ description: 'Name of the peer\'s Organization object, if it exists.' })),
    peerUid: Type.Optional(
      Type.String({
        description:
          'uid of the peer Organization recorded when trust first became mutual. While another Organization holds the peer domain, trust is not mutual (reason PeerReplaced): delete and re-create the OrgTrust to trust the new holder.',
        maxLength: 128,
      }),
    ),
    mutual: Type.Optional(Type.Boolean({ description: 'Whether the peer trusts this organization back (mirrors the Mutual condition).' })),
    sharedWithMe: Type.Optional(
      Type.Array(SharedWithMeEntry, { description: 'What the peer currently shares with this organization.', maxItems: 1024 }),
    ),
    sharedWithMeCount: Type.Optional(Type.Integer({ description: 'Number of entries in sharedWithMe.', minimum: 0 })),
  },
  { description: 'Observed state of the OrgTrust.' },
);

export const OrgTrust = KindSchema(
  'OrgTrust declares that this organization (the owner of the namespace) trusts a peer organization. Trust is two-way: nothing is shared until the peer declares trust back (condition Mutual).',
  OrgTrustSpec,
  OrgTrustStatus,
  {
    'x-kubernetes-validations': [
      { rule: 'self.metadata.name == self.spec.peerDomain', message: 'metadata.name must equal spec.peerDomain, so each peer is trusted at most once', fieldPath: '.spec.peerDomain' },
    ],
  },
);
export type OrgTrust = Static<typeof OrgTrust>;

export const orgTrustDefinition: KindDefinition<typeof OrgTrust> = {
  kind: 'OrgTrust',
  plural: 'orgtrusts',
  singular: 'orgtrust',
  shortNames: ['otr'],
  scope: 'Namespaced',
  description: OrgTrust.description!,
  schema: OrgTrust,
  printerColumns: [
    { name: 'Peer', type: 'string', jsonPath: '.spec.peerDomain', description: 'Trusted peer domain.' },
    { name: 'Mutual', type: 'string', jsonPath: '.status.conditions[?(@.type=="Mutual")].status', description: 'Whether the peer trusts back.' },
    { name: 'Shared With Me', type: 'integer', jsonPath: '.status.sharedWithMeCount', description: 'Objects the peer shares with this organization.' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Mutual")].reason', description: 'Why trust is or is not mutual.', priority: 1 },
    AGE_COLUMN,
  ],
};
