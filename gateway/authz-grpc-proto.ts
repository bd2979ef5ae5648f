// The protobuf messages of Envoy's external authorization gRPC API that
// crossgate-authz reads and writes, by hand: no protobuf runtime in the image.
// Written from Envoy's published API (api/envoy/service/auth/v3/
// external_auth.proto and attribute_context.proto, config/core/v3/base.proto
// and address.proto, type/v3/http_status.proto; google/rpc/status.proto).
//
// Read (CheckRequest):
//   CheckRequest.attributes = 1 → AttributeContext
//     source = 1 → Peer { address = 1 → Address { socket_address = 1 → SocketAddress { address = 2 } } }
//     request = 4 → Request { http = 2 → HttpRequest { method = 2, headers = 3 (map), path = 4, host = 5, scheme = 6 } }
//     context_extensions = 10 (map<string,string>)
// Every other field is skipped by its wire type; groups (3, 4) and field 0 are
// refused. Strings must be UTF-8. At most MAX_HEADERS headers and
// MAX_EXTENSIONS context extensions (a map entry repeated counts each time).
//
// Written (CheckResponse):
//   status = 1 → google.rpc.Status { code = 1, message = 2 }
//   denied_response = 2 → DeniedHttpResponse { status = 1 → HttpStatus { code = 1 }, headers = 2, body = 3 }
//   ok_response = 3 → OkHttpResponse { headers = 2, headers_to_remove = 5, response_headers_to_add = 6, query_parameters_to_remove = 8 }
//   HeaderValueOption { header = 1 → HeaderValue { key = 1, value = 2 }, append_action = 3 (OVERWRITE_IF_EXISTS_OR_ADD = 2) }
//   dynamic_metadata = 4 → google.protobuf.Struct { fields = 1 (map<string, Value>) }, Value { string_value = 3 }
//
// The reader helpers are shared with the access-log service's decoder (authz-als-proto.ts).

/** A CheckRequest that cannot be read: the only error the decoder throws. */
export class ProtoError extends Error {
  override name = 'ProtoError';
}

/** google.rpc.Code values used by the gRPC listener (Check and the access-log service). */
export const GrpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export const MAX_HEADERS = 200;
export const MAX_EXTENSIONS = 32;

export interface CheckRequest {
  /** attributes.source.address.socket_address.address; '' when absent. */
  sourceAddress: string;
  method: string;
  /** The request target as Envoy saw it: path and query. */
  path: string;
  host: string;
  scheme: string;
  /** Lower-case names (as Envoy sends them); no prototype. */
  headers: Record<string, string>;
  contextExtensions: Record<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos: number;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** A varint as a number; lengths and tags fit in 32 bits, anything wider is only skipped. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's payload; the reader moves past it. */
  sub(): [number, number] {
    const len = this.varint();
    if (len > this.end - this.pos) throw new ProtoError('length past the end of the message');
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.sub();
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch {
      throw new ProtoError('string field is not UTF-8');
    }
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        return this.advance(8);
      case 2:
        this.sub();
        return;
      case 5:
        return this.advance(4);
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtoError('fixed-width field past the end of the message');
    this.pos += n;
  }

  /** Next field as [number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0 || field > 0x1fffffff) throw new ProtoError('invalid field number');
    return [field, t & 7];
  }

  within(s: number, e: number): Reader {
    return new Reader(this.buf, s, e);
  }
}

/** Calls `each(field, wire, reader)` for every field of the message in [start, end). */
export function fields(r: Reader, each: (field: number, wire: number) => boolean): void {
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (!each(field, wire)) r.skip(wire);
  }
}

export function expect(wire: number, want: number): void {
  if (wire !== want) throw new ProtoError(`wire type ${wire} where ${want} is expected`);
}

/** A map<string,string> entry (key = 1, value = 2) into `into`, counting against `max`. */
function mapEntry(r: Reader, into: Record<string, string>, count: { n: number }, max: number, what: string, lowerKeys: boolean): void {
  if (++count.n > max) throw new ProtoError(`more than ${max} ${what}`);
  const [s, e] = r.sub();
  const m = r.within(s, e);
  let key = '';
  let value = '';
  fields(m, (f, w) => {
    if (f === 1) {
      expect(w, 2);
      key = m.string();
    } else if (f === 2) {
      expect(w, 2);
      value = m.string();
    } else return false;
    return true;
  });
  into[lowerKeys ? key.toLowerCase() : key] = value;
}

/** One embedded message field: its payload decoded by `inner` (repeated occurrences merge, as protobuf says). */
export function message(r: Reader, wire: number, inner: (m: Reader) => void): void {
  expect(wire, 2);
  const [s, e] = r.sub();
  inner(r.within(s, e));
}

/** Decodes a CheckRequest. Throws ProtoError (and only that) when the bytes are not one. */
export function decodeCheckRequest(buf: Uint8Array): CheckRequest {
  const out: CheckRequest = { sourceAddress: '', method: '', path: '', host: '', scheme: '', headers: Object.create(null) as Record<string, string>, contextExtensions: Object.create(null) as Record<string, string> };
  const headerCount = { n: 0 };
  const extCount = { n: 0 };
  const socketAddress = (m: Reader): void =>
    fields(m, (f, w) => {
      if (f !== 2) return false;
      expect(w, 2);
      out.sourceAddress = m.string();
      return true;
    });
  const address = (m: Reader): void => fields(m, (f, w) => f === 1 && (message(m, w, socketAddress), true));
  const peer = (m: Reader): void => fields(m, (f, w) => f === 1 && (message(m, w, address), true));
  const http = (m: Reader): void =>
    fields(m, (f, w) => {
      switch (f) {
        case 2:
          expect(w, 2);
          out.method = m.string();
          return true;
        case 3:
          expect(w, 2);
          mapEntry(m, out.headers, headerCount, MAX_HEADERS, 'headers', true);
          return true;
        case 4:
          expect(w, 2);
          out.path = m.string();
          return true;
        case 5:
          expect(w, 2);
          out.host = m.string();
          return true;
        case 6:
          expect(w, 2);
          out.scheme = m.string();
          return true;
        default:
          return false;
      }
    });
  const request = (m: Reader): void => fields(m, (f, w) => f === 2 && (message(m, w, http), true));
  const attributes = (m: Reader): void =>
    fields(m, (f, w) => {
      if (f === 1) message(m, w, peer);
      else if (f === 4) message(m, w, request);
      else if (f === 10) {
        expect(w, 2);
        mapEntry(m, out.contextExtensions, extCount, MAX_EXTENSIONS, 'context extensions', false);
      } else return false;
      return true;
    });
  const r = new Reader(buf, 0, buf.length);
  fields(r, (f, w) => f === 1 && (message(r, w, attributes), true));
  return out;
}

// ---- encoding ----

function varintBytes(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A message under construction: fields appended in order. */
class Writer {
  readonly parts: Buffer[] = [];
  length = 0;

  #push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  varintField(field: number, value: number): this {
    if (value !== 0) this.#push(Buffer.from([...varintBytes(field * 8), ...varintBytes(value)]));
    return this;
  }

  bytesField(field: number, payload: Buffer, always = false): this {
    if (payload.length === 0 && !always) return this;
    this.#push(Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(payload.length)]));
    this.#push(payload);
    return this;
  }

  stringField(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  /** An embedded message: written even when empty (its presence matters, e.g. ok_response). */
  messageField(field: number, w: Writer): this {
    return this.bytesField(field, w.finish(), true);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

export const OVERWRITE_IF_EXISTS_OR_ADD = 2;

export interface CheckResponse {
  /** google.rpc.Status: 0 allows, anything else denies. */
  status: { code: number; message?: string };
  ok?: { headers: Array<[string, string]>; headersToRemove: string[]; responseHeadersToAdd: Array<[string, string]>; queryParametersToRemove?: readonly string[] };
  denied?: { httpStatus: number; headers: Array<[string, string]>; body: string };
  /** dynamic_metadata: string values Envoy stores under the ext_authz filter's namespace (authz-als.ts reads them back from the access log). */
  dynamicMetadata?: Array<[string, string]>;
}

function headerOption(name: string, value: string): Writer {
  return new Writer().messageField(1, new Writer().stringField(1, name).stringField(2, value)).varintField(3, OVERWRITE_IF_EXISTS_OR_ADD);
}

export function encodeCheckResponse(res: CheckResponse): Buffer {
  const w = new Writer();
  const status = new Writer().varintField(1, res.status.code >>> 0);
  if (res.status.message) status.stringField(2, res.status.message);
  w.messageField(1, status);
  if (res.denied) {
    const d = new Writer().messageField(1, new Writer().varintField(1, res.denied.httpStatus));
    for (const [k, v] of res.denied.headers) d.messageField(2, headerOption(k, v));
    d.stringField(3, res.denied.body);
    w.messageField(2, d);
  } else if (res.ok) {
    const o = new Writer();
    for (const [k, v] of res.ok.headers) o.messageField(2, headerOption(k, v));
    for (const h of res.ok.headersToRemove) o.stringField(5, h);
    for (const [k, v] of res.ok.responseHeadersToAdd) o.messageField(6, headerOption(k, v));
    for (const q of res.ok.queryParametersToRemove ?? []) o.stringField(8, q);
    w.messageField(3, o);
  }
  if (res.dynamicMetadata?.length) {
    const st = new Writer();
    // Struct.fields map entry { key = 1, value = 2 → Value { string_value = 3 } }.
    for (const [k, v] of res.dynamicMetadata) st.messageField(1, new Writer().stringField(1, k).messageField(2, new Writer().stringField(3, v)));
    w.messageField(4, st);
  }
  return w.finish();
}
