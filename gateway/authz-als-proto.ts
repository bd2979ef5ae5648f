// The protobuf messages of Envoy's gRPC access-log service (ALS) that
// crossgate-authz reads, by hand like the Check API's (authz-grpc-proto.ts,
// whose reader this shares). Written from Envoy's published API
// (api/envoy/service/accesslog/v3/als.proto, api/envoy/data/accesslog/v3/
// accesslog.proto, config/core/v3/base.proto; google/protobuf/struct.proto,
// duration.proto, wrappers.proto). start_time is not read: a request is
// recorded when its entry arrives (authz-als.ts).
//
// Read (StreamAccessLogsMessage):
//   identifier = 1 → Identifier { log_name = 2 }                       (node = 1 skipped)
//   http_logs = 2 → HTTPAccessLogEntries { log_entry = 1 (repeated) → HTTPAccessLogEntry }
//     common_properties = 1 → AccessLogCommon
//       time_to_last_upstream_rx_byte = 10, time_to_last_downstream_tx_byte = 12 → Duration { seconds = 1, nanos = 2 }
//       metadata = 17 → Metadata { filter_metadata = 1 (map<string, Struct>) }
//         only the entry keyed METADATA_NAMESPACE: Struct { fields = 1 (map<string, Value>) }, Value { string_value = 3 }
//     response = 4 → HTTPResponseProperties { response_code = 1 → UInt32Value { value = 1 } }
//   tcp_logs = 3 and every other field: skipped by wire type.
// Bounded: at most MAX_ENTRIES entries per message, strings read at most
// MAX_STRING bytes (a longer one is a ProtoError), a fixed depth (a Struct
// value that is itself a Struct or a list is skipped, never descended into),
// and the caller bounds the message's size (authz-als.ts).
import { expect, fields, message, ProtoError, Reader } from './authz-grpc-proto.ts';

/** The dynamic-metadata namespace of Envoy's HTTP ext_authz filter: where Check's dynamic_metadata lands. */
export const METADATA_NAMESPACE = 'envoy.filters.http.ext_authz';
export const MAX_ENTRIES = 4096;
/** The longest string read (log name, metadata keys and values): route and client ids are at most 507 characters. */
export const MAX_STRING = 1024;

export interface AlsEntry {
  /** response.response_code; undefined when Envoy sent none (the client went away first). */
  status: number | undefined;
  /** time_to_last_upstream_rx_byte, seconds: the upstream's answer complete. */
  upstreamSeconds: number | undefined;
  /** time_to_last_downstream_tx_byte, seconds: the client's answer complete. */
  downstreamSeconds: number | undefined;
  /** The string values of filter_metadata[METADATA_NAMESPACE]; undefined when that namespace is absent. No prototype. */
  metadata: Record<string, string> | undefined;
}

export interface AlsMessage {
  /** identifier.log_name, when this message carries the identifier. */
  logName: string | undefined;
  entries: AlsEntry[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function boundedString(r: Reader, wire: number): string {
  expect(wire, 2);
  const [s, e] = r.sub();
  if (e - s > MAX_STRING) throw new ProtoError(`a string of more than ${MAX_STRING} bytes`);
  try {
    return utf8.decode(r.buf.subarray(s, e));
  } catch {
    throw new ProtoError('string field is not UTF-8');
  }
}

/** Duration { seconds = 1, nanos = 2 } as [seconds, nanos]; undefined when nanos are out of range. */
function secondsNanos(m: Reader): [number, number] | undefined {
  let secs = 0;
  let nanos = 0;
  fields(m, (f, w) => {
    if (f !== 1 && f !== 2) return false;
    expect(w, 0);
    if (f === 1) secs = m.varint();
    else nanos = m.varint();
    return true;
  });
  // Negative int64/int32 values arrive as 10-byte varints: far above any bound used here.
  return nanos > 999_999_999 ? undefined : [secs, nanos];
}

const YEAR = 365 * 86400;
/** A Duration in seconds; undefined when negative or over a year. */
const durationOf = (m: Reader): number | undefined => {
  const sn = secondsNanos(m);
  return sn !== undefined && sn[0] < YEAR ? sn[0] + sn[1] / 1e9 : undefined;
};

/** google.protobuf.Struct → its string values (others skipped); a key repeated: the last wins. */
function structStrings(m: Reader, into: Record<string, string>): void {
  fields(m, (f, w) => {
    if (f !== 1) return false;
    message(m, w, (entry) => {
      let key: string | undefined;
      let value: string | undefined;
      fields(entry, (ef, ew) => {
        if (ef === 1) key = boundedString(entry, ew);
        else if (ef === 2)
          message(entry, ew, (v) =>
            fields(v, (vf, vw) => {
              if (vf !== 3) return false;
              value = boundedString(v, vw);
              return true;
            }),
          );
        else return false;
        return true;
      });
      if (key === undefined) return;
      if (value === undefined) delete into[key];
      else into[key] = value;
    });
    return true;
  });
}

/** Metadata.filter_metadata: only METADATA_NAMESPACE's Struct is read (map entry fields may come in any order). */
function metadataOf(m: Reader, entry: AlsEntry): void {
  fields(m, (f, w) => {
    if (f !== 1) return false;
    message(m, w, (e) => {
      let key: string | undefined;
      let value: [number, number] | undefined;
      fields(e, (ef, ew) => {
        if (ef === 1) key = boundedString(e, ew);
        else if (ef === 2) {
          expect(ew, 2);
          value = e.sub();
        } else return false;
        return true;
      });
      if (key !== METADATA_NAMESPACE) return;
      const into = Object.create(null) as Record<string, string>;
      if (value) structStrings(e.within(value[0], value[1]), into);
      entry.metadata = into;
    });
    return true;
  });
}

function common(m: Reader, entry: AlsEntry): void {
  fields(m, (f, w) => {
    switch (f) {
      case 10:
        message(m, w, (d) => void (entry.upstreamSeconds = durationOf(d)));
        return true;
      case 12:
        message(m, w, (d) => void (entry.downstreamSeconds = durationOf(d)));
        return true;
      case 17:
        message(m, w, (md) => metadataOf(md, entry));
        return true;
      default:
        return false;
    }
  });
}

function response(m: Reader, entry: AlsEntry): void {
  fields(m, (f, w) => {
    if (f !== 1) return false;
    message(m, w, (u) =>
      fields(u, (uf, uw) => {
        if (uf !== 1) return false;
        expect(uw, 0);
        entry.status = u.varint();
        return true;
      }),
    );
    return true;
  });
}

function logEntry(m: Reader): AlsEntry {
  const entry: AlsEntry = { status: undefined, upstreamSeconds: undefined, downstreamSeconds: undefined, metadata: undefined };
  fields(m, (f, w) => {
    if (f === 1) message(m, w, (c) => common(c, entry));
    else if (f === 4) message(m, w, (r) => response(r, entry));
    else return false;
    return true;
  });
  return entry;
}

/** Decodes a StreamAccessLogsMessage. Throws ProtoError (and only that) when the bytes are not one or exceed a bound. */
export function decodeStreamAccessLogsMessage(buf: Uint8Array): AlsMessage {
  const out: AlsMessage = { logName: undefined, entries: [] };
  const r = new Reader(buf, 0, buf.length);
  fields(r, (f, w) => {
    if (f === 1)
      message(r, w, (id) =>
        fields(id, (idf, idw) => {
          if (idf !== 2) return false;
          out.logName = boundedString(id, idw);
          return true;
        }),
      );
    else if (f === 2)
      message(r, w, (batch) =>
        fields(batch, (bf, bw) => {
          if (bf !== 1) return false;
          if (out.entries.length >= MAX_ENTRIES) throw new ProtoError(`more than ${MAX_ENTRIES} log entries in one message`);
          message(batch, bw, (e) => void out.entries.push(logEntry(e)));
          return true;
        }),
      );
    else return false;
    return true;
  });
  return out;
}
