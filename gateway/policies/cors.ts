// cors: cross-origin resource sharing, including preflight.
//
// A route's CORS policy is not run at its place in the policy order: the
// gateway evaluates it before any other policy, because
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     carries no credentials, so the gateway must answer it itself before
//     api-key or jwt-validation would refuse it (the policies marked
//     `preflight` — IP lists and limits — still run first);
//   - a browser can only read a refusal (401, 429) if it carries the CORS
//     headers, so they are decided up front and added to every response.
// A disallowed origin gets no CORS headers at all; a disallowed preflight gets
// a 403 problem without them. "*" with credentials is refused by
// validatePolicyConfig (so such a route is withheld); should one be compiled all
// the same, it allows only the origins listed by name, never any echoed one, and
// the opaque origin "null" is never echoed.
import { DEFAULT_CORS_METHODS, type CorsPolicyConfig } from '../../api/policies.ts';
import type { Refusal } from '../problem.ts';

export interface CompiledCors {
  name: string;
  anyOrigin: boolean;
  origins: ReadonlySet<string>;
  methods: ReadonlySet<string>;
  methodsHeader: string;
  /** undefined: any requested header is allowed (reflected). */
  headers: ReadonlySet<string> | undefined;
  headersHeader: string | undefined;
  exposeHeader: string | undefined;
  credentials: boolean;
  maxAge: string | undefined;
}

export function compileCors(name: string, cfg: CorsPolicyConfig): CompiledCors {
  const methods = cfg.allowMethods?.length ? cfg.allowMethods : DEFAULT_CORS_METHODS;
  const headers = cfg.allowHeaders?.map((h) => h.toLowerCase());
  return {
    name,
    anyOrigin: cfg.allowOrigins.includes('*'),
    origins: new Set(cfg.allowOrigins.filter((o) => o !== '*').map((o) => o.toLowerCase().replace(/\/+$/, ''))),
    methods: new Set(methods),
    methodsHeader: methods.join(', '),
    headers: headers ? new Set(headers) : undefined,
    headersHeader: headers?.join(', '),
    exposeHeader: cfg.exposeHeaders?.length ? cfg.exposeHeaders.join(', ') : undefined,
    credentials: cfg.allowCredentials === true,
    maxAge: cfg.maxAgeSeconds === undefined ? undefined : String(cfg.maxAgeSeconds),
  };
}

/** The opaque origin of sandboxed frames, file: pages and redirects: it names no site, so it is never echoed. */
export const OPAQUE_ORIGIN = 'null';

export function originAllowed(c: CompiledCors, origin: string): boolean {
  const o = origin.trim().toLowerCase();
  if (o === OPAQUE_ORIGIN) return c.anyOrigin && !c.credentials;
  return (c.anyOrigin && !c.credentials) || c.origins.has(o);
}

function allowOrigin(c: CompiledCors, origin: string): string {
  // Only an origin listed by name is ever echoed; "*" is answered with "*".
  return c.anyOrigin && !c.credentials ? '*' : origin;
}

export function isPreflight(method: string, origin: string | undefined, requestMethod: string | undefined): boolean {
  return method === 'OPTIONS' && origin !== undefined && requestMethod !== undefined;
}

/** Headers for an actual (non-preflight) cross-origin request; undefined when the origin is not allowed. */
export function actualRequestHeaders(c: CompiledCors, origin: string | undefined): Record<string, string> | undefined {
  if (origin === undefined || !originAllowed(c, origin)) return undefined;
  const h: Record<string, string> = { 'access-control-allow-origin': allowOrigin(c, origin) };
  if (h['access-control-allow-origin'] !== '*') h.vary = 'Origin';
  if (c.credentials) h['access-control-allow-credentials'] = 'true';
  if (c.exposeHeader) h['access-control-expose-headers'] = c.exposeHeader;
  return h;
}

export type PreflightResult = { ok: true; headers: Record<string, string> } | { ok: false; reason: string };

/** Pure preflight decision. */
export function evaluatePreflight(c: CompiledCors, origin: string, requestMethod: string, requestHeaders: string | undefined): PreflightResult {
  if (!originAllowed(c, origin)) return { ok: false, reason: `origin ${origin} is not allowed` };
  const method = requestMethod.trim();
  if (!c.methods.has(method)) return { ok: false, reason: `method ${method} is not allowed` };
  const requested = (requestHeaders ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (c.headers) for (const h of requested) if (!c.headers.has(h)) return { ok: false, reason: `header ${h} is not allowed` };
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOrigin(c, origin),
    'access-control-allow-methods': c.methodsHeader,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  const allowHeaders = c.headers ? c.headersHeader : requested.join(', ');
  if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
  if (c.credentials) headers['access-control-allow-credentials'] = 'true';
  if (c.maxAge !== undefined) headers['access-control-max-age'] = c.maxAge;
  return { ok: true, headers };
}

export function preflightRefusal(reason: string): Refusal {
  return { status: 403, slug: 'cors-preflight-refused', title: 'Forbidden', detail: `CORS preflight refused: ${reason}.`, policy: 'cors' };
}
