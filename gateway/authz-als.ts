// crossgate-authz's receiver of Envoy's access log: the gRPC access-log
// service (ALS), `envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`,
// a client stream served on the Check listener (authz-grpc.ts) after the same
// caller authentication (mTLS with the SAN allow-list, or the token). It is
// the Envoy counterpart of authz-log.ts (nginx's syslog): each request Envoy
// logs is recorded once with GatewayMetrics.observe, so the ApiInstance's
// analytics (/summary, /summary/day) and the Alerts work on the Envoy path.
//
// Route and client: never from anything a client controls. In its Check
// answers (allow and deny) authz sets dynamic_metadata {crossgate-route,
// crossgate-client}; Envoy keeps it under the ext_authz filter's namespace
// and logs it in common_properties.metadata.filter_metadata, which is read
// back here. Only authz writes that namespace (ext_authz takes it from the
// Check answer alone) and only an authenticated caller can open this stream.
// An entry without it (a request Envoy answered before ext_authz ran, a route
// without the SecurityPolicy) or naming a route the config in force does not
// know is counted and not recorded; so is an entry without a response code
// (the client went away before any answer).
//
// Latency: time_to_last_upstream_rx_byte (the upstream's answer complete,
// counted from the first byte of the request: it holds the check, as nginx's
// upstream time does not) when Envoy gives it, else
// time_to_last_downstream_tx_byte (a refusal or Envoy's own answer: what the
// client waited). The request is recorded when its entry arrives, as
// authz-log.ts does (Envoy flushes a batch every second by default): Envoy's
// start_time is not used, so its clock never moves a figure into another
// bucket of the recent or day windows.
//
// Bounded (authz-als-proto.ts): a message over MAX_ALS_MESSAGE bytes ends
// the stream RESOURCE_EXHAUSTED, as do more than MAX_ENTRIES entries in one;
// a malformed one (or the stream ending inside a message) INVALID_ARGUMENT,
// a compressed one UNIMPLEMENTED; each counted. Nothing a message holds
// throws out of the handler; a stream idle for IDLE_MS is cancelled (Envoy
// opens a new one with its next entry).
import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { metricsIn } from '../kube/metrics.ts';
import { GrpcCode, ProtoError } from './authz-grpc-proto.ts';
import { decodeStreamAccessLogsMessage, type AlsEntry } from './authz-als-proto.ts';
import { knownRoutes, ROUTE_ID } from './authz-log.ts';
import type { CompiledConfig } from './compiled.ts';
import type { GatewayMetrics } from './metrics.ts';

export const ALS_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';
/** The dynamic-metadata keys of Check answers (under envoy.filters.http.ext_authz). */
export const ROUTE_KEY = 'crossgate-route';
export const CLIENT_KEY = 'crossgate-client';
/** A StreamAccessLogsMessage larger than this ends the stream (Envoy's default batch is 16 KiB: buffer_size_bytes). */
export const MAX_ALS_MESSAGE = 512 * 1024;
export const IDLE_MS = 15 * 60_000;

/** The dynamic_metadata of a Check answer: the route it was decided for and the client it named. */
export function checkMetadata(routeId: string, client: string | undefined): Array<[string, string]> {
  if (!ROUTE_ID.test(routeId)) return [];
  return client !== undefined && ROUTE_ID.test(client)
    ? [
        [ROUTE_KEY, routeId],
        [CLIENT_KEY, client],
      ]
    : [[ROUTE_KEY, routeId]];
}

export type EntryOutcome = { ok: true; route: string; client: string | undefined; status: number; seconds: number } | { ok: false; reason: 'no_metadata' | 'unknown_route' | 'bad_client' | 'no_response' };

/** What one log entry records (or why not), given the routes the config in force knows. */
export function entryOutcome(e: AlsEntry, knows: (route: string) => boolean): EntryOutcome {
  const route = e.metadata?.[ROUTE_KEY];
  if (route === undefined) return { ok: false, reason: 'no_metadata' };
  if (!ROUTE_ID.test(route) || !knows(route)) return { ok: false, reason: 'unknown_route' };
  const client = e.metadata![CLIENT_KEY];
  if (client !== undefined && !ROUTE_ID.test(client)) return { ok: false, reason: 'bad_client' };
  if (e.status === undefined || e.status < 100 || e.status > 599) return { ok: false, reason: 'no_response' };
  return { ok: true, route, client, status: e.status, seconds: e.upstreamSeconds ?? e.downstreamSeconds ?? 0 };
}

export interface AlsOptions {
  config: { readonly current: CompiledConfig | undefined };
  metrics: Pick<GatewayMetrics, 'observe'> & { registry?: Registry };
  logger: Logger;
  now?: () => number;
}

/** How the listener ends a call: an error status (trailers only), or OK with one message. */
export interface CallEnds {
  end(stream: ServerHttp2Stream, code: number, message: string): void;
  ok(stream: ServerHttp2Stream, payload: Buffer): void;
}

type StreamResult = 'ended' | 'malformed' | 'oversized' | 'compressed' | 'failed';

/** One counter per registry, also when a second listener shares it (tests). */
function counter(registry: Registry | undefined, name: string, help: string): Counter<'result'> | undefined {
  if (!registry) return undefined;
  return (registry.getSingleMetric(name) as Counter<'result'> | undefined) ?? metricsIn(registry).counter(name, help, ['result']);
}

/** The handler of StreamAccessLogs calls: called once the caller is authenticated. */
export function createAlsCall(opts: AlsOptions, ends: CallEnds): (stream: ServerHttp2Stream) => void {
  const { metrics, logger } = opts;
  const now = opts.now ?? Date.now;
  const knows = knownRoutes(opts.config);
  const entries = counter(
    metrics.registry,
    'crossgate_authz_als_entries_total',
    "crossgate-authz: Envoy access-log entries, by result: recorded, no_metadata (no crossgate route in the ext_authz metadata), unknown_route, bad_client, no_response (ignored).",
  );
  const streams = counter(metrics.registry, 'crossgate_authz_als_streams_total', 'crossgate-authz: Envoy access-log streams ended, by result: ended (by Envoy), malformed, oversized, compressed (refused), failed (INTERNAL).');
  let warned = 0;
  const refuse = (stream: ServerHttp2Stream, result: StreamResult, code: number, message: string): void => {
    streams?.labels(result).inc();
    const t = now();
    // At most one warning a minute: a misbehaving caller must not become a log flood.
    if (t - warned > 60_000) {
      warned = t;
      logger.warn({ result, message }, 'access-log stream refused');
    }
    ends.end(stream, code, message);
  };

  const record = (payload: Buffer): void => {
    const msg = decodeStreamAccessLogsMessage(payload);
    if (msg.logName !== undefined && logger.isLevelEnabled('debug')) logger.debug({ logName: msg.logName }, 'access-log stream identified');
    const t = now();
    for (const e of msg.entries) {
      const o = entryOutcome(e, knows);
      if (!o.ok) {
        entries?.labels(o.reason).inc();
        continue;
      }
      metrics.observe(o.route, o.client, o.status, o.seconds, t);
      entries?.labels('recorded').inc();
    }
  };

  return (stream) => {
    let chunks: Buffer[] = [];
    let size = 0;
    // Bytes wanted before the next step: a 5-byte prefix, then its message.
    let need = 5;
    let inMessage = false;
    let done = false;
    const stop = (result: StreamResult, code: number, message: string): void => {
      done = true;
      chunks = [];
      refuse(stream, result, code, message);
    };
    stream.on('data', (c: Buffer) => {
      if (done) return;
      try {
        chunks.push(c);
        size += c.length;
        while (!done && size >= need) {
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
          if (!inMessage) {
            if (all[0] !== 0) return stop('compressed', GrpcCode.UNIMPLEMENTED, 'compressed messages are not accepted');
            const len = all.readUInt32BE(1);
            if (len > MAX_ALS_MESSAGE) return stop('oversized', GrpcCode.RESOURCE_EXHAUSTED, `a StreamAccessLogsMessage is at most ${MAX_ALS_MESSAGE} bytes`);
            inMessage = true;
            need = 5 + len;
            chunks = [all];
            continue;
          }
          const rest = all.subarray(need);
          const payload = all.subarray(5, need);
          chunks = rest.length ? [rest] : [];
          size = rest.length;
          need = 5;
          inMessage = false;
          try {
            record(payload);
          } catch (err) {
            if (!(err instanceof ProtoError)) throw err;
            const over = err.message.startsWith('more than');
            return stop(over ? 'oversized' : 'malformed', over ? GrpcCode.RESOURCE_EXHAUSTED : GrpcCode.INVALID_ARGUMENT, `not a StreamAccessLogsMessage: ${err.message}`);
          }
        }
      } catch (err) {
        done = true;
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'access-log stream failed; answered INTERNAL');
        streams?.labels('failed').inc();
        ends.end(stream, GrpcCode.INTERNAL, 'the access log could not be read');
      }
    });
    stream.on('end', () => {
      if (done) return;
      done = true;
      if (size > 0 || inMessage) return refuse(stream, 'malformed', GrpcCode.INVALID_ARGUMENT, 'the stream ended inside a message');
      streams?.labels('ended').inc();
      // StreamAccessLogsResponse: empty.
      ends.ok(stream, Buffer.alloc(0));
    });
  };
}
