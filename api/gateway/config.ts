// The gateway configuration: what the operator renders and the gateway
// enforces. Versioned (apiVersion below) and documented in docs/gateway-config.md.
//
// It is split in parts so that no Kubernetes object nears the 1 MiB limit:
//   - one Manifest: which parts make up the current config, each with its checksum;
//   - 16 Routes parts (route shards): the ApiInstances served by the gateway,
//     with their policies in order and their tiers; a route's shard is the
//     first byte of the SHA-256 of its id modulo 16, so one route that cannot
//     be written (or read) never holds back the routes of the other shards;
//   - 64 to 256 credential parts (a power of two, more as keys grow):
//     SHA-256 hashes of API keys and client secrets → which client, when, and
//     its grants: which routes (one ApiInstance, or several under one
//     contract), under which contract and tier, on which endpoints.
//     The shard of a hash is its first byte modulo the shard count, so one
//     key change rewrites one shard.
// Every part carries the checksum of its content and the generation it was
// computed from. Raw keys never appear anywhere in it.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../v1alpha1/common.ts';
import { POLICY_TYPES } from '../v1alpha1/policy.ts';

export const GATEWAY_CONFIG_API_VERSION = 'gateway.crossgate.dev/v2';
/** The fewest credential shards, and the count a config starts with. */
export const CREDENTIAL_SHARDS = 64;
/** The most: a hash's shard is its first byte modulo the count. */
export const MAX_CREDENTIAL_SHARDS = 256;
/** Route shards (Routes parts) of a config: a route's is routeShardOf(id, ROUTE_SHARDS). */
export const ROUTE_SHARDS = 16;
/** The most bytes of one part's JSON: Kubernetes refuses objects over 1 MiB; this leaves room for metadata. */
export const MAX_PART_BYTES = 900 * 1024;

export const PERIOD_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86400 } as const;

export const Limit = Type.Object(
  {
    requests: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
    periodSeconds: Type.Integer({ minimum: 1, description: 'Window length in seconds.' }),
  },
  { additionalProperties: false, description: 'A fixed window limit.' },
);
export type Limit = Static<typeof Limit>;

export const Tier = Type.Object(
  {
    name: Type.String({ description: 'SlaTier name.' }),
    limits: Type.Array(Limit, { description: 'All must hold.' }),
  },
  { additionalProperties: false, description: 'An SLA tier of a route.' },
);
export type Tier = Static<typeof Tier>;

export const PolicyEntry = Type.Object(
  {
    name: Type.String({ description: 'namespace/name of the Policy object.' }),
    type: StringEnum(POLICY_TYPES, { description: 'Policy type.' }),
    order: Type.Integer({ description: 'Lower runs first; ties break by name.' }),
    config: Type.Record(Type.String(), Type.Unknown(), { description: 'Type-specific configuration, as validated at admission.' }),
  },
  { additionalProperties: false, description: 'One policy applied to a route.' },
);
export type PolicyEntry = Static<typeof PolicyEntry>;

export const Route = Type.Object(
  {
    id: Type.String({ description: 'namespace/name of the ApiInstance.' }),
    hostnames: Type.Array(Type.String(), { description: 'Hosts matched; empty means any.' }),
    basePath: Type.String({ description: 'Path prefix matched (segment-wise).' }),
    upstream: Type.Object(
      {
        url: Type.String({ description: 'Base URL requests are forwarded to; the path after basePath is appended.' }),
        timeoutMs: Type.Integer({ minimum: 1, description: 'Per-request upstream timeout.' }),
      },
      { additionalProperties: false, description: 'Where requests go.' },
    ),
    policies: Type.Array(PolicyEntry, { description: 'Policies in enforcement order.' }),
    tiers: Type.Array(Tier, { description: 'SLA tiers of the route.' }),
    withheld: Type.Optional(
      Type.Object(
        {
          reason: Type.String({ description: 'CamelCase reason, as on the ApiInstance\'s Ready condition.' }),
          message: Type.String({ description: 'Why the route is withheld (no secrets: never the upstream URL).' }),
        },
        { additionalProperties: false, description: 'Present when the route is held closed: the gateway answers 503 on it and never lets its requests fall through to another route.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'One ApiInstance as the gateway serves it.' },
);
export type Route = Static<typeof Route>;

const PartMeta = {
  apiVersion: Type.Literal(GATEWAY_CONFIG_API_VERSION, { description: 'Config format version.' }),
  gateway: Type.String({ description: 'Gateway name.' }),
  generation: Type.Integer({ minimum: 0, description: 'Config generation at which this part last changed (≤ the manifest\'s; unchanged parts are not rewritten).' }),
  checksum: Type.String({ description: 'sha256 of the canonical JSON of the part content (routes or entries).' }),
};

export const RoutesPart = Type.Object(
  {
    ...PartMeta,
    kind: Type.Literal('Routes', { description: 'Part kind.' }),
    shard: Type.Integer({ minimum: 0, description: 'Route shard number: every route here has routeShardOf(id, shards) equal to it.' }),
    shards: Type.Integer({ minimum: 1, maximum: 256, description: 'Route shard count.' }),
    routes: Type.Array(Route, { description: 'Routes of this shard, sorted by id.' }),
  },
  { additionalProperties: false, description: 'One shard of the routes of a gateway.' },
);
export type RoutesPart = Static<typeof RoutesPart>;

export const CREDENTIAL_KINDS = ['api-key', 'client-secret'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export const GrantEndpoint = Type.Object(
  {
    methods: Type.Optional(Type.Array(Type.String(), { description: 'HTTP methods allowed; absent: every method.' })),
    path: Type.String({ description: 'Request path pattern from the root: "*" one segment, a final "**" any number.' }),
  },
  { additionalProperties: false, description: 'One endpoint a grant allows.' },
);
export type GrantEndpoint = Static<typeof GrantEndpoint>;

export const Grant = Type.Object(
  {
    routes: Type.Array(Type.String(), { minItems: 1, description: 'Route ids (ApiInstance namespace/name) the grant opens.' }),
    contract: Type.String({ description: 'namespace/name of the Contract; the tier\'s windows are counted per contract, across its routes.' }),
    tier: Type.String({ description: 'Tier name on those routes.' }),
    endpoints: Type.Optional(Type.Array(GrantEndpoint, { minItems: 1, description: 'Endpoints allowed (403 elsewhere); absent: the whole route.' })),
  },
  { additionalProperties: false, description: 'What one approved contract lets a credential call.' },
);
export type Grant = Static<typeof Grant>;

export const Credential = Type.Object(
  {
    kind: StringEnum(CREDENTIAL_KINDS, { description: 'api-key: presented to an api-key policy; client-secret: presented with clientId to a client-id-enforcement policy.' }),
    client: Type.String({ description: 'namespace/name of the consumer\'s ApiKey or Application.' }),
    clientId: Type.Optional(Type.String({ description: 'client-secret only: the client ID the request must carry with the secret.' })),
    notBefore: Type.Optional(Type.String({ description: 'RFC 3339; refused before.' })),
    notAfter: Type.Optional(Type.String({ description: 'RFC 3339; refused from then on (expiry, end of rotation grace).' })),
    grants: Type.Array(Grant, { minItems: 1, description: 'The approved contracts of the client, one grant each.' }),
  },
  { additionalProperties: false, description: 'What one key or client-secret hash may do.' },
);
export type Credential = Static<typeof Credential>;

export const CredentialsPart = Type.Object(
  {
    ...PartMeta,
    kind: Type.Literal('Credentials', { description: 'Part kind.' }),
    shard: Type.Integer({ minimum: 0, description: 'Shard number.' }),
    shards: Type.Integer({ minimum: 1, maximum: MAX_CREDENTIAL_SHARDS, description: 'Shard count.' }),
    entries: Type.Record(Type.String({ pattern: '^[0-9a-f]{64}$' }), Credential, {
      description: 'Lower-case hex SHA-256 of the raw key or client secret → credential.',
    }),
  },
  { additionalProperties: false, description: 'One shard of the credential index.' },
);
export type CredentialsPart = Static<typeof CredentialsPart>;

export const Manifest = Type.Object(
  {
    apiVersion: Type.Literal(GATEWAY_CONFIG_API_VERSION, { description: 'Config format version.' }),
    kind: Type.Literal('Manifest', { description: 'Part kind.' }),
    gateway: Type.String({ description: 'Gateway name.' }),
    generation: Type.Integer({ minimum: 0, description: 'Generation of the whole config.' }),
    parts: Type.Array(
      Type.Object(
        {
          name: Type.String({ description: 'Object (ConfigMap) or file name holding the part.' }),
          kind: StringEnum(['Routes', 'Credentials'] as const, { description: 'Part kind.' }),
          checksum: Type.String({ description: 'Checksum the part must carry.' }),
        },
        { additionalProperties: false, description: 'A part of the config.' },
      ),
      { description: 'Every part of the current config.' },
    ),
  },
  { additionalProperties: false, description: 'Which parts make up the current gateway config.' },
);
export type Manifest = Static<typeof Manifest>;

/** ConfigMap data key holding a part's JSON. */
export const PART_DATA_KEY = 'config.json';
/** Label on every ConfigMap of a gateway's config: its value is the gateway name. */
export const LABEL_GATEWAY = 'crossgate.dev/gateway';
export const manifestName = (gateway: string) => `crossgate-gw-${gateway}`;
export const routesName = (gateway: string, shard: number) => `crossgate-gw-${gateway}-routes-${String(shard).padStart(2, '0')}`;
export const shardName = (gateway: string, shard: number) => `crossgate-gw-${gateway}-keys-${String(shard).padStart(2, '0')}`;
