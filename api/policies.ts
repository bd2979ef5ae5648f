// The config schema of each policy type: one source for the webhook (which
// answers with the JSON pointer of a bad field), the operator (which renders
// configs into the gateway config) and the gateway (which enforces them).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { StringEnum } from './v1alpha1/common.ts';
import type { PolicyType } from './v1alpha1/policy.ts';
import { compile, describeErrors, type FieldError } from './validation.ts';

const HeaderName = (description: string) => Type.String({ description, minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" });
const Cidr = Type.String({ description: 'An IPv4 or IPv6 address or CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32.', minLength: 2, maxLength: 64, format: 'cidr' });
const Window = StringEnum(['second', 'minute', 'hour', 'day'] as const, { description: 'Window length.' });

export const ApiKeyPolicyConfig = Type.Object(
  {
    header: Type.Optional(HeaderName('Request header carrying the key. Default x-api-key.')),
    queryParameter: Type.Optional(Type.String({ description: 'Query parameter carrying the key, if keys may come in the URL.', minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false, description: 'Client-id enforcement: requests must carry an approved key for this API.' },
);

export const RateLimitPolicyConfig = Type.Object(
  {
    limits: Type.Array(
      Type.Object(
        { requests: Type.Integer({ minimum: 1, description: 'Requests per window.' }), period: Window },
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
    maxRequests: Type.Integer({ minimum: 1, description: 'Requests allowed in the short window.' }),
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
    allowOrigins: Type.Array(Type.String({ description: 'An origin (scheme://host[:port]) or "*".', minLength: 1, maxLength: 512 }), {
      minItems: 1,
      description: 'Origins allowed to call the API from a browser.',
    }),
    allowMethods: Type.Optional(Type.Array(Type.String({ description: 'HTTP method.', pattern: '^[A-Z]+$' }), { description: 'Methods allowed. Default GET, HEAD, POST.' })),
    allowHeaders: Type.Optional(Type.Array(HeaderName('A header name.'), { description: 'Request headers allowed.' })),
    exposeHeaders: Type.Optional(Type.Array(HeaderName('A header name.'), { description: 'Response headers exposed to the browser.' })),
    allowCredentials: Type.Optional(Type.Boolean({ description: 'Whether cookies and credentials may be sent.' })),
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, description: 'How long a preflight answer may be cached.' })),
  },
  { additionalProperties: false, description: 'Cross-origin resource sharing, including preflight answers.' },
);

const HeaderOps = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 4096, description: 'Header value.' }), { description: 'Headers to set (replacing any value).' })),
    remove: Type.Optional(Type.Array(HeaderName('A header name.'), { description: 'Headers to remove.' })),
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
    jwksUrl: Type.String({ description: 'URL of the JSON Web Key Set used to verify signatures.', format: 'uri', pattern: '^https?://' }),
    issuer: Type.Optional(Type.String({ description: 'Required iss claim.' })),
    audiences: Type.Optional(Type.Array(Type.String({ description: 'An accepted aud value.' }), { minItems: 1, description: 'Accepted aud values (any).' })),
    algorithms: Type.Optional(
      Type.Array(StringEnum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const, { description: 'Algorithm.' }), {
        minItems: 1,
        description: 'Accepted signature algorithms. Default RS256 and ES256.',
      }),
    ),
    header: Type.Optional(HeaderName('Header carrying "Bearer <token>". Default authorization.')),
    clockToleranceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, description: 'Allowed clock skew.' })),
  },
  { additionalProperties: false, description: 'Validates a JWT bearer token against a JWKS.' },
);

export const POLICY_CONFIG_SCHEMAS: Record<PolicyType, TSchema> = {
  'api-key': ApiKeyPolicyConfig,
  'rate-limit': RateLimitPolicyConfig,
  'spike-control': SpikeControlPolicyConfig,
  'ip-allowlist': IpListPolicyConfig,
  'ip-blocklist': IpListPolicyConfig,
  cors: CorsPolicyConfig,
  'header-injection': HeaderInjectionPolicyConfig,
  'jwt-validation': JwtValidationPolicyConfig,
};

export type ApiKeyPolicyConfig = Static<typeof ApiKeyPolicyConfig>;
export type RateLimitPolicyConfig = Static<typeof RateLimitPolicyConfig>;
export type SpikeControlPolicyConfig = Static<typeof SpikeControlPolicyConfig>;
export type IpListPolicyConfig = Static<typeof IpListPolicyConfig>;
export type CorsPolicyConfig = Static<typeof CorsPolicyConfig>;
export type HeaderInjectionPolicyConfig = Static<typeof HeaderInjectionPolicyConfig>;
export type JwtValidationPolicyConfig = Static<typeof JwtValidationPolicyConfig>;

const compiled = new Map<string, ValidateFunction>();

/** Errors of a policy config, with JSON pointers from the object root (/spec/config/...). */
export function validatePolicyConfig(type: string, config: unknown): FieldError[] {
  const schema = POLICY_CONFIG_SCHEMAS[type as PolicyType];
  if (!schema) return [{ path: '/spec/type', message: `unknown policy type ${JSON.stringify(type)}` }];
  let fn = compiled.get(type);
  if (!fn) {
    fn = compile(schema);
    compiled.set(type, fn);
  }
  return fn(config ?? {}) ? [] : describeErrors(fn.errors).map((e) => ({ ...e, path: `/spec/config${e.path === '/' ? '' : e.path}` }));
}
