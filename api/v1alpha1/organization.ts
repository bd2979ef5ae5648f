import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN, Conditions, DnsLabel, HostnamePattern, PathPrefix, GroupList, KindSchema, ObservedGeneration, READY_COLUMN, REASON_COLUMN, StringEnum,
  type KindDefinition,
} from './common.ts';

export const EnvironmentType = StringEnum(['sandbox', 'production'] as const, {
  description: 'What the environment is for: sandbox (experiments, relaxed review) or production.',
  default: 'sandbox',
});

export const Environment = Type.Object(
  {
    name: DnsLabel('Name of the environment inside the organization, e.g. "production".'),
    namespace: DnsLabel('Namespace that holds this environment\'s ApiInstances, Policies, SlaTiers and ApiKeys. Created if absent.'),
    type: Type.Optional(EnvironmentType),
  },
  { description: 'One environment of the organization, backed by one namespace.' },
);

export const RouteClaims = Type.Object(
  {
    hostnames: Type.Optional(
      Type.Array(HostnamePattern('A hostname the organization\'s ApiInstances may answer on, exact ("api.max-airlines.example") or a wildcard subdomain ("*.max-airlines.example").'), {
        description: 'Hostnames assigned to the organization. No two Organizations may claim overlapping hostnames; the gateway\'s own host names are reserved.',
        maxItems: 32,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    pathPrefixes: Type.Optional(
      Type.Array(PathPrefix('A path prefix, e.g. "/flights": the organization may serve it and every path under it.'), {
        description: 'Path prefixes assigned to the organization on the gateway\'s shared host (ApiInstances without hostnames). No two Organizations may claim prefixes that are equal or one under the other.',
        maxItems: 32,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  { description: 'Route space assigned to the organization by the platform admins: its ApiInstances must stay inside it.' },
);

export const UpstreamRules = Type.Object(
  {
    allowedHosts: Type.Optional(
      Type.Array(HostnamePattern('An external host (exact, or a "*." wildcard) the organization\'s upstreams and JWKS URLs may name.'), {
        description: 'External hosts the organization may forward to. In-cluster Services of its own namespaces are always allowed; loopback, link-local and unspecified addresses never are.',
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  { description: 'Where the organization\'s gateway routes may send traffic.' },
);

export const OrganizationSpec = Type.Object(
  {
    domain: Type.String({
      description: 'The organization\'s unique domain (a DNS label). Peers name it in their OrgTrust. Immutable.',
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'domain is immutable: peers trust the organization by it' }],
    }),
    displayName: Type.String({ description: 'Human-readable name, e.g. "Mule United Airports".', minLength: 1, maxLength: 128 }),
    homeNamespace: DnsLabel(
      'Namespace for organization-level Exchange objects: OrgTrust, Asset and AssetShare live here and only here, so a peer can be trusted once. Created if absent.',
    ),
    environments: Type.Array(Environment, {
      description: 'Environments of the organization, each in its own namespace.',
      minItems: 1,
      maxItems: 32,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-validations': [
        { rule: 'self.map(e, e.namespace).all(n, self.map(f, f.namespace).exists_one(m, m == n))', message: 'each environment needs a namespace of its own' },
      ],
    }),
    memberGroups: Type.Optional(GroupList('Groups whose users may read (get, list, watch) crossgate objects in the organization\'s namespaces.')),
    adminGroups: Type.Optional(GroupList('Groups whose users may create, change and delete crossgate objects in the organization\'s namespaces.')),
    routes: Type.Optional(RouteClaims),
    upstreams: Type.Optional(UpstreamRules),
  },
  {
    description: 'Desired state of the Organization.',
    'x-kubernetes-validations': [
      {
        rule: 'self.environments.all(e, e.namespace != self.homeNamespace)',
        message: 'homeNamespace must differ from every environment namespace: Exchange objects and API instances are kept apart',
        fieldPath: '.homeNamespace',
      },
    ],
  },
);

export const EnvironmentStatus = Type.Object(
  {
    name: Type.String({ description: 'Environment name.' }),
    namespace: Type.String({ description: 'Namespace backing the environment.' }),
    type: Type.String({ description: 'sandbox or production.' }),
    ready: Type.Boolean({ description: 'Whether the namespace exists, is labeled and its RBAC is in place.' }),
  },
  { description: 'Observed state of one environment.' },
);

export const OrganizationStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    environments: Type.Optional(Type.Array(EnvironmentStatus, { description: 'Observed state of each environment.', maxItems: 32 })),
    environmentCount: Type.Optional(Type.Integer({ description: 'Number of environments that are ready.', minimum: 0 })),
    routeClaims: Type.Optional(
      Type.Object(
        {
          hostnames: Type.Array(Type.String({ description: 'A granted hostname claim.', maxLength: 253 }), { description: 'Hostnames in effect.', maxItems: 32 }),
          pathPrefixes: Type.Array(Type.String({ description: 'A granted path prefix claim.', maxLength: 256 }), { description: 'Path prefixes in effect.', maxItems: 32 }),
        },
        { description: 'The route claims in effect, as the operator granted them. A granted claim keeps its place: a claim added later by another Organization that overlaps it is void, however old that Organization is.' },
      ),
    ),
  },
  { description: 'Observed state of the Organization.' },
);

export const Organization = KindSchema(
  'Organization is a tenant of crossgate: a unique domain, its environments (namespaces) and the groups that may read or administer them.',
  OrganizationSpec,
  OrganizationStatus,
);
export type Organization = Static<typeof Organization>;
export type OrganizationSpec = Static<typeof OrganizationSpec>;

export const organizationDefinition: KindDefinition<typeof Organization> = {
  kind: 'Organization',
  plural: 'organizations',
  singular: 'organization',
  shortNames: ['org', 'orgs'],
  scope: 'Cluster',
  description: Organization.description!,
  schema: Organization,
  printerColumns: [
    { name: 'Domain', type: 'string', jsonPath: '.spec.domain', description: 'Unique domain of the organization.' },
    { name: 'Display Name', type: 'string', jsonPath: '.spec.displayName', description: 'Human-readable name.', priority: 1 },
    { name: 'Home', type: 'string', jsonPath: '.spec.homeNamespace', description: 'Namespace of the Exchange objects.' },
    { name: 'Envs', type: 'integer', jsonPath: '.status.environmentCount', description: 'Environments ready.' },
    READY_COLUMN,
    REASON_COLUMN,
    AGE_COLUMN,
  ],
};
