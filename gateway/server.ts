// The data-plane HTTP server: route, enforce, forward, account.
//
// Per request:
//   1. take the config in force once (a swap during the request does not
//      affect it);
//   2. route by host and longest basePath (404 problem when none);
//   3. CORS first when the route has a CORS policy: a preflight runs only
//      the policies marked `preflight` (IP lists, limits) and is answered
//      here (204 or 403); other requests get their CORS headers decided;
//   4. the route's policies in order (decision.ts checkRoute, the one path
//      the decision service runs too; a withheld route answers 503); the
//      first refusal answers (a problem with CORS and RateLimit headers);
//   5. forward to the upstream (undici pool), stream the answer back;
//   6. on close: metrics (per API, client, status class), the recent window,
//      one access-log line (no headers, no query string).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledConfig, CompiledRoute } from './compiled.ts';
import { hostOf } from './compiled.ts';
import type { GatewayMetrics } from './metrics.ts';
import { actualRequestHeaders, evaluatePreflight, isPreflight, preflightRefusal } from './policies/cors.ts';
import { headerValue, newContext, type Outcome, type PolicyContext } from './policies/types.ts';
import { checkRoute, hasDotSegments } from './decision.ts';
import { refusals, sendProblem, type Refusal } from './problem.ts';
import { forward, gatewayResponseHeaders, hasRequestBody, isHeaderError, type Upstreams } from './proxy.ts';
import { connectionClientKey, NO_TRUSTED_PROXIES, type TrustedProxies } from './client-address.ts';
import type { Socket } from 'node:net';
import { serveHttp, type HttpServer } from './http-server.ts';

export interface ConfigHolder {
  readonly current: CompiledConfig | undefined;
}

export interface GatewayHandlerOptions {
  config: ConfigHolder;
  upstreams: Upstreams;
  metrics: GatewayMetrics;
  logger: Logger;
  /** One info line per request (fixed fields only, see logger.ts); none when absent. */
  accessLog?: Logger;
  /** Proxies whose forwarding headers are believed; none when absent. */
  trustedProxies?: TrustedProxies;
  now?: () => number;
}

export { hasDotSegments } from './decision.ts';

/**
 * Answers a request whose handling threw (typically a header Node refuses to write: CR/LF, a
 * control character, a bad name from a policy or a CORS list): a 502 or 500 problem for this
 * request and an error line, so no single request can take the process down.
 */
export function answerFailure(res: ServerResponse, err: unknown, logger: Logger, routeId: string | undefined): void {
  const header = isHeaderError(err);
  logger.error({ route: routeId, err: err instanceof Error ? err.message : String(err) }, header ? 'header could not be sent; answered 502' : 'request handling failed; answered 500');
  if (res.headersSent) return void res.destroy();
  // Headers half-stored by the failed write must not ride on the problem.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  try {
    sendProblem(res, header ? refusals.invalidHeader() : refusals.internal());
  } catch {
    res.destroy();
  }
}

export function createGatewayHandler(opts: GatewayHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, upstreams, metrics, logger } = opts;
  const accessLog = opts.accessLog;
  const now = opts.now ?? Date.now;
  const trusted = opts.trustedProxies ?? NO_TRUSTED_PROXIES;

  const handle = function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const cfg = config.current;
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    let path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = q < 0 ? '' : rawUrl.slice(q + 1);
    let route: CompiledRoute | undefined;
    let ctx: PolicyContext | undefined;

    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
      const api = route?.id ?? '-'; // '-': no route matched (404) or no config yet
      metrics.observe(api, ctx?.client, status, seconds, now());
      if (accessLog) {
        accessLog.info(
          { method, path, route: route?.id, client: ctx?.client, keyId: ctx?.keyId, status, ms: Math.round(seconds * 10000) / 10, generation: cfg?.generation },
          'request',
        );
      }
    });

    const refuse = (r: Refusal): void => {
      if (route && r.policy) metrics.violation(route.id, r.policy);
      if (res.headersSent) return;
      // A refused request's body is never read: close after the answer rather than drain what a client may trickle for ever.
      if (hasRequestBody(req)) res.shouldKeepAlive = false;
      try {
        sendProblem(res, r, gatewayResponseHeaders(ctx));
      } catch (err) {
        answerFailure(res, err, logger, route?.id);
      }
    };

    if (!cfg) return refuse(refusals.noConfig());
    if (path.charCodeAt(0) !== 47) {
      // absolute-form (proxy style) or "*": take the path of an absolute URL, refuse the rest.
      try {
        path = new URL(path).pathname;
      } catch {
        return refuse(refusals.notFound());
      }
    }
    if (hasDotSegments(path)) return refuse(refusals.badPath());
    route = cfg.routes.router.match(hostOf(req.headers.host), path);
    if (!route) return refuse(refusals.notFound());
    const r = route;
    const c = (ctx = newContext({
      method,
      headers: req.headers,
      path,
      query,
      remoteAddress: req.socket.remoteAddress ?? '',
      peerTrusted: trusted.peerTrusted(req.socket.remoteAddress ?? ''),
      now: now(),
      routeId: r.id,
      credentials: cfg.credentials,
    }));

    let preflight = false;
    if (r.cors) {
      const origin = headerValue(req.headers, 'origin');
      const acrm = headerValue(req.headers, 'access-control-request-method');
      if (isPreflight(method, origin, acrm)) preflight = true;
      else c.corsHeaders = actualRequestHeaders(r.cors, origin);
    }

    const proceed = (o: Outcome): void => {
      if (o) return refuse(o);
      if (preflight) {
        const d = evaluatePreflight(r.cors!, headerValue(req.headers, 'origin')!, headerValue(req.headers, 'access-control-request-method')!, headerValue(req.headers, 'access-control-request-headers'));
        if (!d.ok) {
          if (logger.isLevelEnabled('debug')) logger.debug({ route: r.id, reason: d.reason }, 'cors preflight refused');
          return refuse(preflightRefusal(d.reason));
        }
        res.writeHead(204, { ...d.headers, 'content-length': '0' });
        res.end();
        return;
      }
      forward(req, res, r, c, upstreams, {
        onFailure(kind, refusal, err) {
          metrics.upstreamErrors.labels(r.id, kind).inc();
          logger.warn({ route: r.id, upstream: r.upstream.origin, kind, err: err instanceof Error ? err.message : String(err) }, 'upstream failed');
          refuse(refusal);
        },
        onBrokenResponse(err) {
          metrics.upstreamErrors.labels(r.id, 'reset').inc();
          logger.warn({ route: r.id, err: err instanceof Error ? err.message : String(err) }, 'response stream broken');
        },
      });
    };

    const fail = (err: unknown): void => {
      logger.error({ route: r.id, err: err instanceof Error ? err.message : String(err) }, 'policy failed');
      refuse(refusals.internal());
    };

    let outcome: Outcome | Promise<Outcome>;
    try {
      outcome = checkRoute(r, c, preflight);
    } catch (err) {
      return fail(err);
    }
    if (outcome instanceof Promise) outcome.then(proceed, fail).catch((err: unknown) => answerFailure(res, err, logger, r.id));
    else proceed(outcome);
  };

  // A synchronous throw in a request listener would be an uncaught exception: the process would exit.
  return function guarded(req: IncomingMessage, res: ServerResponse): void {
    try {
      handle(req, res);
    } catch (err) {
      answerFailure(res, err, logger, undefined);
    }
  };
}

export type GatewayServer = HttpServer;

/** How long a client may take to send what it sends (docs/gateway.md, "Hostile clients"). */
export interface ClientTimeouts {
  /** To send a request's head; default 66 s (or the request timeout when that is shorter). */
  headersTimeoutMs?: number;
  /** To send a whole request, head and body (the answer is not counted: it streams as long as it must); default 300 s. */
  requestTimeoutMs?: number;
  /** Connections open at once from one client address (an IPv6 /64), trusted proxies not counted; default 1024, 0: no limit. */
  maxConnectionsPerClient?: number;
}

// Above what a proxy not listed as trusted keeps open (ingress-nginx: 320 keep-alive connections per worker), far below a descriptor limit.
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 1024;

const TOO_MANY_CONNECTIONS = (max: number): string => {
  const body = `too many connections from this address: at most ${max} at a time\n`;
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`;
};

/**
 * Open connections per client address (an IPv6 /64): one client cannot take every descriptor of the shared gateway;
 * over `max`, a new connection is answered 503 and closed. Trusted proxies (CROSSGATE_TRUSTED_PROXIES) carry many
 * clients' connections and are not counted. One map entry per address with a connection open.
 */
export class ConnectionsPerClient {
  readonly max: number;
  readonly #open = new Map<string, number>();
  readonly #refusal: string;
  readonly #trusted: TrustedProxies;
  readonly #onRefused: () => void;

  constructor(max: number, trusted: TrustedProxies, onRefused: () => void = () => undefined) {
    this.max = max;
    this.#trusted = trusted;
    this.#onRefused = onRefused;
    this.#refusal = TOO_MANY_CONNECTIONS(max);
  }

  /** The server's 'connection' listener. */
  readonly admit = (socket: Socket): void => {
    const remote = socket.remoteAddress ?? '';
    if (this.#trusted.peerTrusted(remote)) return;
    const key = connectionClientKey(remote) ?? remote;
    const n = this.#open.get(key) ?? 0;
    if (n >= this.max) {
      this.#onRefused();
      socket.end(this.#refusal);
      return;
    }
    this.#open.set(key, n + 1);
    socket.once('close', () => {
      const left = (this.#open.get(key) ?? 1) - 1;
      if (left <= 0) this.#open.delete(key);
      else this.#open.set(key, left);
    });
  };

  /** Connections open from the client of `remoteAddress` (tests). */
  openFrom(remoteAddress: string): number {
    return this.#open.get(connectionClientKey(remoteAddress) ?? remoteAddress) ?? 0;
  }
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 66_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

export async function startGatewayServer(opts: GatewayHandlerOptions & { host?: string; port?: number; clients?: ClientTimeouts }): Promise<GatewayServer> {
  const requestTimeout = opts.clients?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // A request timeout set shorter than the default head timeout brings the head timeout down with it.
  const headersTimeout = opts.clients?.headersTimeoutMs ?? Math.min(DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout);
  if (requestTimeout < headersTimeout) throw new Error(`the request timeout (${requestTimeout} ms) must not be shorter than the headers timeout (${headersTimeout} ms)`);
  const handler = createGatewayHandler(opts);
  // Node checks both timeouts on an interval (30 s by default): a quarter of the shorter one keeps the overshoot small.
  const connectionsCheckingInterval = Math.max(100, Math.min(5000, Math.floor(headersTimeout / 4)));
  const served = await serveHttp(handler, { keepAliveTimeout: 65_000, headersTimeout, requestTimeout, connectionsCheckingInterval }, opts, 8080);
  // No automatic 100 Continue: a body is invited only once the route's policies passed (proxy.ts forward).
  served.server.on('checkContinue', handler);
  const max = opts.clients?.maxConnectionsPerClient ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
  if (max > 0) served.server.on('connection', new ConnectionsPerClient(max, opts.trustedProxies ?? NO_TRUSTED_PROXIES, () => opts.metrics.clientConnectionsRefused.inc()).admit);
  return served;
}
