import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN, Conditions, DnsLabel, HostnamePattern, KindSchema, PathPrefix, StringEnum, NamespacedRef, ObservedGeneration, READY_COLUMN, REASON_COLUMN, type KindDefinition,
} from './common.ts';
import { MAX_CLIENT_NAME, STATUS_CLIENTS } from '../analytics.ts';

/** A Gateway API object name (RFC 1123 subdomain). */
const GATEWAY_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const ApiInstanceSpec = Type.Object(
  {
    assetRef: NamespacedRef('The Asset this instance implements; namespace defaults to the organization\'s home namespace.'),
    basePath: PathPrefix('Path prefix the gateway serves the API at, e.g. /flights/v1: "/" or segments of letters, digits and - . _ ~ ! & * + , = : @, no trailing slash. On the shared host it must lie inside a path prefix of the organization (Organization spec.routes.pathPrefixes).'),
    hostnames: Type.Optional(
      Type.Array(HostnamePattern('A hostname (lowercase, RFC 1123), optionally with a leading "*." wildcard; it must lie inside the organization\'s spec.routes.hostnames.'), {
        description: 'Hostnames the API answers on; empty means the gateway\'s shared host, where spec.basePath must lie inside the organization\'s path prefixes.',
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    upstream: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            description:
              'Base URL of an external implementation, http or https, e.g. https://flights.max-airlines.example. Its host must be allowed by the Organization (spec.upstreams.allowedHosts), or be a Service of the organization\'s own namespaces (name.namespace.svc[.cluster.local]). No credentials, no loopback, link-local or unspecified address.',
            maxLength: 2048,
            'x-kubernetes-validations': [
              { rule: "self.startsWith('http://') || self.startsWith('https://')", message: 'upstream.url must be an http:// or https:// URL' },
              { rule: 'isURL(self)', message: 'upstream.url must be a valid URL' },
            ],
          }),
        ),
        backendRef: Type.Optional(
          Type.Object(
            {
              name: DnsLabel('Name of a Service in the ApiInstance\'s own namespace.'),
              port: Type.Integer({ description: 'Port of the Service.', minimum: 1, maximum: 65535 }),
              scheme: Type.Optional(StringEnum(['http', 'https'] as const, { description: 'Protocol spoken to the Service. Default http.', default: 'http' })),
            },
            { description: 'A Service in the instance\'s own namespace, rendered to its cluster DNS name.' },
          ),
        ),
        timeoutSeconds: Type.Optional(
          Type.Integer({ description: 'Timeout of one upstream request in seconds.', minimum: 1, maximum: 300, default: 30 }),
        ),
      },
      {
        description: 'Where the gateway forwards requests: a Service of the same namespace (backendRef) or a URL.',
        'x-kubernetes-validations': [{ rule: 'has(self.url) != has(self.backendRef)', message: 'upstream needs exactly one of url and backendRef' }],
      },
    ),
    gateway: Type.Optional(DnsLabel('Name of the gateway that serves this instance.')),
    parentRefs: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: 'Name of the Gateway.', minLength: 1, maxLength: 253, pattern: GATEWAY_NAME_PATTERN }),
            namespace: Type.Optional(DnsLabel('Namespace of the Gateway; default the instance\'s namespace.')),
            sectionName: Type.Optional(Type.String({ description: 'A listener of the Gateway, by name.', minLength: 1, maxLength: 253, pattern: GATEWAY_NAME_PATTERN })),
            port: Type.Optional(Type.Integer({ description: 'A listener of the Gateway, by port.', minimum: 1, maximum: 65535 })),
          },
          { description: 'A Gateway API Gateway (gateway.networking.k8s.io) the route attaches to, as a Gateway API ParentReference.' },
        ),
        {
          description:
            'Serve this instance through a Gateway API implementation the cluster already runs (e.g. Envoy Gateway): the operator renders an HTTPRoute attached to these Gateways, and for Envoy Gateway a SecurityPolicy calling crossgate-authz. Only Gateways the platform allows (CROSSGATE_GATEWAY_PARENTS) may be named. Needs spec.upstream.backendRef: a URL upstream stays on the crossgate gateway.',
          maxItems: 4,
          'x-kubernetes-list-type': 'atomic',
        },
      ),
    ),
  },
  { description: 'Desired state of the ApiInstance.' },
);

const count = (description: string) => Type.Integer({ description, minimum: 0 });
const amount = (description: string) => Type.Number({ description, minimum: 0 });

/** Requests, error % and p50/p99 of an API or one client (`scope`: which requests). */
const trafficFields = (scope: string) => ({
  requests: count(`Requests ${scope}.`),
  errorPercent: amount(`Share of the requests ${scope} answered 4xx or 5xx, in percent.`),
  p50Ms: amount(`Median response time ${scope}, in ms: the upper bound of its latency bucket (at most 25 % above the true value).`),
  p99Ms: amount(`99th percentile response time ${scope}, in ms (upper bound of its latency bucket).`),
});

export const ApiInstanceStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    endpoint: Type.Optional(Type.String({ description: 'Where the gateway serves the instance (host and base path).' })),
    gateway: Type.Optional(Type.String({ description: 'Gateway that serves the instance.' })),
    analytics: Type.Optional(
      Type.Object(
        {
          windowSeconds: count('Length of the recent window (five minutes).'),
          requests: count('Requests in the recent window, over all gateway replicas.'),
          errorPercent: amount('Share of 4xx and 5xx responses in the recent window, in percent.'),
          meanMs: amount('Mean response time in the recent window, in milliseconds.'),
          day: Type.Optional(
            Type.Object(
              {
                windowSeconds: count('Length of the window: bucket length × buckets (24 h by default).'),
                bucketSeconds: count('Length of one bucket of the gateway\'s ring (an hour by default); also how long without a request makes the instance Inactive.'),
                ...trafficFields('in the window, summed over every gateway replica'),
                clientErrors: count('4xx responses in the window.'),
                serverErrors: count('5xx responses in the window.'),
                clients: Type.Array(
                  Type.Object(
                    {
                      name: Type.String({ description: 'The consumer\'s ApiKey or Application (namespace/name); "-" for requests without one, "_other" for every client past the top ones.', maxLength: MAX_CLIENT_NAME }),
                      ...trafficFields('of this client in the window'),
                    },
                    { description: 'One client\'s figures.' },
                  ),
                  { description: `Clients with the most requests (at most ${STATUS_CLIENTS}; the rest summed as "_other", listed last).`, maxItems: STATUS_CLIENTS, 'x-kubernetes-list-type': 'atomic' },
                ),
              },
              { description: 'The last 24 hours (the gateway\'s day ring), summed over every gateway replica.' },
            ),
          ),
          contracts: Type.Optional(
            Type.Object(
              {
                approved: count('Approved Contracts that reach the instance: its own and those of the ApiGroups that list it.'),
                apiKeys: count('Of which for ApiKeys.'),
                applications: count('Of which for Applications.'),
              },
              { description: 'Contracted clients.' },
            ),
          ),
          registration: Type.Optional(
            Type.Object(
              {
                state: StringEnum(['Active', 'Inactive', 'Unregistered'] as const, {
                  description: 'Unregistered: no gateway replica serves the route; Inactive: served, no request within one bucket (an hour by default); Active otherwise.',
                }),
                lastRequest: Type.Optional(Type.String({ description: 'When the latest request was recorded by a gateway.', format: 'date-time' })),
                gateways: count('Gateway replicas that serve the route.'),
                replicas: count('Gateway replicas read.'),
              },
              { description: 'Tracking registration, as the gateways report it.' },
            ),
          ),
          updated: Type.String({ description: 'When these figures were read from the gateway.', format: 'date-time' }),
        },
        { description: 'Traffic at the gateway, as API Manager shows it (when the operator can read the gateway).' },
      ),
    ),
  },
  { description: 'Observed state of the ApiInstance.' },
);

export const ApiInstance = KindSchema(
  'ApiInstance runs an Asset behind the crossgate gateway in one environment (its namespace): a route, an upstream, and the policies and SLA tiers attached to it.',
  ApiInstanceSpec,
  ApiInstanceStatus,
);
export type ApiInstance = Static<typeof ApiInstance>;

export const apiInstanceDefinition: KindDefinition<typeof ApiInstance> = {
  kind: 'ApiInstance',
  plural: 'apiinstances',
  singular: 'apiinstance',
  shortNames: ['api', 'apis'],
  scope: 'Namespaced',
  description: ApiInstance.description!,
  schema: ApiInstance,
  printerColumns: [
    { name: 'Base Path', type: 'string', jsonPath: '.spec.basePath', description: 'Route prefix.' },
    { name: 'Upstream', type: 'string', jsonPath: '.spec.upstream.url', description: 'Implementation URL.', priority: 1 },
    { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', description: 'Where the gateway serves it.', priority: 1 },
    { name: 'Requests/24h', type: 'integer', jsonPath: '.status.analytics.day.requests', description: 'Requests in the last 24 hours, over every gateway replica.' },
    { name: 'Errors %/24h', type: 'number', jsonPath: '.status.analytics.day.errorPercent', description: 'Share of 4xx and 5xx responses in the last 24 hours.' },
    { name: 'Contracts', type: 'integer', jsonPath: '.status.analytics.contracts.approved', description: 'Approved contracts (keys and applications).' },
    { name: 'Registration', type: 'string', jsonPath: '.status.analytics.registration.state', description: 'Active, Inactive (no request in the last bucket) or Unregistered (no gateway serves it).' },
    { name: 'Requests', type: 'integer', jsonPath: '.status.analytics.requests', description: 'Requests in the recent window.', priority: 1 },
    { name: 'Errors %', type: 'number', jsonPath: '.status.analytics.errorPercent', description: 'Errors in the recent window.', priority: 1 },
    { name: 'P99 ms', type: 'number', jsonPath: '.status.analytics.day.p99Ms', description: '99th percentile response time over the last 24 hours.', priority: 1 },
    { name: 'Last Request', type: 'date', jsonPath: '.status.analytics.registration.lastRequest', description: 'Time since the latest request.', priority: 1 },
    READY_COLUMN,
    REASON_COLUMN,
    { name: 'Tiers Enforced', type: 'string', jsonPath: '.status.conditions[?(@.type=="TiersEnforced")].status', description: 'False when the instance has SlaTiers but no api-key Policy (keyless, unlimited traffic).' },
    AGE_COLUMN,
  ],
};
