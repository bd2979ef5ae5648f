// crossgate-authz: the decision service. A proxy (nginx auth_request,
// Traefik ForwardAuth, Envoy's HTTP ext_authz) asks it whether a request may
// pass; it answers from the same compiled gateway config with the same policy
// path as the gateway (decision.ts), and never routes or forwards.
//
//   /v1/nginx          nginx auth_request: method in X-Original-Method, raw
//                      URI in X-Original-URI (the rendered config sets both)
//   /v1/traefik        Traefik ForwardAuth: X-Forwarded-Method, X-Forwarded-Uri
//   /v1/envoy/<path>   Envoy HTTP ext_authz with path_prefix /v1/envoy: the
//                      original method and path
//   /healthz, /readyz  no token needed, nothing revealed
//
// Every check must carry the proxy's token, `X-Crossgate-Authz: Bearer <token>`
// (a file, a mounted Secret in a cluster, re-read when it changes), compared
// in constant time; without it: 401 and nothing else is read. The route is
// named by the proxy in X-Crossgate-Route (exactly once): authz never picks a
// route, so it can never apply another route's policies; it checks that the
// request lies in that route's space (path under its base path, host one it
// is served on: decision.ts), so a proxy configuration naming another
// route for other traffic is refused. The forwarding headers (method, URI and
// host: X-Original-Host for nginx, X-Forwarded-Host for Traefik, Envoy's own
// Host) must each be there exactly once. Traefik's ForwardAuth must run with
// trustForwardHeader: false, or a client's own X-Forwarded-Host reaches the
// host check (docs/gateway-integration.md). The client address is the
// socket peer's unless that peer is a trusted proxy (CROSSGATE_TRUSTED_PROXIES),
// and then X-Forwarded-For read right to left (client-address.ts), as the
// gateway does: a caller that is not a trusted proxy cannot name a client.
//
// Answers: allow → 200, the headers to set upstream as response headers
// (x-crossgate-client, RateLimit-Policy/RateLimit, header-injection's sets) and
// `x-envoy-auth-headers-to-remove` listing what not to forward (the consumed
// key or secret). Deny → the refusal's status, its headers (Retry-After,
// RateLimit, WWW-Authenticate) and its RFC 9457 body; for nginx, whose
// auth_request passes only 2xx/401/403, a 401 stays 401 and every other
// refusal is sent as 403, the real status in X-Crossgate-Status and the body
// in X-Crossgate-Problem (the rendered config answers the client with them).
import { timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { clientAddress, canonicalAddress, type TrustedProxies } from './client-address.ts';
import { hostOf } from './compiled.ts';
import { decide, type Decision, type DecisionRequest } from './decision.ts';
import { rateLimitHeaders } from './policies/limits.ts';
import type { ConfigHolder } from './server.ts';
import { serveHttp } from './http-server.ts';
import { HEAD_TIMEOUT_MS, IDLE_TIMEOUT_MS, serveChecks, type CheckHandler, type CheckRequest, type CheckResponder } from './authz-http1.ts';
import type { GatewayMetrics } from './metrics.ts';

export const AUTHZ_TOKEN_HEADER = 'x-crossgate-authz';
export const ROUTE_HEADER = 'x-crossgate-route';
export const STATUS_HEADER = 'x-crossgate-status';
export const PROBLEM_HEADER = 'x-crossgate-problem';
export const REMOVE_HEADER = 'x-envoy-auth-headers-to-remove';
export const ENVOY_PREFIX = '/v1/envoy';

/** Token bytes are compared in a buffer of at least this many bytes, padded with zeros, so the time taken does not depend on the token's length. */
const TOKEN_PAD = 128;

/** The proxy's token, from a file; re-read (at most every `checkMs`) when the file changes, so a rotated Secret takes effect. */
export class TokenFile {
  readonly #path: string;
  readonly #checkMs: number;
  /** The token's UTF-8 bytes, zero-padded to the scratch buffer's size. */
  #padded: Buffer;
  #length: number;
  /** Where the presented token is copied for each check (checks are synchronous: one buffer is enough). */
  #scratch: Buffer;
  #mtime = 0;
  #checked = 0;

  constructor(path: string, checkMs = 2000) {
    this.#path = path;
    this.#checkMs = checkMs;
    this.#padded = this.#read();
    this.#length = this.#padded.length;
    this.#scratch = Buffer.alloc(0);
    this.#install(this.#padded);
  }

  #read(): Buffer {
    const st = statSync(this.#path);
    const token = readFileSync(this.#path, 'utf8').trim();
    if (token.length < 16) throw new Error(`authz token file ${this.#path}: the token must be at least 16 characters`);
    this.#mtime = st.mtimeMs;
    return Buffer.from(token, 'utf8');
  }

  #install(token: Buffer): void {
    const size = Math.max(TOKEN_PAD, token.length);
    const padded = Buffer.alloc(size);
    token.copy(padded);
    this.#padded = padded;
    this.#length = token.length;
    this.#scratch = Buffer.alloc(size);
  }

  /**
   * Constant-time in the expected token: the presented one is copied into a
   * zero-padded buffer of fixed size (128 bytes, or the token's length when
   * longer) and compared whole with timingSafeEqual, and its UTF-8 length
   * with the token's. No hash per check (the SHA-256 of the presented token
   * that this replaced was a tenth of authz's CPU per check).
   */
  matches(presented: string | undefined, now: number): boolean {
    if (now - this.#checked >= this.#checkMs) {
      this.#checked = now;
      try {
        if (statSync(this.#path).mtimeMs !== this.#mtime) this.#install(this.#read());
      } catch {
        // Unreadable or too short now: keep the last good token rather than open or close everything.
      }
    }
    const p = presented ?? '';
    const scratch = this.#scratch;
    // Longer than the buffer: cannot be the token; still compare (a zeroed buffer) so the time stays the same.
    const fits = p.length <= scratch.length;
    const bytes = fits ? Buffer.byteLength(p, 'utf8') : -1;
    // The rest of the buffer zeroed after the copy: one pass over it, not two.
    scratch.fill(0, fits && bytes <= scratch.length ? scratch.write(p, 0, 'utf8') : 0);
    const same = timingSafeEqual(scratch, this.#padded);
    return same && bytes === this.#length;
  }
}

/** `name` equals `lower` (lower-case, same length) ignoring ASCII case, without building a lower-cased copy. */
function sameLower(name: string, lower: string): boolean {
  // nginx sends the names exactly as the rendered config spells them, and lower-case is the common spelling otherwise.
  if (name === lower) return true;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The headers a check itself reads (token, route, original method, URI and host), each undefined when absent or repeated. */
interface CheckHeaders {
  token: string | undefined;
  route: string | undefined;
  method: string | undefined;
  uri: string | undefined;
  host: string | undefined;
}

/** The value of each of the five names sent exactly once (undefined when absent or repeated: a second copy is someone else's word), in one pass (five passes cost more than the rest of the lookup). */
export function checkHeaders(raw: readonly string[], methodName: string, uriName: string, hostName: string): CheckHeaders {
  // Per name: the value and how many times it came; only a count of exactly 1 is kept.
  let token: string | undefined, route: string | undefined, method: string | undefined, uri: string | undefined, host: string | undefined;
  let nt = 0, nr = 0, nm = 0, nu = 0, nh = 0;
  const ml = methodName.length;
  const ul = uriName.length;
  const hl = hostName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    const len = n.length;
    if (len === AUTHZ_TOKEN_HEADER.length && sameLower(n, AUTHZ_TOKEN_HEADER)) (token = raw[i + 1]!), nt++;
    else if (len === ROUTE_HEADER.length && sameLower(n, ROUTE_HEADER)) (route = raw[i + 1]!), nr++;
    else if (len === ml && sameLower(n, methodName)) (method = raw[i + 1]!), nm++;
    else if (len === ul && sameLower(n, uriName)) (uri = raw[i + 1]!), nu++;
    else if (len === hl && sameLower(n, hostName)) (host = raw[i + 1]!), nh++;
  }
  return { token: nt === 1 ? token : undefined, route: nr === 1 ? route : undefined, method: nm === 1 ? method : undefined, uri: nu === 1 ? uri : undefined, host: nh === 1 ? host : undefined };
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

type Mode = 'nginx' | 'traefik' | 'envoy';

interface Forwarded {
  method: string;
  uri: string;
  /** The original Host value, as the proxy reports it (port and case as sent). */
  host: string;
}

/** The original request line and host as the authenticated proxy reports them. */
function forwardedOf(req: CheckRequest, mode: Mode, url: string, h: CheckHeaders): Forwarded | undefined {
  const host = h.host;
  if (!host) return undefined;
  if (mode === 'envoy') return { method: req.method ?? 'GET', uri: url.slice(ENVOY_PREFIX.length) || '/', host };
  const { method, uri } = h;
  return method && uri && validRequestLine(method, uri) ? { method, uri, host } : undefined;
}

/**
 * The header names the forwarded method, URI and host come in, per mode:
 * nginx's rendered config sets X-Original-Host to $host; Traefik sends
 * X-Forwarded-Host; Envoy's HTTP ext_authz sends the request line and Host
 * as its own (the method and URI names are then unused).
 */
const FORWARDED_NAMES: Record<Mode, readonly [string, string, string]> = {
  nginx: ['x-original-method', 'x-original-uri', 'x-original-host'],
  traefik: ['x-forwarded-method', 'x-forwarded-uri', 'x-forwarded-host'],
  envoy: ['x-original-method', 'x-original-uri', 'host'],
};

/** At most this many Host values are remembered by a HostCache; then it starts over. */
export const HOST_CACHE_SIZE = 1024;
/** Longer Host values are not remembered (no route or gateway host name is longer than 253 characters). */
const MAX_CACHED_HOST = 255;

/**
 * hostOf() (lower case, no port, no trailing dot) remembered per raw Host
 * value: behind a proxy the same few hosts repeat on every check. Bounded,
 * cleared whole when full, long values never kept, so no caller can grow it.
 */
export class HostCache {
  readonly #known = new Map<string, string>();

  /** Values remembered now (never more than HOST_CACHE_SIZE). */
  get size(): number {
    return this.#known.size;
  }

  of(raw: string): string {
    let h = this.#known.get(raw);
    if (h === undefined) {
      h = hostOf(raw) ?? '';
      if (raw.length > MAX_CACHED_HOST) return h;
      if (this.#known.size >= HOST_CACHE_SIZE) this.#known.clear();
      this.#known.set(raw, h);
    }
    return h;
  }
}

/** The original method and URI a proxy reports are plausible: an upper-case token and an origin-form target. */
export function validRequestLine(method: string, uri: string): boolean {
  return /^[A-Z]{1,16}$/.test(method) && uri.charCodeAt(0) === 47;
}

/**
 * The client as decide() sees it: the peer's address, or, when that peer is a
 * trusted proxy, the one `forwarded` (X-Forwarded-For) names, read right to
 * left (client-address.ts). The one rule of the HTTP and gRPC checks.
 */
export function clientOf(peer: string, forwarded: string | readonly string[] | undefined, trusted: TrustedProxies): { remoteAddress: string; peerTrusted: boolean } {
  const client = clientAddress(peer, forwarded, trusted);
  return { remoteAddress: client ? canonicalAddress(client) : '', peerTrusted: client !== undefined && trusted.has(client) };
}

/** At most this many (peer, X-Forwarded-For) pairs are remembered by a ClientCache; then it starts over. */
export const CLIENT_CACHE_SIZE = 1024;

type Client = { remoteAddress: string; peerTrusted: boolean };

/**
 * clientOf() remembered per (peer, X-Forwarded-For) pair: behind nginx the
 * same few pairs repeat on every check, and the walk parses each address.
 * The answer depends on nothing else (the trusted proxies are fixed for the
 * process); bounded, and cleared whole when full, so no caller can grow it.
 */
export class ClientCache {
  readonly #trusted: TrustedProxies;
  /** Per peer, per X-Forwarded-For value ('' for none): two lookups, no key string built per check. */
  readonly #known = new Map<string, Map<string, Client>>();
  #size = 0;

  constructor(trusted: TrustedProxies) {
    this.#trusted = trusted;
  }

  /** Pairs remembered now (never more than CLIENT_CACHE_SIZE). */
  get size(): number {
    return this.#size;
  }

  of(peer: string, forwarded: string | readonly string[] | undefined): Client {
    // Repeated headers (an array) are rare and not remembered.
    if (typeof forwarded !== 'string' && forwarded !== undefined) return clientOf(peer, forwarded, this.#trusted);
    // '' stands for no header in the inner map, so a header sent empty is not remembered.
    if (forwarded === '') return clientOf(peer, forwarded, this.#trusted);
    const fwd = forwarded ?? '';
    let byPeer = this.#known.get(peer);
    let c = byPeer?.get(fwd);
    if (c === undefined) {
      c = clientOf(peer, forwarded, this.#trusted);
      if (this.#size >= CLIENT_CACHE_SIZE) {
        this.#known.clear();
        this.#size = 0;
        byPeer = undefined;
      }
      if (byPeer === undefined) this.#known.set(peer, (byPeer = new Map()));
      byPeer.set(fwd, c);
      this.#size++;
    }
    return c;
  }
}

/** The headers of a refusal: RateLimit (when limits were counted), then the refusal's own (Retry-After, WWW-Authenticate). */
export function refusalHeaders(d: Extract<Decision, { allow: false }>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (d.ctx?.rateLimits?.length) Object.assign(headers, rateLimitHeaders(d.ctx.rateLimits));
  Object.assign(headers, d.refusal.headers);
  return headers;
}

function modeOf(path: string): Mode | undefined {
  if (path === '/v1/nginx') return 'nginx';
  if (path === '/v1/traefik') return 'traefik';
  if (path === ENVOY_PREFIX || path.startsWith(`${ENVOY_PREFIX}/`)) return 'envoy';
  return undefined;
}

/** JSON with every non-ASCII character escaped: fit for a header value. */
function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function problemBody(status: number, slug: string, title: string, detail: string): string {
  return asciiJson({ type: `https://crossgate.dev/problems/${slug}`, title, status, detail });
}

/** The answer's headers as a flat [name, value, …] list (what writeHead takes without copying an object). */
type Flat = (string | number)[];

/** answer() sets these itself, last (as the object it replaced did: its own values won). */
const OWN = new Set(['cache-control', 'content-type', 'content-length']);

const REMOVE_ONLY: Record<string, string> = { [REMOVE_HEADER]: '' };

function push(flat: Flat, headers: Record<string, string>, skip?: Record<string, string>): void {
  for (const k in headers) if (!OWN.has(k) && (skip === undefined || !(k in skip))) flat.push(k, headers[k]!);
}

function answer(res: CheckResponder, status: number, flat: Flat, body: string | undefined, close = false): void {
  flat.push('cache-control', 'no-store');
  if (body !== undefined) flat.push('content-type', 'application/problem+json', 'content-length', Buffer.byteLength(body));
  else flat.push('content-length', 0);
  res.respond(status, flat, body, close);
}

/** node:http's response as a CheckResponder (the `--check-server=node` listener); a class: one small object per check. */
export class NodeResponder implements CheckResponder {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  respond(status: number, flat: readonly (string | number)[], body: string | undefined, close = false): void {
    // node:http closes the connection after an answer that says so.
    if (close) this.#res.shouldKeepAlive = false;
    this.#res.writeHead(status, flat as Flat);
    this.#res.end(this.#res.req?.method === 'HEAD' ? undefined : body);
  }

  destroy(): void {
    this.#res.destroy();
  }
}

/** The answer to a proxy for one decision. */
export function sendDecision(res: CheckResponder, d: Decision, mode: Mode): void {
  if (d.allow) {
    // Response headers first, then the upstream ones: the same precedence as the object spread this replaced (the upstream's win a tie).
    const flat: Flat = [];
    push(flat, d.responseHeaders, d.add);
    if (d.remove.length) {
      push(flat, d.add, REMOVE_ONLY);
      flat.push(REMOVE_HEADER, d.remove.join(','));
    } else push(flat, d.add);
    return answer(res, 200, flat, undefined);
  }
  const r = d.refusal;
  const headers = refusalHeaders(d);
  const body = problemBody(r.status, r.slug, r.title, r.detail);
  const flat: Flat = [];
  push(flat, headers);
  if (mode !== 'nginx') return answer(res, r.status, flat, body);
  flat.push(STATUS_HEADER, String(r.status), PROBLEM_HEADER, body);
  answer(res, r.status === 401 ? 401 : 403, flat, body);
}

export interface AuthzHandlerOptions {
  config: ConfigHolder;
  /** The gateway's own host names (CROSSGATE_GATEWAY_HOSTNAMES): when set, a route without hostnames is decided on those hosts only (decision.ts hostServedBy). */
  sharedHosts?: readonly string[];
  token: Pick<TokenFile, 'matches'>;
  trustedProxies: TrustedProxies;
  logger: Logger;
  /** Policy refusals are counted here, at decision time (requests, status and latency come from the proxy's access log: authz-log.ts). */
  metrics?: Pick<GatewayMetrics, 'violation'>;
  now?: () => number;
}

export function createAuthzHandler(opts: AuthzHandlerOptions): CheckHandler {
  const { config, token, trustedProxies, logger, metrics } = opts;
  const sharedHosts = opts.sharedHosts ?? [];
  const now = opts.now ?? Date.now;
  const clients = new ClientCache(trustedProxies);
  const hosts = new HostCache();
  const refuseCaller = (res: CheckResponder, status: number, slug: string, title: string, detail: string, close = false): void =>
    answer(res, status, [], problemBody(status, slug, title, detail), close);

  const handle = (req: CheckRequest, res: CheckResponder): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/healthz') return answer(res, 200, [], undefined);
    if (path === '/readyz') return answer(res, config.current ? 200 : 503, [], undefined);
    const t = now();
    // Nothing but the token is judged before the caller is known to be the proxy (the one pass only finds the four values).
    const mode = modeOf(path);
    const [methodName, uriName, hostName] = FORWARDED_NAMES[mode ?? 'nginx'];
    const h = checkHeaders(req.rawHeaders, methodName, uriName, hostName);
    const auth = BEARER.exec(h.token ?? '');
    if (!token.matches(auth?.[1], t)) {
      // And the connection closed: a caller that is not the proxy keeps no connection (and descriptor) open by asking again.
      return refuseCaller(res, 401, 'authz-unauthenticated', 'Unauthorized', `Checks need the proxy's token in ${AUTHZ_TOKEN_HEADER}.`, true);
    }
    if (!mode) return refuseCaller(res, 404, 'not-found', 'Not Found', 'Checks are served under /v1/nginx, /v1/traefik and /v1/envoy/.');
    const routeId = h.route;
    const fwd = forwardedOf(req, mode, url, h);
    if (!routeId || !fwd) {
      return refuseCaller(res, 400, 'bad-check', 'Bad Request', `A check names its route in ${ROUTE_HEADER} and its original method, URI and host (${hostName}), each exactly once.`);
    }
    const uq = fwd.uri.indexOf('?');
    // The client is the peer, or, behind a trusted proxy only, who X-Forwarded-For names (right to left).
    const client = clients.of(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
    const input: DecisionRequest = {
      method: fwd.method,
      host: hosts.of(fwd.host),
      path: uq < 0 ? fwd.uri : fwd.uri.slice(0, uq),
      query: uq < 0 ? '' : fwd.uri.slice(uq + 1),
      headers: req.headers,
      remoteAddress: client.remoteAddress,
      peerTrusted: client.peerTrusted,
      now: t,
    };
    const d = decide(config.current, routeId, input, logger, sharedHosts);
    const send = (x: Decision): void => {
      if (logger.isLevelEnabled('debug')) logger.debug({ route: routeId, mode, allow: x.allow, status: x.allow ? 200 : x.refusal.status, client: x.ctx?.client }, 'check');
      if (!x.allow && x.refusal.policy) metrics?.violation(routeId, x.refusal.policy, t);
      sendDecision(res, x, mode);
    };
    if (d instanceof Promise) d.then(send).catch((err: unknown) => fail(res, err));
    else send(d);
  };

  const fail = (res: CheckResponder, err: unknown): void => {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'check failed; answered 500');
    if (res.headersSent) return void res.destroy();
    try {
      answer(res, 500, [], problemBody(500, 'internal', 'Internal Server Error', 'The check failed.'));
    } catch {
      res.destroy();
    }
  };

  return function guarded(req: CheckRequest, res: CheckResponder): void {
    try {
      handle(req, res);
    } catch (err) {
      fail(res, err);
    }
  };
}

/** The check port's server: authz's own HTTP/1.1 reader (authz-http1.ts, the default) or node:http (kept for a release). */
export type CheckServerKind = 'fast' | 'node';

export interface AuthzServer {
  url: string;
  host: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startAuthzServer(opts: AuthzHandlerOptions & { host?: string; port?: number; server?: CheckServerKind }): Promise<AuthzServer> {
  const handler = createAuthzHandler(opts);
  if (opts.server === 'node') {
    // Checks read no body: a short request timeout (authz-http1.ts uses the same three).
    return serveHttp((req, res) => handler(req, new NodeResponder(res)), { keepAliveTimeout: IDLE_TIMEOUT_MS, headersTimeout: HEAD_TIMEOUT_MS, requestTimeout: HEAD_TIMEOUT_MS }, opts, 9191);
  }
  return serveChecks(handler, opts, 9191);
}
