// The one policy path: "may this request pass on this route?".
//
// The gateway (server.ts) routes a request, then asks checkRoute(); the
// decision service (authz.ts) is told the route by the proxy in front of it
// and asks decide(), which adds what the gateway's router and proxy did
// around the same call: the route by id, the path checks, and the answer as
// headers (to add and remove upstream) or a refusal. Neither routes nor
// forwards here, and no body is read.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledConfig, CompiledRoute, CompiledRoutes } from './compiled.ts';
import { segments } from './compiled.ts';
import { applyOps } from './policies/header-injection.ts';
import { rateLimitHeaders } from './policies/limits.ts';
import { newContext, type Outcome, type PolicyContext, type PolicyHandler } from './policies/types.ts';
import { refusals, type Refusal } from './problem.ts';
import { queryPair } from './query.ts';

/** The header carrying the client identity upstream (the consumer's ApiKey or Application namespace/name). */
export const CLIENT_HEADER = 'x-crossgate-client';

/**
 * True when a raw path has a "." or ".." segment (also percent-encoded, or with ";" parameters: Tomcat and
 * Jetty read "..;x" as ".."): refused, so no route can be escaped upstream.
 */
export function hasDotSegments(path: string): boolean {
  if (!path.includes('.') && !path.includes('%2')) return false;
  for (const seg of path.split('/')) {
    let s = seg.toLowerCase().replace(/%2e/g, '.');
    let params = s.indexOf(';');
    const encoded = s.indexOf('%3b');
    if (encoded >= 0 && (params < 0 || encoded < params)) params = encoded;
    if (params >= 0) s = s.slice(0, params);
    if (s === '.' || s === '..') return true;
  }
  return false;
}

/**
 * Runs a route's policies in order from `from`; the first refusal is the
 * outcome. Synchronous while every handler is (the common case), a promise
 * from the first handler that is not. `preflightOnly`: only the handlers that
 * apply to CORS preflights (IP lists, limits).
 */
export function runPolicies(handlers: readonly PolicyHandler[], from: number, ctx: PolicyContext, preflightOnly: boolean): Outcome | Promise<Outcome> {
  for (let i = from; i < handlers.length; i++) {
    const h = handlers[i]!;
    if (preflightOnly && !h.preflight) continue;
    const o = h.onRequest(ctx);
    if (o === undefined) continue;
    if (o instanceof Promise) {
      const next = i + 1;
      return o.then((r) => r ?? runPolicies(handlers, next, ctx, preflightOnly));
    }
    return o;
  }
  return undefined;
}

/** A matched route's verdict on a request: held closed → 503, else its policies. What gateway and authz both run. */
export function checkRoute(route: CompiledRoute, ctx: PolicyContext, preflightOnly: boolean): Outcome | Promise<Outcome> {
  if (route.withheld) return refusals.withheld();
  return runPolicies(route.policies, 0, ctx, preflightOnly);
}

/** True when the raw path lies under the route's basePath, segment-wise (what the router matched). */
export function underBasePath(path: string, route: CompiledRoute): boolean {
  const base = route.baseSegments;
  if (base.length === 0) return true;
  const segs = segments(path);
  if (segs.length < base.length) return false;
  for (let i = 0; i < base.length; i++) if (segs[i] !== base[i]) return false;
  return true;
}

/** `host` is one of `names` (lower case, exact or "*." wildcard, as CROSSGATE_GATEWAY_HOSTNAMES holds them). */
function namedIn(host: string, names: readonly string[]): boolean {
  for (const n of names) {
    if (n.charCodeAt(0) !== 42 /* * */) {
      if (n === host) return true;
      continue;
    }
    // "*.example.com": a host strictly under ".example.com", compared in place (no suffix string per check).
    const len = n.length - 1;
    if (host.length <= len) continue;
    const off = host.length - len;
    let i = 0;
    while (i < len && host.charCodeAt(off + i) === n.charCodeAt(1 + i)) i++;
    if (i === len) return true;
  }
  return false;
}

/**
 * The request's host is one the route was told of is served on: one of the
 * route's hostnames; for a route without hostnames (the shared host), a host
 * no route names and, when the platform names the gateway's own hosts
 * (`shared`, CROSSGATE_GATEWAY_HOSTNAMES), one of those. The proxy names the
 * route, and a proxy configuration an organization writes (its own Envoy
 * Gateway SecurityPolicy naming another organization's route) must not get
 * that route's policies, keys and analytics for its own host.
 */
export function hostServedBy(routes: CompiledRoutes, route: CompiledRoute, host: string, shared: readonly string[]): boolean {
  if (!routes.router.hostOfRoute(route, host)) return false;
  return route.hostnames.length > 0 || shared.length === 0 || namedIn(host, shared);
}

const NO_PARAMS: readonly string[] = [];

/**
 * Which of the credential parameters `names` the raw query carries (by decoded name, as the api-key policy
 * reads them), and the first one carried under a percent-encoded name (a proxy removing parameters by name
 * might not match it).
 */
export function queryCredential(query: string, names: readonly string[]): { present: string[]; encoded: string | undefined } {
  const present: string[] = [];
  let encoded: string | undefined;
  if (!query) return { present, encoded };
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const raw = eq < 0 ? pair : pair.slice(0, eq);
    const name = queryPair(pair).name;
    if (name === undefined || !names.includes(name)) continue;
    if (raw !== name) encoded ??= name;
    if (!present.includes(name)) present.push(name);
  }
  return { present, encoded };
}

export interface DecisionRequest {
  method: string;
  /** The request's host as the proxy saw it: lower case, without port or trailing dot (compiled.ts hostOf). */
  host: string;
  /** Raw path, without the query string. */
  path: string;
  /** Raw query string without "?", "" when absent. */
  query: string;
  /** The client's request headers (lower-case names) as the proxy saw them. */
  headers: IncomingHttpHeaders;
  /** The client's address (decided by the caller through the trusted-proxy rules). */
  remoteAddress: string;
  /** The address is itself a trusted proxy (its forwarding headers may be walked further, as in the gateway). */
  peerTrusted: boolean;
  now: number;
  /** The proxy drops the query parameters an allow names (Envoy's gRPC ok_response); otherwise a credential read from the query refuses the check. */
  removesQuery?: boolean;
}

export type Decision =
  | {
      allow: true;
      ctx: PolicyContext;
      /** Headers to set on the request upstream (lower-case names): the client identity, RateLimit, header-injection's sets. */
      add: Record<string, string>;
      /** Request headers not to forward: the consumed credential, header-injection's removals. */
      remove: string[];
      /** Response headers for the client (RateLimit) whatever the upstream answers. */
      responseHeaders: Record<string, string>;
      /** Query parameters not to forward (a credential read from the query), only when the request asked removesQuery. */
      removeQuery: readonly string[];
    }
  | { allow: false; ctx: PolicyContext | undefined; refusal: Refusal };

/** The headers an admitted request carries upstream, from what its policies recorded. */
export function allowHeaders(ctx: PolicyContext): { add: Record<string, string>; remove: string[]; responseHeaders: Record<string, string> } {
  const add: Record<string, string> = {};
  // One stripped header is the common case (the consumed key): no Set for it.
  const strip = ctx.stripHeaders;
  const remove: string[] = !strip ? [] : strip.length === 1 ? [strip[0]!] : [...new Set(strip)];
  if (ctx.requestOps) {
    const sets: Record<string, string> = {};
    applyOps(sets, ctx.requestOps);
    for (const op of ctx.requestOps) for (const h of op.remove) if (sets[h] === undefined && !remove.includes(h)) remove.push(h);
    Object.assign(add, sets);
  }
  // The gateway's own headers last: no policy op can overwrite the identity.
  if (ctx.client) add[CLIENT_HEADER] = ctx.client;
  // rateLimitHeaders returns a fresh object: no copy needed.
  const responseHeaders: Record<string, string> = ctx.rateLimits?.length ? rateLimitHeaders(ctx.rateLimits) : {};
  return { add, remove, responseHeaders };
}

/**
 * The decision service's question: may this request pass on route `routeId`
 * of `cfg`? Runs the same checks and policies the gateway runs once it has
 * routed (no CORS: the proxy in front answers preflights), once the request
 * is known to lie in that route's space: its path under the base path, its
 * host one the route is served on (`sharedHosts`: the platform's gateway host
 * names, for routes without hostnames; hostServedBy).
 */
export function decide(cfg: CompiledConfig | undefined, routeId: string, req: DecisionRequest, logger: Logger, sharedHosts: readonly string[] = []): Decision | Promise<Decision> {
  if (!cfg) return { allow: false, ctx: undefined, refusal: refusals.noConfig() };
  const route = cfg.routes.byId.get(routeId);
  if (!route) return { allow: false, ctx: undefined, refusal: refusals.notFound('No API is served under this route.') };
  if (hasDotSegments(req.path)) return { allow: false, ctx: undefined, refusal: refusals.badPath() };
  if (!underBasePath(req.path, route)) return { allow: false, ctx: undefined, refusal: refusals.notFound() };
  // Refused before the route's policies run: no key checked, no counter burnt, no analytics metadata (ctx undefined).
  if (!hostServedBy(cfg.routes, route, req.host, sharedHosts)) return { allow: false, ctx: undefined, refusal: refusals.misdirected() };
  const ctx = newContext({
    method: req.method,
    headers: req.headers,
    path: req.path,
    query: req.query,
    remoteAddress: req.remoteAddress,
    peerTrusted: req.peerTrusted,
    now: req.now,
    routeId: route.id,
    credentials: cfg.credentials,
  });
  const done = (o: Outcome): Decision => {
    if (o) return { allow: false, ctx, refusal: o };
    // A credential policy that may read the query names its parameter (api-key queryParameter): it must not reach the upstream.
    let removeQuery: readonly string[] = NO_PARAMS;
    if (ctx.stripQuery) {
      const q = queryCredential(ctx.query, ctx.stripQuery);
      if (q.encoded !== undefined) return { allow: false, ctx, refusal: refusals.credentialInQuery(q.encoded, true) };
      if (q.present.length) {
        if (!req.removesQuery) return { allow: false, ctx, refusal: refusals.credentialInQuery(q.present.join(', '), false) };
        removeQuery = q.present;
      }
    }
    return { allow: true, ctx, ...allowHeaders(ctx), removeQuery };
  };
  const fail = (err: unknown): Decision => {
    logger.error({ route: route.id, err: err instanceof Error ? err.message : String(err) }, 'policy failed');
    return { allow: false, ctx, refusal: refusals.internal() };
  };
  let outcome: Outcome | Promise<Outcome>;
  try {
    outcome = checkRoute(route, ctx, false);
  } catch (err) {
    return fail(err);
  }
  return outcome instanceof Promise ? outcome.then(done, fail) : done(outcome);
}
