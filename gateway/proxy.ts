// Forwarding to upstreams with undici: one keep-alive Pool per namespace and
// upstream origin (an organization's hung upstream never holds the sockets of
// another's routes to the same origin), bodies streamed both ways (never buffered), hop-by-hop headers
// stripped, X-Forwarded-For/-Proto/-Host added, the route's timeout as
// undici's headers and body timeouts.
//
// Failures before the upstream answered become problems: a timeout → 504,
// anything else (refused, reset, DNS) → 502, an address the connect guard
// refuses (connect-guard.ts: loopback, link-local, the gateway's own ports) →
// 502 upstream-not-allowed. A header that cannot be sent (undici refusing a
// request header, writeHead refusing a response header, an upstream answer
// that is not valid HTTP) → 502 for that request only: one route's bad header
// never takes the process down. A failure after the response started can only
// cut the connection.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { HOP_BY_HOP_HEADERS } from '../api/headers.ts';
import { poolScope, type CompiledRoute } from './compiled.ts';
import { UPSTREAM_REFUSED, type ConnectGuard } from '../kube/connect-guard.ts';
import { applyOps } from './policies/header-injection.ts';
import { rateLimitHeaders } from './policies/limits.ts';
import type { PolicyContext } from './policies/types.ts';
import { refusals, type Refusal } from './problem.ts';
import { queryPair } from './query.ts';
import { CLIENT_HEADER } from './decision.ts';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP_HEADERS);

/** Request headers the gateway never forwards as received. */
const NOT_FORWARDED = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

export { CLIENT_HEADER };

export interface UpstreamsOptions {
  /** Connections per pool (one namespace's routes to one origin); default 256. */
  connections?: number;
  /** Idle keep-alive sockets are closed after this long; default 30 s. */
  keepAliveTimeoutMs?: number;
  /** TCP connect timeout; default 10 s. */
  connectTimeoutMs?: number;
  /** Checks every resolved address before connecting; without it (unit tests of forwarding only) nothing is checked. */
  guard?: ConnectGuard;
}

export class Upstreams {
  #pools = new Map<string, Pool>();
  #opts: UpstreamsOptions;

  constructor(opts: UpstreamsOptions = {}) {
    this.#opts = opts;
  }

  /** The pool of `key` (CompiledUpstream.pool), connecting to `origin`. */
  pool(key: string, origin: string): Pool {
    let p = this.#pools.get(key);
    if (!p) {
      p = new Pool(origin, {
        connections: this.#opts.connections ?? 256,
        keepAliveTimeout: this.#opts.keepAliveTimeoutMs ?? 30_000,
        // The pool's namespace is the scope of its lookups: one organization's slow names queue behind each other only.
        connect: this.#opts.guard ? this.#opts.guard.connector({ timeoutMs: this.#opts.connectTimeoutMs, scope: poolScope(key) }) : { timeout: this.#opts.connectTimeoutMs ?? 10_000 },
        pipelining: 1,
      });
      this.#pools.set(key, p);
    }
    return p;
  }

  /** Closes (after their in-flight requests) the pools no config uses any more. */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, p] of this.#pools) {
      if (keys.has(key)) continue;
      this.#pools.delete(key);
      void p.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy().catch(() => undefined))));
  }
}

/** The part of a raw path after the route's basePath segments ("" or starting with "/"). */
export function remainderAfter(path: string, baseSegments: readonly string[]): string {
  let i = 0;
  for (const seg of baseSegments) {
    while (path.charCodeAt(i) === 47) i++;
    i += seg.length;
  }
  return path.slice(i);
}

/** The upstream request path: upstream basePath + remainder, and the query minus stripped parameters. */
export function upstreamPath(upstreamBase: string, remainder: string, query: string, stripQuery: readonly string[] | undefined): string {
  let p = upstreamBase + remainder;
  if (p === '') p = '/';
  else if (p.charCodeAt(0) !== 47) p = '/' + p;
  if (!query) return p;
  if (!stripQuery) return `${p}?${query}`;
  const kept = query.split('&').filter((pair) => {
    const { name } = queryPair(pair);
    return name === undefined || !stripQuery.includes(name);
  });
  return kept.length ? `${p}?${kept.join('&')}` : p;
}

/** Peer address without the IPv4-mapped prefix. */
export function plainAddress(remote: string): string {
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const s = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) for (const t of v.split(',')) if (t.trim()) s.add(t.trim().toLowerCase());
  return s;
}

/** Headers sent upstream (pure apart from reading the request). */
export function upstreamRequestHeaders(req: IncomingMessage, ctx: PolicyContext, hasBody: boolean): Record<string, string | string[]> {
  const src = req.headers;
  const listed = connectionListed(src.connection);
  const strip = ctx.stripHeaders;
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    const v = src[name];
    if (v === undefined) continue;
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name)) continue;
    if (listed?.has(name)) continue;
    if (strip && strip.includes(name)) continue;
    if (name.startsWith('x-crossgate-')) continue; // only the gateway sets these
    // Forwarding headers are a proxy's words: believed, and passed on, only from a trusted proxy.
    if ((name === 'forwarded' || name.startsWith('x-forwarded-')) && !ctx.peerTrusted) continue;
    out[name] = v;
  }
  if (!hasBody) delete out['content-length'];
  // Policies first, then the gateway's own headers: no op can overwrite identity or forwarding.
  applyOps(out, ctx.requestOps);
  const addr = plainAddress(ctx.remoteAddress);
  // The chain a client sent is kept only behind a trusted proxy; otherwise it is the client's own words.
  const xff = ctx.peerTrusted ? src['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${addr}` : addr;
  const first = (v: string | string[] | undefined) => (ctx.peerTrusted ? (Array.isArray(v) ? v[0] : v) : undefined);
  out['x-forwarded-proto'] = first(src['x-forwarded-proto']) ?? 'http';
  const host = first(src['x-forwarded-host']) ?? src.host;
  if (host) out['x-forwarded-host'] = host;
  if (ctx.client) out[CLIENT_HEADER] = ctx.client;
  return out;
}

/** Headers the gateway adds to every response of a route: CORS and RateLimit. */
export function gatewayResponseHeaders(ctx: PolicyContext | undefined): OutgoingHttpHeaders | undefined {
  if (!ctx) return undefined;
  if (!ctx.corsHeaders && !ctx.rateLimits) return undefined;
  const h: OutgoingHttpHeaders = { ...ctx.corsHeaders };
  if (ctx.rateLimits?.length) Object.assign(h, rateLimitHeaders(ctx.rateLimits));
  return h;
}

/** Upstream response headers → client: hop-by-hop dropped, injection applied, then the gateway's own headers. */
export function downstreamHeaders(upstream: Record<string, string | string[] | undefined>, ctx: PolicyContext): OutgoingHttpHeaders {
  const listed = connectionListed(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = v;
  }
  applyOps(out, ctx.responseOps);
  const own = gatewayResponseHeaders(ctx);
  if (own) {
    for (const name in own) {
      if (name === 'vary' && out.vary) out.vary = `${Array.isArray(out.vary) ? out.vary.join(', ') : out.vary}, ${own.vary as string}`;
      else out[name] = own[name] as string;
    }
  }
  return out;
}

/** `header`: a request or response header could not be sent; `protocol`: the upstream's answer is not valid HTTP; `not-allowed`: the connect guard refused the address. */
export type UpstreamFailure = 'timeout' | 'connect' | 'reset' | 'header' | 'protocol' | 'not-allowed';

/** Node's codes for a header name or value writeHead/setHeader refuses. */
const HEADER_ERROR_CODES = new Set(['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE']);

export function isHeaderError(err: unknown): boolean {
  return HEADER_ERROR_CODES.has((err as { code?: string })?.code ?? '');
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: string })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  if (code === UPSTREAM_REFUSED) return 'not-allowed';
  // undici refuses a request it cannot write (a header name or value with CR/LF, a control character).
  if (code === 'UND_ERR_INVALID_ARG' || isHeaderError(err)) return 'header';
  if ((err as { name?: string })?.name === 'HTTPParserError') return 'protocol';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect';
  return 'reset';
}

export interface ForwardHooks {
  /** The upstream failed before answering; the caller sends the refusal. */
  onFailure(kind: UpstreamFailure, refusal: Refusal, err: unknown): void;
  /** The response failed after it started (connection cut). */
  onBrokenResponse(err: unknown): void;
}

/** Drops an upstream body unread. undici's body reports destroy() as an "aborted" error event: without a listener that is an uncaught exception. */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => undefined);
  body.destroy();
}

function failureRefusal(kind: UpstreamFailure, timeoutMs: number): Refusal {
  if (kind === 'timeout') return refusals.upstreamTimeout(timeoutMs);
  if (kind === 'header') return refusals.invalidHeader();
  if (kind === 'protocol') return refusals.upstreamInvalidResponse();
  if (kind === 'not-allowed') return refusals.upstreamNotAllowed();
  return refusals.upstreamUnavailable();
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/** Forwards the request; the response (or a failure hook) follows. */
export function forward(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, ctx: PolicyContext, upstreams: Upstreams, hooks: ForwardHooks): void {
  const up = route.upstream;
  const hasBody = hasRequestBody(req);
  const path = upstreamPath(up.basePath, remainderAfter(ctx.path, route.baseSegments), ctx.query, ctx.stripQuery);
  const ac = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.once('close', onClose);
  const opts: Dispatcher.RequestOptions = {
    path,
    method: req.method as Dispatcher.HttpMethod,
    headers: upstreamRequestHeaders(req, ctx, hasBody),
    body: hasBody ? req : null,
    headersTimeout: up.timeoutMs,
    bodyTimeout: up.timeoutMs,
    signal: ac.signal,
  };
  // The client held its body back for a 100 (server.ts checkContinue): only a request that passed every policy gets one.
  if (req.headers.expect !== undefined && req.headers.expect.toLowerCase() === '100-continue') res.writeContinue();
  upstreams.pool(up.pool, up.origin).request(opts).then(
    (r) => {
      if (res.destroyed) return discard(r.body);
      try {
        res.writeHead(r.statusCode, downstreamHeaders(r.headers, ctx));
      } catch (err) {
        // A response header Node refuses (from a policy op or the upstream): this request gets a 502, nothing else is affected.
        discard(r.body);
        hooks.onFailure('header', refusals.invalidHeader(), err);
        return;
      }
      // pipe() rather than stream.pipeline(): pipeline allocates an AbortController and aborts it
      // (a DOMException) on every response (docs/gateway.md, "Hot spots found and fixed").
      // A client that goes away aborts the upstream request through `ac` (onClose above).
      r.body.once('error', (err: Error) => {
        if (!ac.signal.aborted) hooks.onBrokenResponse(err);
        res.destroy();
      });
      r.body.pipe(res);
    },
    (err: unknown) => {
      if (ac.signal.aborted || res.destroyed) return; // the client went away first
      const kind = classifyUpstreamError(err);
      hooks.onFailure(kind, failureRefusal(kind, up.timeoutMs), err);
    },
  ).catch((err: unknown) => {
    // Whatever else throws while answering must not become an unhandled rejection (the process would exit).
    if (!res.headersSent) hooks.onFailure('reset', refusals.upstreamUnavailable(), err);
    else {
      hooks.onBrokenResponse(err);
      res.destroy();
    }
  });
}
