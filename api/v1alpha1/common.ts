// Building blocks shared by the crossgate kinds. Every schema here is written
// once and becomes, without another hand-written copy: the TypeScript types
// (Static<>), the CRD's openAPIV3Schema (hack/generate.ts) and the ajv
// validators used at the webhook boundary (api/validation.ts).
import { Type, type TSchema, type TObject, type Static, type ObjectOptions } from '@sinclair/typebox';
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const GROUP = 'crossgate.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A string enum as a plain `enum` keyword: CRD schemas must be structural, so no anyOf of literals. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description: string; default?: T[number] }) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** An RFC 1123 label: what Kubernetes accepts as a namespace name, and what crossgate uses for domains. */
export function DnsLabel(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 63, pattern: DNS_LABEL_PATTERN });
}

/**
 * A path prefix as the gateway matches it: "/" or "/"-separated segments of the
 * characters Gateway API allows in a path, without ";", "$", quotes, parentheses
 * or "%" (so no encoded form can differ from what is matched), and no "." or ".."
 * segment. Used by ApiInstance.basePath and Organization route claims.
 */
export const PATH_PREFIX_PATTERN = '^/([A-Za-z0-9._~!&*+,=:@-]+(/[A-Za-z0-9._~!&*+,=:@-]+)*)?$';

export function PathPrefix(description: string) {
  return Type.String({
    description,
    minLength: 1,
    maxLength: 256,
    pattern: PATH_PREFIX_PATTERN,
    'x-kubernetes-validations': [{ rule: "!self.matches('/[.][.]?(/|$)')", message: 'a path has no "." or ".." segment' }],
  });
}

/**
 * A request path pattern of an endpoint scope: "/"-separated segments, each
 * literal (the characters of PATH_PREFIX_PATTERN), "*" (exactly one segment),
 * or, last only, "**" (any number of segments, none included). Matched against
 * the whole request path (model/endpoint-scope.ts), so it names the instance's
 * base path too.
 */
export const ENDPOINT_PATH_PATTERN = '^/((\\*|[A-Za-z0-9._~!&+,=:@-]+)(/(\\*|[A-Za-z0-9._~!&+,=:@-]+))*(/\\*\\*)?|\\*\\*)?$';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The most endpoints one scope names: each is checked per request. */
export const MAX_SCOPE_ENDPOINTS = 16;

/** One endpoint of a scope: a path pattern and the methods allowed on it. */
export const Endpoint = Type.Object(
    {
      methods: Type.Optional(
        Type.Array(StringEnum(HTTP_METHODS, { description: 'An HTTP method.' }), {
          description: 'Methods allowed on the path; absent means every method.',
          minItems: 1,
          maxItems: HTTP_METHODS.length,
          'x-kubernetes-list-type': 'set',
        }),
      ),
      path: Type.String({
        description: 'Request path pattern, from the root (it includes the instance\'s base path): "*" matches one segment, a final "**" any number, e.g. /flights/v1/flights/*.',
        minLength: 1,
        maxLength: 256,
        pattern: ENDPOINT_PATH_PATTERN,
        'x-kubernetes-validations': [{ rule: "!self.matches('/[.][.]?(/|$)')", message: 'a path has no "." or ".." segment' }],
      }),
    },
    { description: 'One endpoint: a path pattern and the methods allowed on it.' },
);
export type Endpoint = Static<typeof Endpoint>;

/** Endpoints a consumer may call: absent means the whole API. */
export function EndpointScope(description = `Endpoints the consumer may call (at most ${MAX_SCOPE_ENDPOINTS}); the gateway answers 403 outside them. Absent: the whole API.`) {
  return Type.Array(Endpoint, { description, minItems: 1, maxItems: MAX_SCOPE_ENDPOINTS, 'x-kubernetes-list-type': 'atomic' });
}

/** A hostname (lower case, RFC 1123), optionally with a leading "*." wildcard. */
export const HOSTNAME_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export function HostnamePattern(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 253, pattern: HOSTNAME_PATTERN });
}

/** Name of an object (RFC 1123 subdomain). */
export function ObjectName(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' });
}

/** A Kubernetes group name (for RoleBinding subjects). */
export function GroupList(description: string) {
  return Type.Array(Type.String({ description: 'A group name as the cluster authenticator reports it.', minLength: 1, maxLength: 253 }), {
    description,
    maxItems: 64,
    'x-kubernetes-list-type': 'set',
  });
}

/** Mirrors metav1.Condition so kubectl, kstatus and Argo CD read it the usual way. */
export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Type of condition in CamelCase, e.g. Ready.', minLength: 1, maxLength: 316 }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition: True, False or Unknown.' }),
    reason: Type.String({ description: 'A programmatic identifier for the last transition, in CamelCase.', minLength: 1, maxLength: 1024 }),
    message: Type.String({ description: 'A human-readable explanation of the last transition.', maxLength: 32768 }),
    lastTransitionTime: Type.String({ description: 'When the status last changed.', format: 'date-time' }),
    observedGeneration: Type.Optional(Type.Integer({ description: 'The .metadata.generation the condition was computed from.', minimum: 0 })),
  },
  { description: 'One aspect of the current state of this object.' },
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: 'The latest available observations of the object state.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  maxItems: 32,
});

export const ObservedGeneration = Type.Integer({ description: 'The .metadata.generation this status was computed from.', minimum: 0 });

export const LocalRef = (description: string) =>
  Type.Object({ name: ObjectName('Name of the referenced object, in the same namespace.') }, { description });

export const NamespacedRef = (description: string) =>
  Type.Object(
    {
      name: ObjectName('Name of the referenced object.'),
      namespace: Type.Optional(DnsLabel('Namespace of the referenced object; defaults to the referring object\'s namespace.')),
    },
    { description },
  );

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything the CRD generator needs to know about one kind besides its schema. */
export interface KindDefinition<S extends TSchema = TSchema> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  schema: S;
  printerColumns: PrinterColumn[];
}

export const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Whether the object is fully reconciled.',
};
export const REASON_COLUMN: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: 'Why the object is or is not ready.',
};
export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

/** The top-level object schema: apiVersion, kind, metadata, spec, status. */
export function KindSchema<Spec extends TObject, Status extends TObject>(
  description: string,
  spec: Spec,
  status: Status,
  options: ObjectOptions = {},
) {
  return Type.Object(
    {
      apiVersion: Type.String({ description: 'APIVersion defines the versioned schema of this representation of an object.' }),
      kind: Type.String({ description: 'Kind is a string value representing the REST resource this object represents.' }),
      metadata: Type.Unsafe<V1ObjectMeta>({ type: 'object', description: 'Standard object metadata.' }),
      spec,
      status: Type.Optional(status),
    },
    { description, ...options },
  );
}
