// The hand-written decoder of Envoy's access-log service messages
// (gateway/authz-als-proto.ts), checked against a reference implementation:
// @grpc/proto-loader (protobufjs) loading the .proto subset under test/proto,
// written from Envoy's published API. Random and mutated bytes never make the
// decoder throw anything but ProtoError. Also: the dynamic_metadata that Check
// answers carry (authz-grpc-proto.ts) as the reference reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadSync } from '@grpc/proto-loader';
import { decodeStreamAccessLogsMessage, MAX_ENTRIES, MAX_STRING, METADATA_NAMESPACE } from '../../../gateway/authz-als-proto.ts';
import { encodeCheckResponse, ProtoError } from '../../../gateway/authz-grpc-proto.ts';
import { alsMessage, alsRequest, entry } from './authz-als-support.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

function loadCheck() {
  const def = loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
  return (def['envoy.service.auth.v3.Authorization'] as unknown as Record<string, { responseDeserialize(b: Buffer): any }>).Check!;
}

test('a StreamAccessLogsMessage encoded by the reference implementation is read: log name, status, durations, the ext_authz metadata only', () => {
  const m = decodeStreamAccessLogsMessage(
    alsMessage(
      [
        entry({ metadata: { 'crossgate-route': 'air/flights', 'crossgate-client': 'buyer/portal', other: 'x' }, status: 200, startMs: 1_700_000_000_123, up: 0.15, down: 0.4 }),
        entry({ status: 401, down: 0.002 }),
        entry({ metadata: { 'crossgate-route': 'air/flights' }, namespace: 'envoy.filters.http.lua' }),
      ],
      'crossgate-als',
    ),
  );
  assert.equal(m.logName, 'crossgate-als');
  assert.equal(m.entries.length, 3);
  const [a, b, c] = m.entries;
  assert.equal(a!.status, 200);
  assert.equal(a!.upstreamSeconds, 0.15);
  assert.equal(a!.downstreamSeconds, 0.4);
  assert.deepEqual({ ...a!.metadata }, { 'crossgate-route': 'air/flights', 'crossgate-client': 'buyer/portal', other: 'x' });
  assert.equal(Object.getPrototypeOf(a!.metadata), null);
  assert.deepEqual([b!.status, b!.metadata, b!.upstreamSeconds, b!.downstreamSeconds], [401, undefined, undefined, 0.002]);
  // Only the ext_authz filter's namespace counts: another filter's "crossgate-route" is never read.
  assert.deepEqual([c!.status, c!.metadata], [undefined, undefined]);
});

test('tcp_logs, identifier-only messages and unknown fields are skipped; a map entry with its value before its key is read', () => {
  assert.deepEqual(decodeStreamAccessLogsMessage(alsRequest({ identifier: { log_name: 'x' }, tcp_logs: { log_entry: [{ common_properties: {} }] } })).entries, []);
  assert.deepEqual(decodeStreamAccessLogsMessage(new Uint8Array()), { logName: undefined, entries: [] });
  // http_logs { log_entry { common_properties { metadata { filter_metadata { value: Struct{route}, key: ns } } } } }, with unknown field 99 around.
  // Field numbers and lengths here stay under 2^14: at most two varint bytes.
  const varint = (n: number) => Buffer.from(n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
  const str = (f: number, s: string) => Buffer.concat([varint((f << 3) | 2), varint(Buffer.byteLength(s)), Buffer.from(s)]);
  const msg = (f: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([varint((f << 3) | 2), varint(body.length), body]);
  };
  const unknown = Buffer.from([0x98, 0x06, 0x01]);
  const value = msg(2, msg(1, str(1, 'crossgate-route'), msg(2, str(3, 'air/flights'))));
  const bytes = msg(2, msg(1, msg(1, msg(17, msg(1, value, str(1, METADATA_NAMESPACE), unknown)))));
  const got = decodeStreamAccessLogsMessage(Buffer.concat([unknown, bytes, unknown]));
  assert.deepEqual({ ...got.entries[0]!.metadata }, { 'crossgate-route': 'air/flights' });
});

test('out-of-range durations are ignored, not believed: negative, nanos over a second', () => {
  const m = decodeStreamAccessLogsMessage(
    alsMessage([{ common_properties: { time_to_last_upstream_rx_byte: { seconds: -5, nanos: 0 }, time_to_last_downstream_tx_byte: { seconds: 1, nanos: 2_000_000_000 } }, response: { response_code: { value: 200 } } }]),
  );
  const e = m.entries[0]!;
  assert.deepEqual([e.upstreamSeconds, e.downstreamSeconds, e.status], [undefined, undefined, 200]);
});

test('bounded: more than MAX_ENTRIES entries, a string over MAX_STRING bytes, bad UTF-8, truncation, groups are ProtoErrors', () => {
  assert.equal(decodeStreamAccessLogsMessage(alsMessage(Array.from({ length: MAX_ENTRIES }, () => ({})))).entries.length, MAX_ENTRIES);
  assert.throws(() => decodeStreamAccessLogsMessage(alsMessage(Array.from({ length: MAX_ENTRIES + 1 }, () => ({})))), { name: 'ProtoError', message: `more than ${MAX_ENTRIES} log entries in one message` });
  assert.throws(() => decodeStreamAccessLogsMessage(alsMessage([entry({ metadata: { 'crossgate-route': 'a'.repeat(MAX_STRING + 1) } })])), { name: 'ProtoError', message: `a string of more than ${MAX_STRING} bytes` });
  assert.throws(() => decodeStreamAccessLogsMessage(alsMessage([], 'x'.repeat(MAX_STRING + 1))), ProtoError);
  // A long value under another namespace is skipped unread.
  assert.equal(decodeStreamAccessLogsMessage(alsMessage([entry({ metadata: { big: 'b'.repeat(4 * MAX_STRING) }, namespace: 'other' })])).entries.length, 1);
  const full = alsMessage([entry({ metadata: { 'crossgate-route': 'air/flights' }, status: 200, startMs: 1, up: 0.1, down: 0.2 })], 'n');
  for (let cut = 1; cut < full.length; cut++) {
    try {
      decodeStreamAccessLogsMessage(full.subarray(0, cut));
    } catch (err) {
      assert.ok(err instanceof ProtoError, String(err));
    }
  }
  assert.throws(() => decodeStreamAccessLogsMessage(Buffer.from([0x0b])), ProtoError); // start group
  assert.throws(() => decodeStreamAccessLogsMessage(Buffer.from([0x10, 0x01])), ProtoError); // http_logs as a varint
  assert.throws(() => decodeStreamAccessLogsMessage(Buffer.from([0x0a, 0x03, 0x12, 0x01, 0xff])), ProtoError); // log_name not UTF-8
});

/** Whether the bytes are read, or refused with ProtoError (never anything else). */
function readOrProtoError(bytes: Uint8Array): boolean {
  try {
    decodeStreamAccessLogsMessage(bytes);
  } catch (err) {
    return err instanceof ProtoError;
  }
  return true;
}

test('property: random bytes are read or refused with ProtoError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), readOrProtoError),
    { numRuns: 5000 },
  );
  // Mutations of a real message reach deeper than random bytes.
  const base = alsMessage([entry({ metadata: { 'crossgate-route': 'air/flights', 'crossgate-client': 'buyer/portal' }, status: 200, startMs: 1_700_000_000_000, up: 0.1, down: 0.2 }), entry({ status: 401, down: 0.01 })], 'n');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = Buffer.from(base);
      for (const [i, v] of edits) b[i] = v;
      return readOrProtoError(b);
    }),
    { numRuns: 5000 },
  );
});

test('property: any entries the reference encodes are read back field for field', () => {
  const id = fc.stringMatching(/^[a-z0-9]{1,8}\/[a-z0-9]{1,8}$/);
  const spec = fc.record(
    {
      metadata: fc.dictionary(fc.oneof(fc.constant('crossgate-route'), fc.constant('crossgate-client'), fc.string({ minLength: 1, maxLength: 8 })), fc.oneof(id, fc.string({ maxLength: 20 })), { maxKeys: 4 }),
      namespace: fc.oneof(fc.constant(METADATA_NAMESPACE), fc.constant('envoy.filters.http.jwt_authn')),
      status: fc.integer({ min: 0, max: 999 }),
      startMs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
      up: fc.integer({ min: 0, max: 10_000_000 }).map((us) => us / 1e6),
      down: fc.integer({ min: 0, max: 10_000_000 }).map((us) => us / 1e6),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.array(spec, { maxLength: 8 }), (specs) => {
      const got = decodeStreamAccessLogsMessage(alsMessage(specs.map(entry)));
      assert.equal(got.entries.length, specs.length);
      specs.forEach((s, i) => {
        const e = got.entries[i]!;
        assert.equal(e.status, s.status);
        if (s.up !== undefined) assert.ok(Math.abs(e.upstreamSeconds! - s.up) < 1e-9);
        else assert.equal(e.upstreamSeconds, undefined);
        if (s.down !== undefined) assert.ok(Math.abs(e.downstreamSeconds! - s.down) < 1e-9);
        else assert.equal(e.downstreamSeconds, undefined);
        const mine = s.metadata !== undefined && (s.namespace ?? METADATA_NAMESPACE) === METADATA_NAMESPACE;
        // Value.kind is a oneof: an empty string_value is still on the wire, and read as "".
        if (mine) assert.deepEqual({ ...e.metadata }, { ...s.metadata });
        else assert.equal(e.metadata, undefined);
      });
    }),
    { numRuns: 300 },
  );
});

test("CheckResponse.dynamic_metadata: what we encode, the reference reads as a Struct of string values, on allow and deny", () => {
  const check = loadCheck();
  const md: Array<[string, string]> = [
    ['crossgate-route', 'air/flights'],
    ['crossgate-client', 'buyer/portal'],
  ];
  const a = check.responseDeserialize(encodeCheckResponse({ status: { code: 0 }, ok: { headers: [], headersToRemove: [], responseHeadersToAdd: [] }, dynamicMetadata: md }));
  assert.equal(a.http_response, 'ok_response');
  assert.deepEqual(a.dynamic_metadata, { fields: { 'crossgate-route': { kind: 'stringValue', stringValue: 'air/flights' }, 'crossgate-client': { kind: 'stringValue', stringValue: 'buyer/portal' } } });
  const d = check.responseDeserialize(encodeCheckResponse({ status: { code: 8 }, denied: { httpStatus: 429, headers: [], body: '' }, dynamicMetadata: md.slice(0, 1) }));
  assert.equal(d.denied_response.status.code, 429);
  assert.deepEqual(Object.keys(d.dynamic_metadata.fields), ['crossgate-route']);
  // None asked: no dynamic_metadata on the wire.
  assert.equal(check.responseDeserialize(encodeCheckResponse({ status: { code: 7 }, denied: { httpStatus: 403, headers: [], body: '' } })).dynamic_metadata, null);
});
