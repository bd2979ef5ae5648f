// crossgate-authz's access-log receiver: the proxy in front (nginx, as
// rendered by render-nginx.ts) ships one syslog datagram per request over UDP,
//
//   <190>Jan  2 03:04:05 host crossgate: {"v":"1","route":"air/flights","client":"buyer/portal",
//     "status":"200","upstreamStatus":"200","requestTime":"0.004","upstreamTime":"0.003"}
//
// (log_format escape=json: every value a JSON string), and authz records each
// into the same GatewayMetrics as the gateway does (requests per API, client and
// status class, the latency histogram, the recent window behind /summary), so
// the ApiInstance's analytics and the Alerts read authz as they read a gateway.
//
// What counts: a request is counted once, from its log line: the client's
// status ($status, refusals included) and its latency: the upstream's own
// response time when the upstream answered in one attempt (one
// $upstream_status, not nginx's own 502/504, one $upstream_response_time),
// else nginx's $request_time. $request_time runs from nginx's first read of
// the client to its last write, so a slow client's network (upload, download)
// would count as the API being slow in its analytics and response-time
// Alerts; the upstream's time is the API's. Refusals, nginx's own errors and
// retried requests have no such figure: their $request_time is what the
// client waited. authz's own
// checks are never counted as requests (a check is not a request; counting both
// would double every figure). Policy refusals are counted by type at decision
// time (authz knows the policy; the log line does not carry it), one decision
// per request, as the gateway counts them.
//
// Defensive: a datagram over MAX_DATAGRAM bytes, not syslog, without the
// crossgate tag, not the JSON of our format, or with a value outside its
// pattern is counted (crossgate_gateway_access_log_lines_total{result}) and
// dropped; a route id the config in force does not know is ignored. Nothing a
// datagram holds can throw out of the receiver.
//
// UDP authenticates nobody: only datagrams from the configured source
// addresses (default loopback, nginx beside authz) are read at all. A process
// that can send from such an address (or spoof one where the network allows
// it) can still inflate or skew the figures, never a decision: see
// docs/security-model.md.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { TrustedProxies } from './client-address.ts';
import type { CompiledConfig } from './compiled.ts';
import type { GatewayMetrics } from './metrics.ts';

/** Larger datagrams are dropped unread (nginx's syslog lines are at most 2 KiB; ours far less). */
export const MAX_DATAGRAM = 2048;
export const SYSLOG_TAG = 'crossgate';
export const DEFAULT_SOURCES = ['127.0.0.1', '::1'];

export interface LogRecord {
  route: string;
  /** undefined: no identified client. */
  client: string | undefined;
  status: number;
  /** $request_time: first read of the client to last write. */
  seconds: number;
  /** $upstream_response_time when one upstream attempt answered (not nginx's own 502/504); undefined otherwise. */
  upstreamSeconds: number | undefined;
}

/** The latency recorded for a line: the upstream's when it answered, else the request's (see the header). */
export function latencyOf(r: LogRecord): number {
  return r.upstreamSeconds ?? r.seconds;
}

/** One attempt the upstream answered: a single status that is not nginx's own 502/504 (no connection, timeout), and a single time. */
function upstreamSecondsOf(status: string | undefined, time: string | undefined): number | undefined {
  if (status === undefined || time === undefined || !STATUS.test(status) || !SECONDS.test(time)) return undefined;
  return status === '502' || status === '504' ? undefined : Number(time);
}

export type LineResult = { ok: true; record: LogRecord } | { ok: false; reason: 'oversized' | 'malformed' };

/** A route id (namespace/name); a client id has the same shape. */
export const ROUTE_ID = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CLIENT = ROUTE_ID;
const STATUS = /^[1-5][0-9][0-9]$/;
const SECONDS = /^[0-9]{1,7}\.[0-9]{3}$/;
/** $upstream_status / $upstream_response_time: "-", one value or a list ("502, 200", "0.001 : 0.002"); a single answered attempt's time is recorded (upstreamSecondsOf). */
const UPSTREAM_LIST = /^[-0-9., :]{0,128}$/;
const MARKER = ` ${SYSLOG_TAG}: `;

/** One decoder for every datagram (decode() without `stream` keeps no state between calls). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

/** One datagram → a record, or why it was dropped. Never throws. */
export function parseLogLine(data: Uint8Array): LineResult {
  if (data.length > MAX_DATAGRAM) return { ok: false, reason: 'oversized' };
  const malformed = { ok: false, reason: 'malformed' } as const;
  // "<PRI>": 1 to 3 digits.
  if (data.length < 4 || data[0] !== 0x3c) return malformed;
  let text: string;
  try {
    text = UTF8.decode(data);
  } catch {
    return malformed;
  }
  if (!/^<[0-9]{1,3}>/.test(text)) return malformed;
  const at = text.indexOf(MARKER);
  if (at < 0) return malformed;
  let o: unknown;
  try {
    o = JSON.parse(text.slice(at + MARKER.length));
  } catch {
    return malformed;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return malformed;
  const r = o as Record<string, unknown>;
  const route = str(r, 'route');
  const client = str(r, 'client');
  const status = str(r, 'status');
  const requestTime = str(r, 'requestTime');
  const upstreamStatus = str(r, 'upstreamStatus');
  const upstreamTime = str(r, 'upstreamTime');
  if (str(r, 'v') !== '1' || route === undefined || client === undefined || status === undefined || requestTime === undefined) return malformed;
  if (!STATUS.test(status) || !SECONDS.test(requestTime)) return malformed;
  if (client !== '' && !CLIENT.test(client)) return malformed;
  if (upstreamStatus !== undefined && !UPSTREAM_LIST.test(upstreamStatus)) return malformed;
  if (upstreamTime !== undefined && !UPSTREAM_LIST.test(upstreamTime)) return malformed;
  // An empty route: a request no rendered route matched (nginx logs it; there is no API to count it under).
  if (route !== '' && !ROUTE_ID.test(route)) return malformed;
  return {
    ok: true,
    record: { route, client: client === '' ? undefined : client, status: Number(status), seconds: Number(requestTime), upstreamSeconds: upstreamSecondsOf(upstreamStatus, upstreamTime) },
  };
}

/** Whether the config in force serves a route id (its set rebuilt once per config, not per line). */
export function knownRoutes(config: { readonly current: CompiledConfig | undefined }): (route: string) => boolean {
  let known: { cfg: CompiledConfig; ids: Set<string> } | undefined;
  return (route) => {
    const cfg = config.current;
    if (!cfg) return false;
    if (known?.cfg !== cfg) known = { cfg, ids: new Set(cfg.routes.routes.map((r) => r.id)) };
    return known.ids.has(route);
  };
}

export interface AccessLogReceiverOptions {
  host?: string;
  port?: number;
  /** Addresses or CIDRs datagrams are read from; default loopback. */
  sources?: readonly string[];
  metrics: GatewayMetrics;
  config: { readonly current: CompiledConfig | undefined };
  logger: Logger;
  now?: () => number;
}

export interface AccessLogReceiver {
  host: string;
  port: number;
  /** udp://host:port */
  url: string;
  /** Handles one datagram as the socket would (tests). */
  receive(data: Uint8Array, from: string): void;
  close(): Promise<void>;
}

export async function startAccessLogReceiver(opts: AccessLogReceiverOptions): Promise<AccessLogReceiver> {
  const { metrics, config, logger } = opts;
  const now = opts.now ?? Date.now;
  const sources = new TrustedProxies(opts.sources ?? DEFAULT_SOURCES);
  const lines = metrics.accessLogLines;
  // The per-datagram outcomes' counters, looked up once.
  const recorded = lines.labels('recorded');
  const unknownRoute = lines.labels('unknown_route');
  const knows = knownRoutes(config);
  let warned = 0;
  const receive = (data: Uint8Array, from: string): void => {
    try {
      if (!sources.peerTrusted(from)) {
        lines.labels('refused_source').inc();
        // At most one warning a minute: a flood must not become a log flood.
        const t = now();
        if (t - warned > 60_000) {
          warned = t;
          logger.warn({ from }, 'access-log datagram from an address not in the allowed sources; dropped');
        }
        return;
      }
      const r = parseLogLine(data);
      if (!r.ok) return void lines.labels(r.reason).inc();
      if (r.record.route === '' || !knows(r.record.route)) return void unknownRoute.inc();
      metrics.observe(r.record.route, r.record.client, r.record.status, latencyOf(r.record), now());
      recorded.inc();
    } catch (err) {
      lines.labels('malformed').inc();
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'access-log datagram failed; dropped');
    }
  };
  const host = opts.host ?? '127.0.0.1';
  const socket: Socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => receive(msg, rinfo.address));
  socket.on('error', (err) => logger.error({ err: err.message }, 'access-log socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port ?? 5514, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const addr = socket.address();
  const url = `udp://${isIPv6(addr.address) ? `[${addr.address}]` : addr.address}:${addr.port}`;
  let closed: Promise<void> | undefined;
  return {
    host: addr.address,
    port: addr.port,
    url,
    receive,
    close: () => (closed ??= new Promise<void>((r) => socket.close(() => r()))),
  };
}
