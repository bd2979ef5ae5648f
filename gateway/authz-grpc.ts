// crossgate-authz's gRPC listener: Envoy's external authorization API,
// `envoy.service.auth.v3.Authorization/Check` (unary), over HTTP/2 only (h2c,
// or TLS when a certificate is given), answered from the same compiled config
// through decide() as the HTTP checks (authz.ts).
//
// The caller (Envoy) authenticates one of two ways, chosen at start:
//   mtls   TLS with a client CA: the handshake refuses a peer without a
//          certificate that CA signed. With an allow-list of client SANs
//          (--grpc-client-san: DNS names, or URIs such as Envoy's SPIFFE id),
//          a certificate naming none of them is refused PERMISSION_DENIED
//          (counted in crossgate_authz_grpc_callers_refused_total); without
//          one, any certificate of that CA passes.
//          What Envoy Gateway can do (EnvoyProxy spec.backendTLS.clientCertificateRef):
//          its SecurityPolicy extAuth has no way to add a static token.
//   token  `authorization: Bearer <token>` in the call's metadata, the same
//          TokenFile as the HTTP mode, compared in constant time (Envoy's
//          GrpcService.initial_metadata sets it in a hand-written Envoy config).
// A caller that fails → grpc-status UNAUTHENTICATED (16) (PERMISSION_DENIED
// (7) for a certificate not on the SAN allow-list) and nothing of the
// request is read.
//
// The route comes only from context_extensions["crossgate-route"], which Envoy
// sets from the SecurityPolicy and a client cannot: without it the check is
// denied. A SecurityPolicy is not always crossgate's (an organization may
// write its own on its own HTTPRoute naming another's route), so the request
// must lie in the named route's space: attributes.request.http.host (the
// authority Envoy routed on) one of the route's hosts and the path under its
// base path (decision.ts), else 421/404 and no dynamic_metadata. The client address is attributes.source's socket address through
// the trusted-proxy rules (authz.ts clientOf, as the HTTP mode).
//
// Answers (grpc-status 0, a CheckResponse):
//   allow → status OK, ok_response: headers to set upstream (x-crossgate-client,
//     header-injection's sets; OVERWRITE_IF_EXISTS_OR_ADD), headers_to_remove
//     (the consumed key or secret; x-crossgate-client when there is no client,
//     so a client's own never reaches the upstream), response_headers_to_add
//     (RateLimit, RateLimit-Policy).
//   deny → status with the google.rpc code of the HTTP status (401
//     UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED, …),
//     denied_response: that HTTP status, Retry-After/RateLimit/WWW-Authenticate,
//     content-type application/problem+json and the RFC 9457 body.
// Errors of the call itself: not POST → HTTP 405; not application/grpc →
// HTTP 415; another method → UNIMPLEMENTED; a compressed message →
// UNIMPLEMENTED; over MAX_MESSAGE bytes → RESOURCE_EXHAUSTED; not exactly one
// well-formed CheckRequest → INVALID_ARGUMENT; a failure → INTERNAL.
//
// Analytics: every answer with a route also carries dynamic_metadata (the
// route and the client decided, authz-als.ts checkMetadata), which Envoy logs;
// the same listener serves Envoy's access-log service
// (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs, authz-als.ts)
// after the same caller authentication, and records what it logs.
import { constants, createSecureServer, createServer, type Http2Server, type Http2Session, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { readFileSync, statSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { metricsIn } from '../kube/metrics.ts';
import { bind } from '../kube/listen.ts';
import { ALS_PATH, checkMetadata, createAlsCall, IDLE_MS } from './authz-als.ts';
import { HEAD_TIMEOUT_MS, IDLE_TIMEOUT_MS } from './authz-http1.ts';
import { clientOf, HostCache, problemBody, refusalHeaders, validRequestLine, type TokenFile } from './authz.ts';
import { decodeCheckRequest, encodeCheckResponse, GrpcCode, ProtoError, type CheckRequest, type CheckResponse } from './authz-grpc-proto.ts';
import { CLIENT_HEADER, decide, type Decision, type DecisionRequest } from './decision.ts';
import type { TrustedProxies } from './client-address.ts';
import type { ConfigHolder } from './server.ts';
import type { GatewayMetrics } from './metrics.ts';

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
/** The context extension naming the route (operator/controllers/gatewayroute-desired.ts renders it). */
export const ROUTE_EXTENSION = 'crossgate-route';
/** A CheckRequest larger than this is refused (no body is sent to authz: headers only). */
export const MAX_MESSAGE = 64 * 1024;

export { GrpcCode };

/** The google.rpc code that goes with a refusal's HTTP status in CheckResponse.status. */
export function rpcCodeOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INVALID_ARGUMENT;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 404:
      return GrpcCode.NOT_FOUND;
    case 429:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 500:
      return GrpcCode.INTERNAL;
    case 503:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.PERMISSION_DENIED;
  }
}

/**
 * The CheckResponse for a decision on `routeId`: its dynamic_metadata names the route and the client for the
 * access log, only when the request was judged by the route (ctx set: it lay in the route's space), so traffic
 * a route was named for by mistake or malice is never counted as that route's.
 */
export function checkResponseOf(d: Decision, routeId: string): CheckResponse {
  const dynamicMetadata = d.ctx ? checkMetadata(routeId, d.ctx.client) : undefined;
  if (d.allow) {
    const remove = [...d.remove];
    // No identity to set: a client's own x-crossgate-client must not pass for authz's word.
    if (d.add[CLIENT_HEADER] === undefined && !remove.includes(CLIENT_HEADER)) remove.push(CLIENT_HEADER);
    return {
      status: { code: GrpcCode.OK },
      ok: { headers: Object.entries(d.add), headersToRemove: remove, responseHeadersToAdd: Object.entries(d.responseHeaders), queryParametersToRemove: d.removeQuery },
      dynamicMetadata,
    };
  }
  const r = d.refusal;
  const headers = Object.entries(refusalHeaders(d));
  headers.push(['content-type', 'application/problem+json'], ['cache-control', 'no-store']);
  return { status: { code: rpcCodeOf(r.status), message: r.title }, denied: { httpStatus: r.status, headers, body: problemBody(r.status, r.slug, r.title, r.detail) }, dynamicMetadata };
}

/** A deny decided here, before decide() (no route, a malformed request line). */
function denied(status: number, slug: string, title: string, detail: string): CheckResponse {
  return {
    status: { code: rpcCodeOf(status), message: title },
    denied: {
      httpStatus: status,
      headers: [
        ['content-type', 'application/problem+json'],
        ['cache-control', 'no-store'],
      ],
      body: problemBody(status, slug, title, detail),
    },
  };
}

/** What decide() is asked for a CheckRequest; a CheckResponse instead when the request cannot be checked. `hosts` remembers normalized hosts. */
export function decisionInput(req: CheckRequest, trusted: TrustedProxies, now: number, hosts: HostCache = new HostCache()): { routeId: string; input: DecisionRequest } | CheckResponse {
  const routeId = req.contextExtensions[ROUTE_EXTENSION];
  if (!routeId) return denied(403, 'no-route', 'Forbidden', `The check names no route: the proxy sets context extension ${ROUTE_EXTENSION}.`);
  // The authority Envoy routed on (http.host), not a header a client may add beside it.
  const host = req.host || req.headers[':authority'] || '';
  if (!validRequestLine(req.method, req.path) || !host) return denied(400, 'bad-check', 'Bad Request', 'The check carries no valid method, path and host.');
  const q = req.path.indexOf('?');
  const headers: IncomingHttpHeaders = req.headers;
  if (headers.host === undefined) headers.host = host;
  return {
    routeId,
    input: {
      method: req.method,
      host: hosts.of(host),
      path: q < 0 ? req.path : req.path.slice(0, q),
      query: q < 0 ? '' : req.path.slice(q + 1),
      headers,
      ...clientOf(req.sourceAddress, headers['x-forwarded-for'], trusted),
      now,
      // Envoy drops the query parameters ok_response names (query_parameters_to_remove).
      removesQuery: true,
    },
  };
}

/** The 5-byte gRPC message prefix + payload. */
export function frame(payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** grpc-message is percent-encoded (gRPC over HTTP/2): everything outside printable ASCII, and "%". */
function grpcMessage(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/g, (c) => encodeURIComponent(c));
}

export type GrpcAuth = { kind: 'token'; token: Pick<TokenFile, 'matches'> } | { kind: 'mtls' };

/** At most this many allowed client SANs, each at most MAX_SAN characters. */
export const MAX_CLIENT_SANS = 32;
export const MAX_SAN = 512;

/** One subjectAltName entry of a certificate: its type (DNS, URI, IP Address, email…) and value. */
export interface San {
  type: string;
  value: string;
}

/**
 * Node's subjectaltname text ("DNS:a, URI:spiffe://x/y, IP Address:1.2.3.4")
 * as entries. A value Node quotes (it holds a comma, quote or other special
 * character) is a JSON string, read as one; what cannot be read ends the list
 * (a caller is then simply not found on the allow-list).
 */
export function parseSubjectAltName(text: string | undefined): San[] {
  const out: San[] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text.charCodeAt(colon + 1) === 34 /* " */) {
      let j = colon + 2;
      while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        break;
      }
      next = j + 1;
    } else {
      const comma = text.indexOf(', ', colon + 1);
      next = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, next);
    }
    out.push({ type, value });
    if (next < text.length && !text.startsWith(', ', next)) break;
    i = next + 2;
  }
  return out;
}

/**
 * The client certificates allowed to call over mTLS, by SAN: an entry with
 * "://" is matched exactly against the certificate's URI SANs (Envoy's SPIFFE
 * id, spiffe://…), any other against its DNS SANs (case-insensitive). The
 * subject's CN is never read: SANs are what a CA vouches for.
 */
export class ClientSanAllowList {
  readonly #dns = new Set<string>();
  readonly #uri = new Set<string>();

  constructor(entries: readonly string[]) {
    if (entries.length === 0) throw new Error('the client SAN allow-list is empty: leave it out to accept every certificate of the client CA');
    if (entries.length > MAX_CLIENT_SANS) throw new Error(`at most ${MAX_CLIENT_SANS} allowed client SANs, got ${entries.length}`);
    for (const e of entries) {
      if (e.length === 0 || e.length > MAX_SAN || !/^[\x21-\x7e]+$/.test(e) || e.includes(',')) {
        throw new Error(`allowed client SAN ${JSON.stringify(e.slice(0, 64))}: 1 to ${MAX_SAN} printable ASCII characters, no space or comma`);
      }
      if (e.includes('://')) this.#uri.add(e);
      else this.#dns.add(e.toLowerCase());
    }
  }

  /** Whether a certificate with these SANs (Node's subjectaltname text) is allowed. */
  allows(subjectAltName: string | undefined): boolean {
    for (const san of parseSubjectAltName(subjectAltName)) {
      if (san.type === 'URI' && this.#uri.has(san.value)) return true;
      if (san.type === 'DNS' && this.#dns.has(san.value.toLowerCase())) return true;
    }
    return false;
  }
}

export interface GrpcTls {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this CA (mTLS): the caller's authentication. */
  clientCaFile?: string;
  /** With clientCaFile: the client certificate must also name one of these (DNS or URI SANs, ClientSanAllowList). */
  allowedClientSans?: readonly string[];
  /** How often the files are checked for a rotated certificate (default 60 s). */
  reloadMs?: number;
}

export interface AuthzGrpcOptions {
  config: ConfigHolder;
  /** The gateway's own host names, for routes without hostnames (authz.ts AuthzHandlerOptions.sharedHosts). */
  sharedHosts?: readonly string[];
  auth: GrpcAuth;
  trustedProxies: TrustedProxies;
  logger: Logger;
  tls?: GrpcTls;
  host?: string;
  port?: number;
  /** Policy refusals are counted at decision time, as in authz.ts; Envoy's access log recorded (authz-als.ts); refused callers in its registry. */
  metrics?: Pick<GatewayMetrics, 'violation' | 'observe'> & { registry?: Registry };
  now?: () => number;
  /** A connection without an authenticated call this long after it opened is closed (default HEAD_TIMEOUT_MS, 10 s). */
  unauthenticatedMs?: number;
  /** A connection without a call in flight this long is closed (default IDLE_TIMEOUT_MS, 65 s; an open access-log stream is a call). */
  idleMs?: number;
}

/** Why a caller was refused, for the counter. */
export type CallerRefusal = 'token' | 'client_san';

export interface CheckHandlerOptions extends Omit<AuthzGrpcOptions, 'tls' | 'host' | 'port'> {
  /** mTLS only: the client certificates allowed besides being signed by the client CA. */
  callers?: ClientSanAllowList;
  /** Counts a refused caller. */
  refused?: (reason: CallerRefusal) => void;
  /** A call of this session passed the caller's authentication (the listener keeps such sessions past the first seconds). */
  authenticated?: (session: Http2Session | undefined) => void;
}

export interface AuthzGrpcServer {
  url: string;
  host: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}

/** The handler of one HTTP/2 stream: one Check call. */
export function createCheckHandler(opts: CheckHandlerOptions): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const { config, auth, trustedProxies, logger, metrics, callers, refused, authenticated } = opts;
  const sharedHosts = opts.sharedHosts ?? [];
  const hosts = new HostCache();
  const now = opts.now ?? Date.now;
  // The certificate of a connection does not change: its verdict is kept per session.
  const sessionAllowed = new WeakMap<Http2Session, boolean>();
  const callerAllowed = (session: Http2Session | undefined): boolean => {
    if (!callers) return true;
    if (!session) return false;
    let ok = sessionAllowed.get(session);
    if (ok === undefined) {
      const cert = (session.socket as TLSSocket | undefined)?.getPeerCertificate?.();
      ok = callers.allows(cert?.subjectaltname);
      sessionAllowed.set(session, ok);
      if (!ok) logger.warn({ subjectAltName: (cert?.subjectaltname ?? '').slice(0, 512) }, 'grpc caller refused: its client certificate names no allowed SAN');
    }
    return ok;
  };

  const end = (stream: ServerHttp2Stream, code: number, message: string): void => {
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      // Already answering: finish with the error trailers.
      return void stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': grpcMessage(message) }, { endStream: true });
  };

  /** grpc-status OK with one message: a CheckResponse, or an encoded one (the access log's empty response). */
  const reply = (stream: ServerHttp2Stream, res: CheckResponse | Buffer): void => {
    if (stream.destroyed || stream.closed) return;
    const body = frame(Buffer.isBuffer(res) ? res : encodeCheckResponse(res));
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'identity' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(body);
  };

  const check = (stream: ServerHttp2Stream, body: Buffer, t: number): void => {
    if (body.length < 5) return end(stream, GrpcCode.INVALID_ARGUMENT, 'expected one message');
    if (body[0] !== 0) return end(stream, GrpcCode.UNIMPLEMENTED, 'compressed messages are not accepted');
    if (body.readUInt32BE(1) !== body.length - 5) return end(stream, GrpcCode.INVALID_ARGUMENT, 'expected exactly one message');
    let req: CheckRequest;
    try {
      req = decodeCheckRequest(body.subarray(5));
    } catch (err) {
      if (err instanceof ProtoError) return end(stream, err.message.startsWith('more than') ? GrpcCode.RESOURCE_EXHAUSTED : GrpcCode.INVALID_ARGUMENT, `not a CheckRequest: ${err.message}`);
      throw err;
    }
    const asked = decisionInput(req, trustedProxies, t, hosts);
    if (!('routeId' in asked)) return reply(stream, asked);
    const d = decide(config.current, asked.routeId, asked.input, logger, sharedHosts);
    const send = (x: Decision): void => {
      if (logger.isLevelEnabled('debug')) logger.debug({ route: asked.routeId, mode: 'grpc', allow: x.allow, status: x.allow ? 200 : x.refusal.status, client: x.ctx?.client }, 'check');
      if (!x.allow && x.refusal.policy) metrics?.violation(asked.routeId, x.refusal.policy, t);
      reply(stream, checkResponseOf(x, asked.routeId));
    };
    if (d instanceof Promise) d.then(send).catch((err: unknown) => fail(stream, err));
    else send(d);
  };

  const fail = (stream: ServerHttp2Stream, err: unknown): void => {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'grpc check failed; answered INTERNAL');
    try {
      end(stream, GrpcCode.INTERNAL, 'the check failed');
    } catch {
      stream.destroy();
    }
  };

  const als = metrics ? createAlsCall({ config, metrics, logger, now }, { end, ok: (stream, payload) => reply(stream, payload) }) : undefined;

  const handle = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    // A Check is answered at once; an access-log stream stays open while Envoy has entries to send.
    stream.setTimeout(headers[':path'] === ALS_PATH ? IDLE_MS : 10_000, () => stream.close(constants.NGHTTP2_CANCEL));
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    const ct = headers['content-type'];
    if (typeof ct !== 'string' || !/^application\/grpc(?:$|[+;])/.test(ct)) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const t = now();
    // Nothing but the caller's credential is read before the caller is known to be the proxy.
    if (auth.kind === 'token') {
      const a = headers.authorization;
      const m = typeof a === 'string' ? /^Bearer ([\x21-\x7e]+)$/.exec(a) : null;
      if (!auth.token.matches(m?.[1], t)) {
        refused?.('token');
        return end(stream, GrpcCode.UNAUTHENTICATED, "calls need the proxy's token in the authorization metadata");
      }
    } else if (!callerAllowed(stream.session)) {
      refused?.('client_san');
      return end(stream, GrpcCode.PERMISSION_DENIED, 'the client certificate names none of the allowed callers (--grpc-client-san)');
    }
    authenticated?.(stream.session);
    if (headers[':path'] === ALS_PATH && als) return als(stream);
    if (headers[':path'] !== CHECK_PATH) return end(stream, GrpcCode.UNIMPLEMENTED, `only envoy.service.auth.v3.Authorization/Check${als ? ' and envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs are' : ' is'} served`);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > MAX_MESSAGE + 5) {
        over = true;
        end(stream, GrpcCode.RESOURCE_EXHAUSTED, `a CheckRequest is at most ${MAX_MESSAGE} bytes`);
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => {
      if (over) return;
      try {
        check(stream, Buffer.concat(chunks, size), t);
      } catch (err) {
        fail(stream, err);
      }
    });
    stream.on('error', () => undefined);
  };

  return function guarded(stream, headers) {
    try {
      handle(stream, headers);
    } catch (err) {
      fail(stream, err);
    }
  };
}

function tlsFiles(tls: GrpcTls): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), ...(tls.clientCaFile ? { ca: readFileSync(tls.clientCaFile) } : {}) };
}

function mtimes(tls: GrpcTls): string {
  return [tls.certFile, tls.keyFile, tls.clientCaFile]
    .filter((f): f is string => f !== undefined)
    .map((f) => statSync(f).mtimeMs)
    .join(',');
}

/** Listens for Check calls (default port 9001, what the operator's SecurityPolicy names). */
export async function startAuthzGrpcServer(opts: AuthzGrpcOptions): Promise<AuthzGrpcServer> {
  const log = opts.logger;
  if (opts.auth.kind === 'mtls' && !opts.tls?.clientCaFile) throw new Error('grpc mTLS needs the client CA (--grpc-client-ca) and a server certificate');
  const sans = opts.tls?.allowedClientSans;
  if (sans && opts.auth.kind !== 'mtls') throw new Error('allowed client SANs (--grpc-client-san) need mTLS (--grpc-client-ca)');
  const callers = sans ? new ClientSanAllowList(sans) : undefined;
  const registry = opts.metrics?.registry;
  const REFUSED = 'crossgate_authz_grpc_callers_refused_total';
  // One counter per registry, also when a second listener shares it (tests).
  const refusedCallers = registry
    ? (registry.getSingleMetric(REFUSED) as Counter<'reason'> | undefined) ?? metricsIn(registry).counter(REFUSED, 'gRPC Check calls refused before any check: reason token (no or a wrong token) or client_san (a client certificate naming no allowed SAN).', ['reason'])
    : undefined;
  // Per session: when it opened, whether a call of it authenticated, its calls in flight and when the last one
  // started or ended. Frames alone (PINGs, SETTINGS) keep nothing open: only the listener's own sweep decides.
  const live = new Map<Http2Session, { opened: number; authenticated: boolean; open: number; last: number }>();
  const handler = createCheckHandler({
    ...opts,
    callers,
    refused: refusedCallers ? (reason) => refusedCallers.labels(reason).inc() : undefined,
    authenticated: (session) => {
      const l = session && live.get(session);
      if (l) l.authenticated = true;
    },
  });
  const settings = { maxConcurrentStreams: 1000, maxHeaderListSize: 64 * 1024 };
  let server: Http2Server | Http2SecureServer;
  let reload: NodeJS.Timeout | undefined;
  if (opts.tls) {
    const tls = opts.tls;
    const mtls = tls.clientCaFile !== undefined;
    const secure = createSecureServer({ ...tlsFiles(tls), requestCert: mtls, rejectUnauthorized: mtls, allowHTTP1: false, minVersion: 'TLSv1.2', settings, handshakeTimeout: opts.unauthenticatedMs ?? HEAD_TIMEOUT_MS });
    server = secure;
    // A rotated certificate (cert-manager renews the Secret's files) is taken without a restart.
    let seen = mtimes(tls);
    reload = setInterval(() => {
      try {
        const m = mtimes(tls);
        if (m === seen) return;
        secure.setSecureContext({ ...tlsFiles(tls), minVersion: 'TLSv1.2' });
        seen = m;
        log.info('grpc TLS certificate reloaded');
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'grpc TLS files unreadable; keeping the last good ones');
      }
    }, tls.reloadMs ?? 60_000);
    reload.unref();
  } else {
    server = createServer({ settings });
  }
  const sessions = new Set<ServerHttp2Session>();
  // Wall-clock time: connections age by the clock, whatever clock decisions are made with.
  const now = Date.now;
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    const t = now();
    live.set(s, { opened: t, authenticated: false, open: 0, last: t });
    s.on('close', () => {
      sessions.delete(s);
      live.delete(s);
    });
    s.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const l = live.get(stream.session as Http2Session);
    if (l) {
      l.open++;
      l.last = now();
      stream.once('close', () => {
        l.open--;
        l.last = now();
      });
    }
    handler(stream, headers);
  });
  // Connections cost a descriptor each and HTTP/2 has no idle limit of its own: one that has not authenticated a
  // call within unauthenticatedMs (nothing sent, or only refused calls and PINGs), or that has had no call in
  // flight for idleMs, is closed (the check port's rules, authz-http1.ts). Looked at once a second.
  const unauthenticatedMs = opts.unauthenticatedMs ?? HEAD_TIMEOUT_MS;
  const idleMs = opts.idleMs ?? IDLE_TIMEOUT_MS;
  const sweep = setInterval(() => {
    const t = now();
    for (const [s, l] of live) {
      if (!l.authenticated && t - l.opened >= unauthenticatedMs) s.destroy();
      else if (l.open === 0 && t - l.last >= idleMs) s.close();
    }
  }, Math.min(1000, unauthenticatedMs, idleMs));
  sweep.unref();
  server.on('sessionError', () => undefined);
  server.on('tlsClientError', () => undefined);
  // An HTTP/1 request on an h2c port: Node answers with a connection error; nothing to do here.
  let bound: Awaited<ReturnType<typeof bind>>;
  try {
    bound = await bind(server, opts, 9001);
  } catch (err) {
    if (reload) clearInterval(reload);
    clearInterval(sweep);
    throw err;
  }
  const scheme = opts.tls ? 'https' : 'http';
  return {
    url: bound.url.replace(/^http:/, `${scheme}:`),
    host: bound.host,
    port: bound.port,
    async close(graceMs = 10_000) {
      if (reload) clearInterval(reload);
      clearInterval(sweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: in-flight calls finish, no new ones; whatever is left after the grace period is cut.
      for (const s of sessions) s.close();
      const t = setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(t);
    },
  };
}

