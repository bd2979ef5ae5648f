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

const OVERSIZED = Object.freeze({ ok: false, reason: 'oversized' } as const);
const MALFORMED = Object.freeze({ ok: false, reason: 'malformed' } as const);

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

/** One datagram → a record, or why it was dropped. Never throws. The rendered shape is read byte by byte (readRendered); anything else through JSON.parse (parseLogLineJson), with the same result. */
export function parseLogLine(data: Uint8Array): LineResult {
  if (data.length > MAX_DATAGRAM) return OVERSIZED;
  const record = readRendered(data);
  return record ? { ok: true, record } : parseLogLineJson(data);
}

/** The general reader: any JSON object with our keys and valid values (exported for the test that compares it with the byte reader). */
export function parseLogLineJson(data: Uint8Array): LineResult {
  if (data.length > MAX_DATAGRAM) return OVERSIZED;
  // "<PRI>": 1 to 3 digits.
  if (data.length < 4 || data[0] !== 0x3c) return MALFORMED;
  const text = decoded(data);
  if (text === undefined || !/^<[0-9]{1,3}>/.test(text)) return MALFORMED;
  const at = text.indexOf(MARKER);
  if (at < 0) return MALFORMED;
  return recordOfJson(text.slice(at + MARKER.length));
}

/**
 * One line of the access-log file (nginx's `access_log /path crossgate_authz`, authz-log-file.ts): the same
 * log_format without the syslog head, and without its '\n'. Same readers, same results as parseLogLine.
 */
export function parseFileLine(data: Uint8Array): LineResult {
  if (data.length > MAX_DATAGRAM) return OVERSIZED;
  const record = readBody(data, 0);
  if (record) return { ok: true, record };
  const text = decoded(data);
  return text === undefined ? MALFORMED : recordOfJson(text);
}

function decoded(data: Uint8Array): string | undefined {
  try {
    return UTF8.decode(data);
  } catch {
    return undefined;
  }
}

/** The JSON of our log_format → a record, or malformed. */
function recordOfJson(json: string): LineResult {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return MALFORMED;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return MALFORMED;
  const r = o as Record<string, unknown>;
  const route = str(r, 'route');
  const client = str(r, 'client');
  const status = str(r, 'status');
  const requestTime = str(r, 'requestTime');
  const upstreamStatus = str(r, 'upstreamStatus');
  const upstreamTime = str(r, 'upstreamTime');
  if (str(r, 'v') !== '1' || route === undefined || client === undefined || status === undefined || requestTime === undefined) return MALFORMED;
  if (!STATUS.test(status) || !SECONDS.test(requestTime)) return MALFORMED;
  if (client !== '' && !CLIENT.test(client)) return MALFORMED;
  if (upstreamStatus !== undefined && !UPSTREAM_LIST.test(upstreamStatus)) return MALFORMED;
  if (upstreamTime !== undefined && !UPSTREAM_LIST.test(upstreamTime)) return MALFORMED;
  // An empty route: a request no rendered route matched (nginx logs it; there is no API to count it under).
  if (route !== '' && !ROUTE_ID.test(route)) return MALFORMED;
  return {
    ok: true,
    record: { route, client: client === '' ? undefined : client, status: Number(status), seconds: Number(requestTime), upstreamSeconds: upstreamSecondsOf(upstreamStatus, upstreamTime) },
  };
}

// The byte reader. nginx writes every line in one shape: the syslog head, then
// log_format crossgate_authz with its keys in order and (escape=json) values
// that, when valid, hold no quote, backslash or byte above 0x7f. That shape is
// read in one pass without a string of the whole line; any other line (another
// order, extra keys, escapes, spaces, non-ASCII) goes to parseLogLineJson,
// which decides. So a line the byte reader accepts is one JSON.parse accepts,
// with the same record: it only adds a faster way in.

// Buffers, as the datagrams are: compares that see one kind of array ran twice as fast as mixing in Uint8Arrays.
const bytes = (s: string) => Buffer.from(s, 'latin1');
const MARKER_BYTES = bytes(MARKER);
const K_ROUTE = bytes('{"v":"1","route":"');
const K_CLIENT = bytes('","client":"');
const K_STATUS = bytes('","status":"');
const K_UPSTREAM_STATUS = bytes('","upstreamStatus":"');
const K_REQUEST_TIME = bytes('","requestTime":"');
const K_UPSTREAM_TIME = bytes('","upstreamTime":"');
const K_END = bytes('"}');
const QUOTE = 0x22;

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** Whether `lit` is at d[p…]. */
function at(d: Uint8Array, p: number, lit: Uint8Array): boolean {
  if (p + lit.length > d.length) return false;
  for (let i = 0; i < lit.length; i++) if (d[p + i] !== lit[i]) return false;
  return true;
}

/** Start of the first " crossgate: " from p, if every byte before it is ASCII (so UTF-8 and byte offsets agree); else -1. */
function markerFrom(d: Uint8Array, p: number): number {
  for (let i = p; i < d.length; i++) {
    const c = d[i]!;
    if (c >= 0x80) return -1;
    if (c === 0x20 && at(d, i, MARKER_BYTES)) return i;
  }
  return -1;
}

/** End of one ROUTE_ID segment at p ([a-z0-9], inner [-.] too, 1 to 253 bytes); -1 if there is none. */
function segmentEnd(d: Uint8Array, p: number): number {
  let i = p;
  let last = 0;
  for (; i < d.length; i++) {
    const c = d[i]!;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) last = c;
    else if ((c === 0x2d || c === 0x2e) && i > p) last = c;
    else break;
  }
  return i === p || i - p > 253 || last === 0x2d || last === 0x2e ? -1 : i;
}

/** End of a ROUTE_ID ("segment/segment") at p, -1 if none; p itself for an empty value (the caller checks the quote). */
function idEnd(d: Uint8Array, p: number): number {
  if (d[p] === QUOTE) return p;
  const slash = segmentEnd(d, p);
  return slash < 0 || d[slash] !== 0x2f ? -1 : segmentEnd(d, slash + 1);
}

/** SECONDS ([0-9]{1,7}.[0-9]{3}) exactly from p to q, as Number() reads it (n/1000 is the same double: n < 2^53), else NaN. */
function secondsIn(d: Uint8Array, p: number, q: number): number {
  const dot = q - 4;
  if (dot <= p || dot - p > 7 || d[dot] !== 0x2e) return NaN;
  let n = 0;
  for (let i = p; i < q; i++) {
    if (i === dot) continue;
    const c = d[i]!;
    if (c < 0x30 || c > 0x39) return NaN;
    n = n * 10 + (c - 0x30);
  }
  return n / 1000;
}

/** STATUS ([1-5][0-9][0-9]) exactly from p to q, else NaN. */
function statusIn(d: Uint8Array, p: number, q: number): number {
  if (q - p !== 3 || q > d.length) return NaN;
  const a = d[p]!;
  if (a < 0x31 || a > 0x35 || !isDigit(d[p + 1]) || !isDigit(d[p + 2])) return NaN;
  return (a - 0x30) * 100 + (d[p + 1]! - 0x30) * 10 + (d[p + 2]! - 0x30);
}

/** End (the closing quote) of an UPSTREAM_LIST value at p, -1 if none. */
function listEnd(d: Uint8Array, p: number): number {
  for (let i = p; i < d.length && i - p <= 128; i++) {
    const c = d[i]!;
    if (c === QUOTE) return i;
    // [-0-9., :]
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x2c || c === 0x20 || c === 0x3a)) return -1;
  }
  return -1;
}

/**
 * Route and client ids read recently, by a hash of their bytes (one slot each, the newer one wins): the same id
 * read again is the same string, neither copied from the datagram nor hashed again by the maps it is looked up in.
 * Bounded: SLOTS strings of at most 507 bytes.
 */
export class IdStrings {
  static readonly SLOTS = 512;
  #slots: (string | undefined)[] = new Array<string | undefined>(IdStrings.SLOTS).fill(undefined);

  /** Slots in use (at most SLOTS). */
  get size(): number {
    return this.#slots.reduce((n, s) => (s === undefined ? n : n + 1), 0);
  }

  /** The string of bytes d[p…q) (latin1: the callers pass ASCII ids). */
  get(d: Uint8Array, p: number, q: number): string {
    let h = 0x811c9dc5;
    for (let i = p; i < q; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
    const slot = (h >>> 0) & (IdStrings.SLOTS - 1);
    const s = this.#slots[slot];
    if (s !== undefined && s.length === q - p && sameAs(s, d, p)) return s;
    const fresh = Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1', p, q);
    this.#slots[slot] = fresh;
    return fresh;
  }
}

function sameAs(s: string, d: Uint8Array, p: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== d[p + i]) return false;
  return true;
}

const IDS = new IdStrings();

/** The rendered shape (see above) → its record; undefined for anything else (then parseLogLineJson decides). Exported for tests. */
export function readRendered(d: Uint8Array): LogRecord | undefined {
  if (d[0] !== 0x3c) return undefined;
  let p = 1;
  while (p < 4 && isDigit(d[p])) p++;
  if (p === 1 || d[p] !== 0x3e) return undefined;
  const m = markerFrom(d, p + 1);
  if (m < 0) return undefined;
  return readBody(d, m + MARKER_BYTES.length);
}

/** The rendered JSON from d[p] to the end of d (after the syslog head of a datagram; all of a file line). */
function readBody(d: Uint8Array, p: number): LogRecord | undefined {
  if (!at(d, p, K_ROUTE)) return undefined;
  const routeAt = (p += K_ROUTE.length);
  const routeEnd = idEnd(d, p);
  if (routeEnd < 0 || !at(d, routeEnd, K_CLIENT)) return undefined;
  const clientAt = (p = routeEnd + K_CLIENT.length);
  const clientEnd = idEnd(d, p);
  if (clientEnd < 0 || !at(d, clientEnd, K_STATUS)) return undefined;
  p = clientEnd + K_STATUS.length;
  const status = statusIn(d, p, p + 3);
  if (Number.isNaN(status) || !at(d, p + 3, K_UPSTREAM_STATUS)) return undefined;
  const upstreamStatusAt = (p += 3 + K_UPSTREAM_STATUS.length);
  const upstreamStatusEnd = listEnd(d, p);
  if (upstreamStatusEnd < 0 || !at(d, upstreamStatusEnd, K_REQUEST_TIME)) return undefined;
  p = upstreamStatusEnd + K_REQUEST_TIME.length;
  let q = p;
  while (q < d.length && d[q] !== QUOTE) q++;
  const seconds = secondsIn(d, p, q);
  if (Number.isNaN(seconds) || !at(d, q, K_UPSTREAM_TIME)) return undefined;
  const upstreamTimeAt = (p = q + K_UPSTREAM_TIME.length);
  const upstreamTimeEnd = listEnd(d, p);
  if (upstreamTimeEnd < 0 || !at(d, upstreamTimeEnd, K_END) || upstreamTimeEnd + K_END.length !== d.length) return undefined;
  // upstreamSecondsOf: one answered attempt (a single status, not nginx's own 502/504) and a single time.
  const upstreamStatus = statusIn(d, upstreamStatusAt, upstreamStatusEnd);
  const upstreamTime = secondsIn(d, upstreamTimeAt, upstreamTimeEnd);
  const answered = !Number.isNaN(upstreamStatus) && !Number.isNaN(upstreamTime) && upstreamStatus !== 502 && upstreamStatus !== 504;
  return {
    route: routeEnd === routeAt ? '' : IDS.get(d, routeAt, routeEnd),
    client: clientEnd === clientAt ? undefined : IDS.get(d, clientAt, clientEnd),
    status,
    seconds,
    upstreamSeconds: answered ? upstreamTime : undefined,
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

/** Where parsed lines go and what the route check reads: what both transports (UDP here, the file in authz-log-file.ts) share. */
export interface LineSink {
  metrics: GatewayMetrics;
  config: { readonly current: CompiledConfig | undefined };
  now?: () => number;
}

/**
 * The one way a parsed line is recorded, whichever transport brought it: a refused line counted by its reason,
 * a route the config in force does not serve counted and ignored, else observed and counted recorded.
 */
export function lineRecorder(sink: LineSink): (r: LineResult) => void {
  const { metrics } = sink;
  const now = sink.now ?? Date.now;
  const knows = knownRoutes(sink.config);
  return (r) => {
    if (!r.ok) return metrics.accessLogLine(r.reason);
    if (r.record.route === '' || !knows(r.record.route)) return metrics.accessLogLine('unknown_route');
    metrics.observe(r.record.route, r.record.client, r.record.status, latencyOf(r.record), now());
    metrics.accessLogLine('recorded');
  };
}

export interface AccessLogReceiverOptions extends LineSink {
  host?: string;
  port?: number;
  /** Addresses or CIDRs datagrams are read from; default loopback. */
  sources?: readonly string[];
  logger: Logger;
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
  const { metrics, logger } = opts;
  const now = opts.now ?? Date.now;
  const sources = new TrustedProxies(opts.sources ?? DEFAULT_SOURCES);
  const record = lineRecorder(opts);
  // The last source found allowed: nginx sends every datagram from one address, parsed and matched once.
  let allowed: string | undefined;
  let warned = 0;
  const receive = (data: Uint8Array, from: string): void => {
    try {
      if (from !== allowed) {
        if (!sources.peerTrusted(from)) {
          metrics.accessLogLine('refused_source');
          // At most one warning a minute: a flood must not become a log flood.
          const t = now();
          if (t - warned > 60_000) {
            warned = t;
            logger.warn({ from }, 'access-log datagram from an address not in the allowed sources; dropped');
          }
          return;
        }
        allowed = from;
      }
      record(parseLogLine(data));
    } catch (err) {
      metrics.accessLogLine('malformed');
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
