// The config schema of each policy type: one source for the webhook (which
// answers with the JSON pointer of a bad field), the operator (which renders
// configs into the gateway config) and the gateway (which enforces them).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  HEADER_TOKEN_PATTERN,
  HEADER_VALUE_PATTERN,
  MAX_HEADER_ENTRIES,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  headerNameProblem,
  headerValueProblem,
  quoteHeader,
  reservedHeaderReason,
} from './headers.ts';
import { StringEnum } from './v1alpha1/common.ts';
import type { PolicyType } from './v1alpha1/policy.ts';
import { compile, describeErrors, type FieldError } from './validation.ts';

export { RESERVED_HEADERS, isReservedHeader, reservedHeaderReason } from './headers.ts';

const HeaderName = (description: string) => Type.String({ description, minLength: 1, maxLength: MAX_HEADER_NAME_LENGTH, pattern: HEADER_TOKEN_PATTERN });
const HeaderNames = (description: string, maxItems: number) => Type.Array(HeaderName('A header name.'), { description, maxItems });
const VISIBLE_ASCII_PATTERN = '^[\\x21-\\x7e]+$';
/** What each non-header pattern means, for the message a user reads instead of the regular expression. */
const PATTERN_HINTS: Record<string, string> = {
  [VISIBLE_ASCII_PATTERN]: 'must be visible ASCII without spaces (U+0021 to U+007E)',
  '^[A-Z]+$': 'must be an HTTP method in capitals, e.g. GET',
};
const Cidr = Type.String({ description: 'An IPv4 or IPv6 address or CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32.', minLength: 2, maxLength: 64, format: 'cidr' });
const Window = StringEnum(['second', 'minute', 'hour', 'day'] as const, { description: 'Window length.' });

export const ApiKeyPolicyConfig = Type.Object(
  {
    header: Type.Optional(HeaderName('Request header carrying the key. Default x-api-key.')),
    queryParameter: Type.Optional(Type.String({ description: 'Query parameter carrying the key, if keys may come in the URL.', minLength: 1, maxLength: 128, pattern: VISIBLE_ASCII_PATTERN })),
  },
  { additionalProperties: false, description: 'API key enforcement: requests must carry an API key with an approved contract for this API.' },
);

export const ClientIdEnforcementPolicyConfig = Type.Object(
  {
    clientIdHeader: Type.Optional(HeaderName('Request header carrying the client ID. Default x-client-id.')),
    clientSecretHeader: Type.Optional(HeaderName('Request header carrying the client secret. Default x-client-secret.')),
    allowBasicAuth: Type.Optional(
      Type.Boolean({ description: 'Also accept "Authorization: Basic base64(clientId:clientSecret)" when the two headers are absent.', default: true }),
    ),
  },
  { additionalProperties: false, description: 'Client ID enforcement: requests must carry the client ID and client secret of an Application with an approved contract for this API.' },
);

export const RateLimitPolicyConfig = Type.Object(
  {
    limits: Type.Array(
      Type.Object(
        { requests: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Requests per window.' }), period: Window },
        { additionalProperties: false, description: 'One window.' },
      ),
      { minItems: 1, maxItems: 4, description: 'Windows, all enforced.' },
    ),
    per: Type.Optional(StringEnum(['api', 'client', 'ip'] as const, { description: 'Whose requests are counted together. Default api.', default: 'api' })),
  },
  { additionalProperties: false, description: 'Limits requests over fixed windows.' },
);

export const SpikeControlPolicyConfig = Type.Object(
  {
    maxRequests: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Requests allowed in the short window.' }),
    windowMs: Type.Integer({ minimum: 100, maximum: 60000, description: 'Short window length in milliseconds.' }),
  },
  { additionalProperties: false, description: 'Protects the upstream from bursts: refuses requests beyond maxRequests per windowMs.' },
);

export const IpListPolicyConfig = Type.Object(
  {
    cidrs: Type.Array(Cidr, { minItems: 1, maxItems: 1024, description: 'Addresses or blocks.' }),
    clientIpHeader: Type.Optional(HeaderName('Take the client address from this header (first entry), e.g. x-forwarded-for, when a trusted proxy sits in front.')),
  },
  { additionalProperties: false, description: 'IP addresses and CIDR blocks.' },
);

export const CorsPolicyConfig = Type.Object(
  {
    // An origin is echoed in Access-Control-Allow-Origin: visible ASCII without spaces.
    allowOrigins: Type.Array(Type.String({ description: 'An origin (scheme://host[:port]) or "*".', minLength: 1, maxLength: 512, pattern: VISIBLE_ASCII_PATTERN }), {
      minItems: 1,
      maxItems: 64,
      description: 'Origins allowed to call the API from a browser.',
    }),
    allowMethods: Type.Optional(
      Type.Array(Type.String({ description: 'HTTP method.', minLength: 1, maxLength: 32, pattern: '^[A-Z]+$' }), { maxItems: 16, description: 'Methods allowed. Default GET, HEAD, POST.' }),
    ),
    allowHeaders: Type.Optional(HeaderNames('Request headers allowed.', 64)),
    exposeHeaders: Type.Optional(HeaderNames('Response headers exposed to the browser.', 64)),
    allowCredentials: Type.Optional(Type.Boolean({ description: 'Whether cookies and credentials may be sent.' })),
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, description: 'How long a preflight answer may be cached.' })),
  },
  { additionalProperties: false, description: 'Cross-origin resource sharing, including preflight answers.' },
);

const HeaderOps = Type.Object(
  {
    set: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: MAX_HEADER_VALUE_LENGTH, pattern: HEADER_VALUE_PATTERN, description: 'Header value: visible ASCII, space and tab.' }), {
        maxProperties: MAX_HEADER_ENTRIES,
        propertyNames: { minLength: 1, maxLength: MAX_HEADER_NAME_LENGTH, pattern: HEADER_TOKEN_PATTERN },
        description: 'Headers to set (replacing any value). Not the gateway\'s own, forwarding, framing or hop-by-hop headers.',
      }),
    ),
    remove: Type.Optional(HeaderNames('Headers to remove. Not the gateway\'s own, forwarding, framing or hop-by-hop headers.', MAX_HEADER_ENTRIES)),
  },
  { additionalProperties: false, description: 'Header changes.' },
);

export const HeaderInjectionPolicyConfig = Type.Object(
  {
    request: Type.Optional(HeaderOps),
    response: Type.Optional(HeaderOps),
  },
  { additionalProperties: false, minProperties: 1, description: 'Adds, replaces or removes request and response headers.' },
);

export const JwtValidationPolicyConfig = Type.Object(
  {
    jwksUrl: Type.String({ description: 'URL of the JSON Web Key Set used to verify signatures.', format: 'uri', pattern: '^https?://', maxLength: 2048 }),
    issuer: Type.Optional(Type.String({ description: 'Required iss claim.', maxLength: 1024 })),
    audiences: Type.Optional(Type.Array(Type.String({ description: 'An accepted aud value.', maxLength: 1024 }), { minItems: 1, maxItems: 16, description: 'Accepted aud values (any).' })),
    algorithms: Type.Optional(
      Type.Array(StringEnum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const, { description: 'Algorithm.' }), {
        minItems: 1,
        maxItems: 10,
        description: 'Accepted signature algorithms. Default RS256 and ES256.',
      }),
    ),
    header: Type.Optional(HeaderName('Header carrying "Bearer <token>". Default authorization.')),
    clockToleranceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, description: 'Allowed clock skew.' })),
    requireExpiry: Type.Optional(
      Type.Boolean({
        description: 'Refuse tokens without an exp claim. Default true: a token that never expires stays valid for good once leaked; set false only for an issuer that cannot set exp.',
        default: true,
      }),
    ),
    forwardToken: Type.Optional(Type.Boolean({ description: 'Forward the checked token header upstream. Default false: the upstream never sees the token.', default: false })),
  },
  { additionalProperties: false, description: 'Validates a JWT bearer token against a JWKS.' },
);

export const POLICY_CONFIG_SCHEMAS: Record<PolicyType, TSchema> = {
  'api-key': ApiKeyPolicyConfig,
  'client-id-enforcement': ClientIdEnforcementPolicyConfig,
  'rate-limit': RateLimitPolicyConfig,
  'spike-control': SpikeControlPolicyConfig,
  'ip-allowlist': IpListPolicyConfig,
  'ip-blocklist': IpListPolicyConfig,
  cors: CorsPolicyConfig,
  'header-injection': HeaderInjectionPolicyConfig,
  'jwt-validation': JwtValidationPolicyConfig,
};

export type ApiKeyPolicyConfig = Static<typeof ApiKeyPolicyConfig>;
export type ClientIdEnforcementPolicyConfig = Static<typeof ClientIdEnforcementPolicyConfig>;
export type RateLimitPolicyConfig = Static<typeof RateLimitPolicyConfig>;
export type SpikeControlPolicyConfig = Static<typeof SpikeControlPolicyConfig>;
export type IpListPolicyConfig = Static<typeof IpListPolicyConfig>;
export type CorsPolicyConfig = Static<typeof CorsPolicyConfig>;
/** The methods a cors policy without allowMethods allows: the gateway enforces them, the SecurityPolicy renders them. */
export const DEFAULT_CORS_METHODS: readonly string[] = ['GET', 'HEAD', 'POST'];
export type HeaderInjectionPolicyConfig = Static<typeof HeaderInjectionPolicyConfig>;
export type JwtValidationPolicyConfig = Static<typeof JwtValidationPolicyConfig>;

const compiled = new Map<string, ValidateFunction>();

function valueAt(root: unknown, pointer: string): unknown {
  let v = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const lastSegment = (pointer: string): string => pointer.slice(pointer.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');

/** One ajv error as a user reads it: header rules say which header and which character, not which regular expression. */
function describeConfigError(e: ErrorObject, config: unknown, schema: TSchema): FieldError | undefined {
  if (e.keyword === 'propertyNames') return undefined; // the error inside it (below) names the property
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) return { path: `${e.instancePath}/${escapePointer(propertyName)}`, message: headerNameProblem(propertyName) ?? e.message ?? 'is invalid' };
  const value = valueAt(config, e.instancePath);
  if (typeof value === 'string' && (e.keyword === 'pattern' || e.keyword === 'minLength' || e.keyword === 'maxLength')) {
    // The schema node that failed: its pattern says whether the string is a header name or value.
    const node = valueAt(schema, decodeURIComponent(e.schemaPath.slice(1, e.schemaPath.lastIndexOf('/')))) as { pattern?: string } | undefined;
    const message = node?.pattern === HEADER_TOKEN_PATTERN ? headerNameProblem(value) : node?.pattern === HEADER_VALUE_PATTERN ? headerValueProblem(lastSegment(e.instancePath), value) : undefined;
    if (message) return { path: e.instancePath, message };
  }
  const hint = e.keyword === 'pattern' ? PATTERN_HINTS[(e.params as { pattern: string }).pattern] : undefined;
  if (hint) return { path: e.instancePath, message: hint };
  return describeErrors([e])[0];
}

/** Reserved and duplicate names in one set map / remove list; names that are not tokens were reported by the schema. */
function headerOpsErrors(config: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const side of ['request', 'response'] as const) {
    const ops = valueAt(config, `/${side}`) as { set?: unknown; remove?: unknown } | undefined;
    if (!ops || typeof ops !== 'object') continue;
    const names: Array<[string, string]> = [];
    if (ops.set && typeof ops.set === 'object' && !Array.isArray(ops.set)) for (const k of Object.keys(ops.set)) names.push([`/${side}/set/${escapePointer(k)}`, k]);
    if (Array.isArray(ops.remove)) ops.remove.forEach((k, i) => typeof k === 'string' && names.push([`/${side}/remove/${i}`, k]));
    const seen = new Map<string, string>();
    for (const [path, name] of names) {
      const why = reservedHeaderReason(name);
      if (why) out.push({ path, message: `header ${quoteHeader(name)} is reserved: ${why}` });
      const lower = name.toLowerCase();
      const kind = path.includes('/set/') ? 'set' : 'remove';
      const first = seen.get(`${kind}:${lower}`);
      // Names are case-insensitive: two spellings of one header in a map would depend on key order.
      if (first !== undefined) out.push({ path, message: `header ${quoteHeader(name)} is listed twice in ${side}.${kind} (also as ${quoteHeader(first)}): header names are case-insensitive` });
      else seen.set(`${kind}:${lower}`, name);
    }
  }
  return out;
}

/**
 * CORS combinations a schema cannot say: "*" with credentials (every tenant
 * shares the gateway's origin, so any site would read responses made with its
 * visitors' cookies) and the opaque origin "null" (sent by sandboxed frames,
 * file: pages and redirects: it names no site).
 */
function corsErrors(config: unknown): FieldError[] {
  const origins = valueAt(config, '/allowOrigins');
  if (!Array.isArray(origins)) return [];
  const out: FieldError[] = [];
  origins.forEach((o, i) => {
    if (typeof o === 'string' && o.trim().toLowerCase() === 'null') {
      out.push({ path: `/allowOrigins/${i}`, message: `origin ${JSON.stringify(o)} is never allowed: sandboxed frames, file: pages and redirects all send it, so it names no site; list real origins (scheme://host[:port])` });
    }
  });
  if (origins.includes('*') && valueAt(config, '/allowCredentials') === true) {
    out.push({
      path: '/allowCredentials',
      message: 'allowCredentials: true cannot be combined with allowOrigins "*": any site could then read responses made with its visitors\' credentials; list the origins that may send credentials, or drop allowCredentials',
    });
  }
  return out;
}

/** The client ID and the client secret in one header would make neither readable. */
function clientIdErrors(config: unknown): FieldError[] {
  const id = valueAt(config, '/clientIdHeader');
  const secret = valueAt(config, '/clientSecretHeader');
  const lower = (v: unknown, d: string) => (typeof v === 'string' ? v.toLowerCase() : d);
  if (lower(id, 'x-client-id') !== lower(secret, 'x-client-secret')) return [];
  return [{ path: id === undefined ? '/clientSecretHeader' : '/clientIdHeader', message: 'clientIdHeader and clientSecretHeader name the same header: the client ID and the client secret need one header each' }];
}

/** Errors of a policy config, with JSON pointers from the object root (/spec/config/...). */
export function validatePolicyConfig(type: string, config: unknown): FieldError[] {
  const schema = POLICY_CONFIG_SCHEMAS[type as PolicyType];
  if (!schema) return [{ path: '/spec/type', message: `unknown policy type ${JSON.stringify(type)}` }];
  let fn = compiled.get(type);
  if (!fn) {
    fn = compile(schema);
    compiled.set(type, fn);
  }
  const value = config ?? {};
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (e: FieldError | undefined) => {
    // minLength and pattern on one bad name would otherwise repeat the same sentence.
    if (!e || seen.has(`${e.path}\n${e.message}`)) return;
    seen.add(`${e.path}\n${e.message}`);
    errors.push(e);
  };
  if (!fn(value)) for (const e of fn.errors ?? []) add(describeConfigError(e, value, schema));
  if (type === 'header-injection') for (const e of headerOpsErrors(value)) add(e);
  if (type === 'cors') for (const e of corsErrors(value)) add(e);
  if (type === 'client-id-enforcement') for (const e of clientIdErrors(value)) add(e);
  return errors.map((e) => ({ ...e, path: `/spec/config${e.path === '/' ? '' : e.path}` }));
}
