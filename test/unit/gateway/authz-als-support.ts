// What the access-log service tests share: the reference encoder of Envoy's
// ALS messages (@grpc/proto-loader with test/proto's subset, written from
// Envoy's als.proto and accesslog.proto), HTTPAccessLogEntry objects as Envoy
// fills them, and a real StreamAccessLogs client (@grpc/grpc-js).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { METADATA_NAMESPACE } from '../../../gateway/authz-als-proto.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

const def = loadSync('envoy/service/accesslog/v3/als.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
const als = (def['envoy.service.accesslog.v3.AccessLogService'] as unknown as Record<string, { requestSerialize(v: unknown): Buffer }>).StreamAccessLogs!;

export const AccessLogService = (grpc.loadPackageDefinition(def) as any).envoy.service.accesslog.v3.AccessLogService as new (target: string, creds: grpc.ChannelCredentials, opts?: object) => grpc.Client & {
  StreamAccessLogs(md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void): grpc.ClientWritableStream<unknown>;
};
export type AlsClient = InstanceType<typeof AccessLogService>;

/** One StreamAccessLogs call: writes `messages`, half-closes, resolves with the response. `token`: the bearer token, null for none. */
export function streamLogs(client: AlsClient, messages: readonly unknown[], token: string | null): Promise<unknown> {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    const call = client.StreamAccessLogs(md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res)));
    call.on('error', () => undefined);
    for (const m of messages) call.write(m);
    call.end();
  });
}

/** The string fields of a google.protobuf.Struct as protobufjs decodes it (a CheckResponse's dynamic_metadata). */
export function structStrings(st: { fields: Record<string, { stringValue?: string }> } | null | undefined): Record<string, string> | undefined {
  if (!st) return undefined;
  return Object.fromEntries(Object.entries(st.fields).map(([k, v]) => [k, v.stringValue ?? '']));
}

const duration = (s: number) => ({ seconds: Math.floor(s), nanos: Math.round((s - Math.floor(s)) * 1e9) });

export interface EntrySpec {
  /** filter_metadata[namespace] string fields; undefined: no metadata at all. */
  metadata?: Record<string, string>;
  namespace?: string;
  status?: number;
  startMs?: number;
  up?: number;
  down?: number;
}

/** An HTTPAccessLogEntry as Envoy writes it, with fields crossgate skips around the ones it reads. */
export function entry(o: EntrySpec): unknown {
  const common: Record<string, unknown> = {
    sample_rate: 1,
    downstream_remote_address: { socket_address: { address: '198.51.100.9', port_value: 50000 } },
    time_to_last_rx_byte: duration(0.001),
    upstream_cluster: 'httproute/air/flights/rule/0',
    route_name: 'httproute/air/flights/rule/0/match/0',
  };
  if (o.startMs !== undefined) common.start_time = { seconds: Math.floor(o.startMs / 1000), nanos: (o.startMs % 1000) * 1e6 };
  if (o.up !== undefined) common.time_to_last_upstream_rx_byte = duration(o.up);
  if (o.down !== undefined) common.time_to_last_downstream_tx_byte = duration(o.down);
  if (o.metadata !== undefined) {
    const fields = Object.fromEntries(Object.entries(o.metadata).map(([k, v]) => [k, { stringValue: v }]));
    common.metadata = {
      filter_metadata: {
        // Another filter's metadata, with nesting crossgate never descends into.
        'envoy.filters.http.lua': { fields: { 'crossgate-route': { stringValue: 'evil/route' }, deep: { structValue: { fields: { a: { listValue: { values: [{ numberValue: 1 }] } } } } } } },
        [o.namespace ?? METADATA_NAMESPACE]: { fields },
      },
    };
  }
  return {
    common_properties: common,
    protocol_version: 2,
    request: { scheme: 'https', authority: 'api.example', path: '/flights/1?key=never-read', user_agent: 'curl', request_headers: { 'x-crossgate-route': 'evil/route' } },
    ...(o.status === undefined ? {} : { response: { response_code: { value: o.status }, response_body_bytes: 12, response_code_details: 'via_upstream' } }),
  };
}

/** A StreamAccessLogsMessage object (identifier only when a log name is given). */
export function alsObject(entries: unknown[], logName?: string): unknown {
  return { ...(logName ? { identifier: { log_name: logName } } : {}), http_logs: { log_entry: entries } };
}

/** Any StreamAccessLogsMessage object, encoded by the reference. */
export function alsRequest(msg: unknown): Buffer {
  return als.requestSerialize(msg);
}

/** alsObject(), encoded by the reference. */
export function alsMessage(entries: unknown[], logName?: string): Buffer {
  return alsRequest(alsObject(entries, logName));
}
