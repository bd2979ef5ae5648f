// The hand-written protobuf codec of crossgate-authz's gRPC Check API
// (gateway/authz-grpc-proto.ts), checked against a reference implementation:
// @grpc/proto-loader (protobufjs) loading the .proto subset under test/proto,
// written from Envoy's published API. Random bytes never make the decoder
// throw anything but ProtoError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadSync } from '@grpc/proto-loader';
import { decodeCheckRequest, encodeCheckResponse, MAX_EXTENSIONS, MAX_HEADERS, ProtoError, type CheckResponse } from '../../../gateway/authz-grpc-proto.ts';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

export function loadCheck() {
  const def = loadSync('envoy/service/auth/v3/external_auth.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
  const svc = def['envoy.service.auth.v3.Authorization'] as unknown as Record<string, { requestSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): any }>;
  return svc.Check!;
}

const check = loadCheck();

function request(over: { headers?: Record<string, string>; ext?: Record<string, string>; address?: string; method?: string; path?: string } = {}): unknown {
  return {
    attributes: {
      source: { address: { socket_address: { address: over.address ?? '203.0.113.7', port_value: 40000 } }, principal: 'spiffe://x' },
      destination: { address: { socket_address: { address: '10.0.0.1', port_value: 443 } } },
      request: { http: { id: '123', method: over.method ?? 'GET', path: over.path ?? '/flights/1?x=1', host: 'api.example', scheme: 'https', headers: over.headers ?? { 'x-api-key': 'k', ':authority': 'api.example' }, protocol: 'HTTP/2' } },
      context_extensions: over.ext ?? { 'crossgate-route': 'air/flights' },
    },
  };
}

test('a CheckRequest encoded by the reference implementation is read: address, method, path, host, scheme, headers, context extensions', () => {
  const got = decodeCheckRequest(check.requestSerialize(request({ headers: { 'x-api-key': 'ké', 'X-Upper': 'v' } })));
  assert.equal(got.sourceAddress, '203.0.113.7');
  assert.equal(got.method, 'GET');
  assert.equal(got.path, '/flights/1?x=1');
  assert.equal(got.host, 'api.example');
  assert.equal(got.scheme, 'https');
  assert.deepEqual({ ...got.headers }, { 'x-api-key': 'ké', 'x-upper': 'v' });
  assert.deepEqual({ ...got.contextExtensions }, { 'crossgate-route': 'air/flights' });
  assert.equal(Object.getPrototypeOf(got.headers), null);
});

test('an empty CheckRequest is read as empty; a "__proto__" header is only a header', () => {
  const empty = decodeCheckRequest(new Uint8Array());
  assert.equal(empty.method, '');
  assert.deepEqual(Object.keys(empty.contextExtensions), []);
  const odd = decodeCheckRequest(check.requestSerialize(request({ headers: Object.fromEntries([['__proto__', 'x'], ['constructor', 'y']]) as Record<string, string> })));
  assert.equal(odd.headers.__proto__ as unknown, 'x');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('unknown fields of every wire type are skipped', () => {
  const known = check.requestSerialize(request());
  // field 99 varint, field 98 fixed64, field 97 bytes, field 96 fixed32 — before and after the known field
  const unknown = Buffer.from([0x98, 0x06, 0x96, 0x01, 0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x06, 0x02, 0xff, 0xfe, 0x85, 0x06, 1, 2, 3, 4]);
  const got = decodeCheckRequest(Buffer.concat([unknown, known, unknown]));
  assert.equal(got.contextExtensions['crossgate-route'], 'air/flights');
  assert.equal(got.headers['x-api-key'], 'k');
});

test('bounded: more than MAX_HEADERS headers or MAX_EXTENSIONS extensions is refused; groups, bad UTF-8, truncation are ProtoErrors', () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, 'v']));
  assert.equal(Object.keys(decodeCheckRequest(check.requestSerialize(request({ headers: many(MAX_HEADERS) }))).headers).length, MAX_HEADERS);
  assert.throws(() => decodeCheckRequest(check.requestSerialize(request({ headers: many(MAX_HEADERS + 1) }))), ProtoError);
  assert.throws(() => decodeCheckRequest(check.requestSerialize(request({ ext: many(MAX_EXTENSIONS + 1) }))), ProtoError);
  const full = check.requestSerialize(request());
  for (let cut = 1; cut < full.length; cut++) {
    try {
      decodeCheckRequest(full.subarray(0, cut));
    } catch (err) {
      assert.ok(err instanceof ProtoError, String(err));
    }
  }
  assert.throws(() => decodeCheckRequest(Buffer.from([0x0b])), ProtoError); // start group
  assert.throws(() => decodeCheckRequest(Buffer.from([0x00, 0x00])), ProtoError); // field 0
  assert.throws(() => decodeCheckRequest(Buffer.from([0x08, 0x01])), ProtoError); // attributes as a varint
  // attributes { context_extensions { key: "\xff" } }
  assert.throws(() => decodeCheckRequest(Buffer.from([0x0a, 0x05, 0x52, 0x03, 0x0a, 0x01, 0xff])), ProtoError);
});

test('property: random bytes are read or refused with ProtoError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      try {
        decodeCheckRequest(bytes);
      } catch (err) {
        return err instanceof ProtoError;
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  // Mutations of a real request reach deeper than random bytes.
  const base = check.requestSerialize(request());
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = Buffer.from(base);
      for (const [i, v] of edits) b[i] = v;
      try {
        decodeCheckRequest(b);
      } catch (err) {
        return err instanceof ProtoError;
      }
      return true;
    }),
    { numRuns: 5000 },
  );
});

test('property: any request the reference encodes is read back field for field', () => {
  const str = fc.string({ maxLength: 20 });
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.toLowerCase()), str, { maxKeys: 20 }), fc.dictionary(str, str, { maxKeys: 8 }), str, str, (headers, ext, method, path) => {
      const got = decodeCheckRequest(check.requestSerialize(request({ headers, ext, method, path })));
      assert.deepEqual({ ...got.headers }, { ...headers });
      assert.deepEqual({ ...got.contextExtensions }, { ...ext });
      assert.equal(got.method, method);
      assert.equal(got.path, path);
    }),
    { numRuns: 500 },
  );
});

test('CheckResponse: what we encode, the reference decodes to the same allow and deny', () => {
  const ok: CheckResponse = {
    status: { code: 0 },
    ok: { headers: [['x-crossgate-client', 'buyer/portal'], ['x-env', 'prod']], headersToRemove: ['x-api-key', 'x-debug'], responseHeadersToAdd: [['ratelimit', '"gold-60s";r=999;t=60']] },
  };
  const a = check.responseDeserialize(encodeCheckResponse(ok));
  assert.equal(a.status.code, 0);
  assert.equal(a.http_response, 'ok_response');
  assert.deepEqual(
    a.ok_response.headers.map((h: any) => [h.header.key, h.header.value, h.append_action]),
    [
      ['x-crossgate-client', 'buyer/portal', 2],
      ['x-env', 'prod', 2],
    ],
  );
  assert.deepEqual(a.ok_response.headers_to_remove, ['x-api-key', 'x-debug']);
  assert.deepEqual(a.ok_response.response_headers_to_add.map((h: any) => [h.header.key, h.header.value]), [['ratelimit', '"gold-60s";r=999;t=60']]);

  const bare = check.responseDeserialize(encodeCheckResponse({ status: { code: 0 }, ok: { headers: [], headersToRemove: [], responseHeadersToAdd: [] } }));
  assert.equal(bare.http_response, 'ok_response', 'an empty ok_response is still there');

  const deny: CheckResponse = { status: { code: 8, message: 'Too Many Requests' }, denied: { httpStatus: 429, headers: [['retry-after', '60'], ['content-type', 'application/problem+json']], body: '{"title":"Tôo"}' } };
  const d = check.responseDeserialize(encodeCheckResponse(deny));
  assert.equal(d.status.code, 8);
  assert.equal(d.status.message, 'Too Many Requests');
  assert.equal(d.http_response, 'denied_response');
  assert.equal(d.denied_response.status.code, 429);
  assert.deepEqual(d.denied_response.headers.map((h: any) => [h.header.key, h.header.value, h.append_action]), [
    ['retry-after', '60', 2],
    ['content-type', 'application/problem+json', 2],
  ]);
  assert.equal(d.denied_response.body, '{"title":"Tôo"}');
});

test('property: random allow and deny responses round-trip through the reference decoder', () => {
  const pair = fc.tuple(fc.string({ minLength: 1, maxLength: 16 }), fc.string({ maxLength: 40 }));
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 6 }), fc.array(fc.string({ minLength: 1, maxLength: 16 }), { maxLength: 4 }), fc.integer({ min: 100, max: 599 }), fc.string({ maxLength: 200 }), fc.boolean(), (headers, remove, status, body, allow) => {
      const res: CheckResponse = allow ? { status: { code: 0 }, ok: { headers, headersToRemove: remove, responseHeadersToAdd: headers } } : { status: { code: 7, message: 'm' }, denied: { httpStatus: status, headers, body } };
      const got = check.responseDeserialize(encodeCheckResponse(res));
      const hs = (list: any[]) => list.map((h) => [h.header.key, h.header.value]);
      if (allow) {
        assert.deepEqual(hs(got.ok_response.headers), headers);
        assert.deepEqual(got.ok_response.headers_to_remove, remove);
        assert.deepEqual(hs(got.ok_response.response_headers_to_add), headers);
      } else {
        assert.equal(got.status.code, 7);
        assert.equal(got.denied_response.status.code, status);
        assert.deepEqual(hs(got.denied_response.headers), headers);
        assert.equal(got.denied_response.body, body);
      }
    }),
    { numRuns: 300 },
  );
});
