// crossgate-authz's receiver of Envoy's access log (gateway/authz-als.ts)
// with real gRPC clients (@grpc/grpc-js, the test .protos loaded by
// @grpc/proto-loader) over HTTP/2 against startAuthz(): Check answers carry
// the route and client as dynamic_metadata; log entries bringing that
// metadata back are recorded into /summary and /summary/day; entries
// without it, or naming a route the config does not know, are not; callers
// without the token or an allowed certificate are refused; oversized,
// malformed and compressed messages end the stream with their status.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunningAuthz } from '../../../gateway/gateway.ts';
import { ALS_PATH, checkMetadata, entryOutcome, MAX_ALS_MESSAGE } from '../../../gateway/authz-als.ts';
import { MAX_ENTRIES, type AlsEntry } from '../../../gateway/authz-als-proto.ts';
import { checkCredentials, ConfigDir, newKey, policy, route } from './fixtures.ts';
import { Authorization, check, checkReq, grpcFrame, makeCerts, SERVER_CERT, startGrpcAuthz, tlsClient, tokenDir, type Client } from './grpc-support.ts';
import { AccessLogService, alsMessage, alsObject, entry, streamLogs, structStrings, type AlsClient } from './authz-als-support.ts';

const TOKEN = 'proxy-token-0123456789abcdef';

type ApiSummary = { requests: number; clientErrors: number; serverErrors: number; maxMs: number; meanMs: number; statusCodes: Record<string, number> };

async function summary(authz: RunningAuthz): Promise<Record<string, ApiSummary>> {
  return ((await (await fetch(`${authz.adminUrl}/summary`)).json()) as { apis: Record<string, ApiSummary> }).apis;
}

async function day(authz: RunningAuthz): Promise<Record<string, { requests: number; clientErrors: number; serverErrors: number; clients: Record<string, { requests: number; errors: number }> }>> {
  return ((await (await fetch(`${authz.adminUrl}/summary/day`)).json()) as { apis: any }).apis;
}

/** A counter's value in authz's /metrics (0 when absent). */
async function metric(authz: RunningAuthz, series: string): Promise<number> {
  const text = await authz.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Raw HTTP/2 to the gRPC listener: one call with `body`, its headers and trailers. */
function raw(url: string, path: string, body: Buffer | Buffer[], token = TOKEN): Promise<Record<string, unknown>> {
  const session = connect(url);
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', authorization: `Bearer ${token}`, te: 'trailers' });
    let head: Record<string, unknown> = {};
    s.on('response', (h) => (head = { ...h }));
    s.on('trailers', (t) => (head = { ...head, ...t }));
    s.on('data', () => undefined);
    s.on('close', () => resolve(head));
    s.on('error', reject);
    const parts = Array.isArray(body) ? body : [body];
    for (const p of parts.slice(0, -1)) s.write(p);
    s.end(parts.at(-1));
  }).finally(() => session.close());
}

const framed = grpcFrame;

describe('crossgate-authz access-log service (ALS)', () => {
  let cfg: ConfigDir;
  let dir: string;
  let authz: RunningAuthz;
  let checks: Client;
  let logs: AlsClient;
  const key = newKey();
  const limited = newKey();

  before(async () => {
    dir = await tokenDir('authz-als', TOKEN);
    cfg = await ConfigDir.create('authzals');
    cfg.routes = [
      route('air/flights', { basePath: '/flights', tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'air/key', 10)] }),
      route('air/limited', { basePath: '/limited', tiers: [{ name: 'bronze', limits: [{ requests: 1, periodSeconds: 3600 }] }], policies: [policy('api-key', {}, 'air/limited-key')] }),
      route('air/quiet', { basePath: '/quiet', policies: [] }),
    ];
    cfg.credentials = checkCredentials(key, limited);
    await cfg.write();
    authz = await startGrpcAuthz(cfg, dir);
    const target = new URL(authz.grpcUrl!).host;
    checks = new Authorization(target, grpc.credentials.createInsecure());
    logs = new AccessLogService(target, grpc.credentials.createInsecure());
  });

  after(async () => {
    checks?.close();
    logs?.close();
    await authz?.stop(0);
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('Check answers carry dynamic_metadata: the route and the client decided on allow and on a refusal that named one; the route alone without a client; none without a route', async () => {
    const allow = await check(checks, checkReq('air/flights', '/flights/1', { 'x-api-key': key.key, 'x-crossgate-client': 'forged/client' }), TOKEN);
    assert.equal(allow.status.code, 0);
    assert.deepEqual(structStrings(allow.dynamic_metadata), { 'crossgate-route': 'air/flights', 'crossgate-client': 'buyer/portal' });
    const first = await check(checks, checkReq('air/limited', '/limited/x', { 'x-api-key': limited.key }), TOKEN);
    assert.equal(first.status.code, 0);
    const over = await check(checks, checkReq('air/limited', '/limited/x', { 'x-api-key': limited.key }), TOKEN);
    assert.equal(over.denied_response.status.code, 429);
    assert.deepEqual(structStrings(over.dynamic_metadata), { 'crossgate-route': 'air/limited', 'crossgate-client': 'buyer/batch' });
    const nokey = await check(checks, checkReq('air/flights', '/flights/1'), TOKEN);
    assert.equal(nokey.denied_response.status.code, 401);
    assert.deepEqual(structStrings(nokey.dynamic_metadata), { 'crossgate-route': 'air/flights' });
    const noRoute = await check(checks, checkReq(undefined, '/flights/1', { 'x-api-key': key.key }), TOKEN);
    assert.equal(noRoute.denied_response.status.code, 403);
    assert.equal(noRoute.dynamic_metadata, null);
  });

  test('a stream of entries bringing the metadata back is recorded once each into /summary, /summary/day and /metrics, with the upstream latency where Envoy gives it', async () => {
    const allow = structStrings((await check(checks, checkReq('air/flights', '/flights/1', { 'x-api-key': key.key }), TOKEN)).dynamic_metadata)!;
    const refused = structStrings((await check(checks, checkReq('air/flights', '/flights/1'), TOKEN)).dynamic_metadata)!;
    const before = await metric(authz, 'crossgate_authz_als_entries_total{result="recorded"}');
    const t = Date.now();
    const res = await streamLogs(
      logs,
      [
        alsObject(
          [
            // Upstream done at 150 ms, the client's download done at 400 ms: the API's figure is the upstream's.
            entry({ metadata: allow, status: 200, startMs: t - 500, up: 0.15, down: 0.4 }),
            entry({ metadata: allow, status: 200, startMs: t - 300, up: 0.01, down: 0.02 }),
            // Recorded when it arrives: Envoy's start_time (here three days off) moves nothing.
            entry({ metadata: allow, status: 503, startMs: t - 3 * 86_400_000, up: 0.005, down: 0.006 }),
          ],
          'crossgate-als',
        ),
        // A refusal: Envoy answered from the check, no upstream time.
        alsObject([entry({ metadata: refused, status: 401, startMs: t - 100, down: 0.002 })]),
      ],
      TOKEN,
    );
    assert.deepEqual(res, {}, 'StreamAccessLogsResponse, empty');
    const s = (await summary(authz))['air/flights']!;
    assert.deepEqual([s.requests, s.clientErrors, s.serverErrors, s.statusCodes], [4, 1, 1, { '200': 2, '401': 1, '503': 1 }], JSON.stringify(s));
    assert.equal(s.maxMs, 150);
    assert.equal(s.meanMs, Math.round(((0.15 + 0.01 + 0.005 + 0.002) / 4) * 10000) / 10);
    const d = (await day(authz))['air/flights']!;
    assert.deepEqual([d.requests, d.clientErrors, d.serverErrors], [4, 1, 1]);
    assert.deepEqual([d.clients['buyer/portal']?.requests, d.clients['buyer/portal']?.errors, d.clients['-']?.requests], [3, 1, 1], JSON.stringify(d.clients));
    assert.equal((await metric(authz, 'crossgate_authz_als_entries_total{result="recorded"}')) - before, 4);
    assert.equal(await metric(authz, 'crossgate_gateway_requests_total{api="air/flights",client="buyer/portal",code_class="2xx"}'), 2);
    assert.ok((await metric(authz, 'crossgate_authz_als_streams_total{result="ended"}')) >= 1);
  });

  test('entries without the ext_authz metadata, with it under another filter, naming an unknown route or a malformed client, or without a response are counted and not recorded', async () => {
    const count = (r: string) => metric(authz, `crossgate_authz_als_entries_total{result="${r}"}`);
    const before = { no_metadata: await count('no_metadata'), unknown_route: await count('unknown_route'), bad_client: await count('bad_client'), no_response: await count('no_response') };
    const t = Date.now();
    await streamLogs(
      logs,
      [
        alsObject([
          // Envoy answered before ext_authz ran (or the route has no SecurityPolicy): nothing names the route.
          entry({ status: 404, startMs: t, down: 0.001 }),
          // Another filter (a Lua script, a client-influenced header copied into metadata) cannot speak for authz.
          entry({ metadata: { 'crossgate-route': 'air/quiet' }, namespace: 'envoy.filters.http.lua', status: 200, down: 0.001 }),
          entry({ metadata: { other: 'x' }, status: 200, down: 0.001 }),
          entry({ metadata: { 'crossgate-route': 'air/nope' }, status: 200, down: 0.001 }),
          entry({ metadata: { 'crossgate-route': 'not a route' }, status: 200, down: 0.001 }),
          entry({ metadata: { 'crossgate-route': 'air/quiet', 'crossgate-client': '../../x' }, status: 200, down: 0.001 }),
          entry({ metadata: { 'crossgate-route': 'air/quiet' }, down: 0.001 }),
          entry({ metadata: { 'crossgate-route': 'air/quiet' }, status: 0, down: 0.001 }),
        ]),
      ],
      TOKEN,
    );
    const after = { no_metadata: await count('no_metadata'), unknown_route: await count('unknown_route'), bad_client: await count('bad_client'), no_response: await count('no_response') };
    assert.deepEqual(
      Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]])),
      { no_metadata: 3, unknown_route: 2, bad_client: 1, no_response: 2 },
    );
    const s = await summary(authz);
    assert.equal(s['air/quiet'], undefined, JSON.stringify(s['air/quiet']));
    assert.equal(s['air/nope'], undefined);
  });

  test('a caller without the token, or with a wrong one, is refused UNAUTHENTICATED and nothing it sends is recorded', async () => {
    const before = await metric(authz, 'crossgate_authz_grpc_callers_refused_total{reason="token"}');
    const msg = alsObject([entry({ metadata: { 'crossgate-route': 'air/quiet' }, status: 200, down: 0.001 })]);
    for (const t of [null, 'wrong-token-0123456789abc']) {
      await assert.rejects(streamLogs(logs, [msg], t), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAUTHENTICATED);
        assert.equal(err.details, "calls need the proxy's token in the authorization metadata");
        return true;
      });
    }
    assert.equal((await metric(authz, 'crossgate_authz_grpc_callers_refused_total{reason="token"}')) - before, 2);
    assert.equal((await summary(authz))['air/quiet'], undefined);
  });

  test('raw HTTP/2: another method is UNIMPLEMENTED; oversized, too many entries, malformed, compressed and cut messages end the stream with their status and message, counted; messages split across writes are read', async () => {
    const url = authz.grpcUrl!;
    const count = (r: string) => metric(authz, `crossgate_authz_als_streams_total{result="${r}"}`);
    const before = { oversized: await count('oversized'), malformed: await count('malformed'), compressed: await count('compressed') };
    const head = Buffer.alloc(5);
    head.writeUInt32BE(MAX_ALS_MESSAGE + 1, 1);
    const big = await raw(url, ALS_PATH, head);
    assert.equal(big['grpc-status'], '8');
    assert.equal(decodeURIComponent(String(big['grpc-message'])), `a StreamAccessLogsMessage is at most ${MAX_ALS_MESSAGE} bytes`);
    const many = await raw(url, ALS_PATH, framed(alsMessage(Array.from({ length: MAX_ENTRIES + 1 }, () => ({})))));
    assert.equal(many['grpc-status'], '8');
    assert.equal(decodeURIComponent(String(many['grpc-message'])), `not a StreamAccessLogsMessage: more than ${MAX_ENTRIES} log entries in one message`);
    const bad = await raw(url, ALS_PATH, framed(Buffer.from([0x0b])));
    assert.equal(bad['grpc-status'], '3');
    assert.equal(decodeURIComponent(String(bad['grpc-message'])), 'not a StreamAccessLogsMessage: wire type 3 where 2 is expected');
    const zipped = await raw(url, ALS_PATH, framed(Buffer.from([1]), 1));
    assert.equal(zipped['grpc-status'], '12');
    assert.equal(decodeURIComponent(String(zipped['grpc-message'])), 'compressed messages are not accepted');
    const other = await raw(url, '/envoy.service.accesslog.v3.AccessLogService/Other', framed(Buffer.alloc(0)));
    assert.equal(other['grpc-status'], '12');
    assert.equal(decodeURIComponent(String(other['grpc-message'])), 'only envoy.service.auth.v3.Authorization/Check and envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs are served');
    const cut = await raw(url, ALS_PATH, framed(alsMessage([entry({ status: 200 })])).subarray(0, 12));
    assert.equal(cut['grpc-status'], '3');
    assert.equal(decodeURIComponent(String(cut['grpc-message'])), 'the stream ended inside a message');
    assert.deepEqual(
      { oversized: (await count('oversized')) - before.oversized, malformed: (await count('malformed')) - before.malformed, compressed: (await count('compressed')) - before.compressed },
      { oversized: 2, malformed: 2, compressed: 1 },
    );
    // Two messages, the second split in three writes (prefix cut too): both read, the call OK.
    const one = framed(alsMessage([entry({ metadata: { 'crossgate-route': 'air/quiet' }, status: 204, down: 0.003 })], 'split'));
    const two = framed(alsMessage([entry({ metadata: { 'crossgate-route': 'air/quiet' }, status: 204, down: 0.004 })]));
    const ok = await raw(url, ALS_PATH, [one, two.subarray(0, 3), two.subarray(3, 20), two.subarray(20)]);
    assert.equal(ok['grpc-status'], '0');
    assert.equal((await summary(authz))['air/quiet']?.requests, 2);
    // authz is still answering.
    assert.equal((await check(checks, checkReq('air/quiet', '/quiet/x'), TOKEN)).status.code, 0);
  });
});

describe('crossgate-authz access-log service over mTLS with allowed client SANs', () => {
  let dir = '';
  let cfg: ConfigDir | undefined;
  let authz: RunningAuthz | undefined;
  let skip: string | undefined;
  const SPIFFE = 'spiffe://cluster.local/ns/envoy-gateway-system/sa/envoy';

  before(async () => {
    dir = await tokenDir('authz-als-mtls', TOKEN);
    try {
      makeCerts(dir, [
        SERVER_CERT,
        { name: 'envoy', cn: 'envoy', ext: `extendedKeyUsage=clientAuth\nsubjectAltName=URI:${SPIFFE}` },
        { name: 'other', cn: 'envoy', ext: 'extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/default/sa/other' },
      ]);
    } catch (err) {
      skip = `openssl unavailable: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    cfg = await ConfigDir.create('authzalsmtls');
    cfg.routes = [route('air/quiet', { basePath: '/quiet', policies: [] })];
    await cfg.write();
    authz = await startGrpcAuthz(cfg, dir, { tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt'), allowedClientSans: [SPIFFE] } });
  });

  after(async () => {
    await authz?.stop(0);
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (name?: string): AlsClient => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const creds = grpc.credentials.createSsl(ca, name ? readFileSync(join(dir, `${name}.key`)) : null, name ? readFileSync(join(dir, `${name}.crt`)) : null);
    return new AccessLogService(new URL(authz!.grpcUrl!).host, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  };

  test("the allowed certificate's stream is recorded (no token); one of the same CA naming another SAN is PERMISSION_DENIED; none is refused at the handshake", async (t) => {
    if (skip) return t.skip(skip);
    const target = new URL(authz!.grpcUrl!).host;
    const checks = tlsClient(target, dir, 'envoy');
    const [envoy, other, none] = [client('envoy'), client('other'), client()];
    try {
      const md = structStrings((await check(checks, checkReq('air/quiet', '/quiet/x'), null)).dynamic_metadata)!;
      assert.deepEqual(md, { 'crossgate-route': 'air/quiet' });
      const msg = alsObject([entry({ metadata: md, status: 200, down: 0.001 })]);
      await streamLogs(envoy, [msg], null);
      await assert.rejects(streamLogs(other, [msg], TOKEN), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.PERMISSION_DENIED);
        assert.equal(err.details, 'the client certificate names none of the allowed callers (--grpc-client-san)');
        return true;
      });
      await assert.rejects(streamLogs(none, [msg], TOKEN), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      const s = ((await (await fetch(`${authz!.adminUrl}/summary`)).json()) as { apis: Record<string, ApiSummary> }).apis;
      assert.equal(s['air/quiet']?.requests, 1, 'only the allowed caller recorded');
    } finally {
      for (const c of [checks, envoy, other, none]) c.close();
    }
  });
});

describe('what an entry records (entryOutcome) and what a Check answer carries (checkMetadata)', () => {
  const knows = (r: string) => r === 'air/flights';
  const e = (o: Partial<AlsEntry>): AlsEntry => ({ status: 200, upstreamSeconds: undefined, downstreamSeconds: undefined, metadata: Object.assign(Object.create(null), { 'crossgate-route': 'air/flights' }), ...o });

  test('the route and client from the metadata; the upstream latency first, else the downstream one, else 0', () => {
    assert.deepEqual(entryOutcome(e({ upstreamSeconds: 0.1, downstreamSeconds: 0.3 }), knows), { ok: true, route: 'air/flights', client: undefined, status: 200, seconds: 0.1 });
    assert.equal((entryOutcome(e({ downstreamSeconds: 0.3 }), knows) as { seconds: number }).seconds, 0.3);
    assert.equal((entryOutcome(e({}), knows) as { seconds: number }).seconds, 0);
    const withClient = entryOutcome(e({ metadata: { 'crossgate-route': 'air/flights', 'crossgate-client': 'buyer/portal' } }), knows);
    assert.equal((withClient as { client: string }).client, 'buyer/portal');
  });

  test('the reasons an entry is not recorded', () => {
    assert.deepEqual(entryOutcome(e({ metadata: undefined }), knows), { ok: false, reason: 'no_metadata' });
    assert.deepEqual(entryOutcome(e({ metadata: {} }), knows), { ok: false, reason: 'no_metadata' });
    assert.deepEqual(entryOutcome(e({ metadata: { 'crossgate-route': 'air/other' } }), knows), { ok: false, reason: 'unknown_route' });
    assert.deepEqual(entryOutcome(e({ metadata: { 'crossgate-route': 'air/flights', 'crossgate-client': 'a b' } }), knows), { ok: false, reason: 'bad_client' });
    for (const status of [undefined, 0, 99, 600, 2 ** 40]) assert.deepEqual(entryOutcome(e({ status }), knows), { ok: false, reason: 'no_response' }, String(status));
  });

  test('checkMetadata: only well-formed ids, the client only when there is one', () => {
    assert.deepEqual(checkMetadata('air/flights', 'buyer/portal'), [
      ['crossgate-route', 'air/flights'],
      ['crossgate-client', 'buyer/portal'],
    ]);
    assert.deepEqual(checkMetadata('air/flights', undefined), [['crossgate-route', 'air/flights']]);
    assert.deepEqual(checkMetadata('not a route', 'buyer/portal'), []);
  });
});
