// crossgate-authz's gRPC Check API (gateway/authz-grpc.ts) with a real gRPC
// client (@grpc/grpc-js, the test .proto loaded by @grpc/proto-loader) over
// HTTP/2 against startAuthz(): allow with headers added and removed, each
// deny with its HTTP status and google.rpc code, the route only from
// context_extensions, the caller's token, and mTLS.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunningAuthz } from '../../../gateway/gateway.ts';
import { ClientSanAllowList, MAX_CLIENT_SANS, MAX_SAN, parseSubjectAltName, startAuthzGrpcServer } from '../../../gateway/authz-grpc.ts';
import { TrustedProxies } from '../../../gateway/client-address.ts';
import { grpcOptions } from '../../../gateway/main.ts';
import { NO_PLATFORM_SETTINGS, type PlatformSettings } from '../../../api/platform.ts';
import type { Credential, Route } from '../../../api/gateway/config.ts';
import { checkCredentials, checkRoutes, ConfigDir, cred, newKey, policy, route, silent } from './fixtures.ts';
import { Authorization, check, checkReq, checkReqOnHost, grpcFrame, makeCerts, SERVER_CERT, startGrpcAuthz, tlsClient, tokenDir, type CertSpec, type Client } from './grpc-support.ts';
import { structStrings } from './authz-als-support.ts';

const TOKEN = 'proxy-token-0123456789abcdef';
const call = (client: Client, req: unknown, token: string | null = TOKEN) => check(client, req, token);

const hv = (list: any[]): Record<string, string> => Object.fromEntries(list.map((h) => [h.header.key, h.header.value]));

/** Registers, in the calling describe(), authz with its gRPC listener over `routes` and `credentials`, and a Check client; both set once loaded. */
function grpcSuite(name: string, routes: Route[], credentials: Record<string, Credential>, opts: { platform?: PlatformSettings } = {}): { authz: RunningAuthz; client: Client } {
  const s = {} as { authz: RunningAuthz; client: Client };
  let cfg: ConfigDir | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = await tokenDir(name, TOKEN);
    cfg = await ConfigDir.create(name);
    cfg.routes = routes;
    cfg.credentials = credentials;
    await cfg.write();
    s.authz = await startGrpcAuthz(cfg, dir, opts);
    s.client = new Authorization(new URL(s.authz.grpcUrl!).host, grpc.credentials.createInsecure());
  });
  after(async () => {
    s.client?.close();
    await s.authz?.stop(0);
    await cfg?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return s;
}

describe('crossgate-authz gRPC Check', () => {
  let cfg: ConfigDir;
  let dir: string;
  let authz: RunningAuthz;
  let client: Client;
  const key = newKey();
  const limited = newKey();

  before(async () => {
    dir = await tokenDir('authz-grpc', TOKEN);
    cfg = await ConfigDir.create('authzgrpc');
    cfg.routes = [
      ...checkRoutes(),
    ];
    cfg.credentials = checkCredentials(key, limited);
    await cfg.write();
    // Envoy's source address is the client unless it is a trusted proxy: then X-Forwarded-For is walked.
    authz = await startGrpcAuthz(cfg, dir, { trustedProxies: ['192.0.2.1'] });
    assert.ok(authz.loader.current, 'config loaded');
    assert.ok(authz.grpcUrl);
    client = new Authorization(new URL(authz.grpcUrl).host, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await authz?.stop(0);
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('allow: status OK, the client identity and injected headers set (overwrite), the key and removed headers listed, RateLimit for the response', async () => {
    const res = await call(client, checkReq('air/flights', '/flights/FL1?date=2026-01-01', { 'x-api-key': key.key, 'x-debug': '1', 'x-crossgate-client': 'forged' }));
    assert.equal(res.status.code, 0);
    assert.equal(res.http_response, 'ok_response');
    const add = hv(res.ok_response.headers);
    assert.equal(add['x-crossgate-client'], 'buyer/portal');
    assert.equal(add['x-env'], 'prod');
    assert.ok(res.ok_response.headers.every((h: any) => h.append_action === 2), 'OVERWRITE_IF_EXISTS_OR_ADD');
    assert.deepEqual(res.ok_response.headers_to_remove, ['x-api-key', 'x-debug']);
    assert.match(hv(res.ok_response.response_headers_to_add).ratelimit ?? '', /^"gold-60s";r=\d+;t=\d+$/);
  });

  test('allow without a client identity: a client-sent x-crossgate-client is removed', async () => {
    const res = await call(client, checkReq('air/edge', '/edge/x', { 'x-crossgate-client': 'forged' }));
    assert.equal(res.status.code, 0);
    assert.equal(hv(res.ok_response.headers)['x-crossgate-client'], undefined);
    assert.ok(res.ok_response.headers_to_remove.includes('x-crossgate-client'));
  });

  test('no key → denied 401 / UNAUTHENTICATED with WWW-Authenticate and the problem body', async () => {
    const res = await call(client, checkReq('air/flights', '/flights/1'));
    assert.equal(res.status.code, 16);
    assert.equal(res.http_response, 'denied_response');
    assert.equal(res.denied_response.status.code, 401);
    const h = hv(res.denied_response.headers);
    assert.equal(h['content-type'], 'application/problem+json');
    const body = JSON.parse(res.denied_response.body);
    assert.equal(body.type, 'https://crossgate.dev/problems/missing-api-key');
    assert.equal(body.status, 401);
  });

  test("the key on another route's check (wrong route id) is refused; an unknown route is 404 / NOT_FOUND", async () => {
    const other = await call(client, checkReq('air/limited', '/limited/x', { 'x-api-key': key.key }));
    assert.notEqual(other.status.code, 0);
    assert.ok([401, 403].includes(other.denied_response.status.code), String(other.denied_response.status.code));
    const unknown = await call(client, checkReq('air/nope', '/flights/1', { 'x-api-key': key.key }));
    assert.equal(unknown.status.code, 5);
    assert.equal(unknown.denied_response.status.code, 404);
    // A path outside the named route's base path: authz applies no other route's policies.
    const outside = await call(client, checkReq('air/flights', '/limited/x', { 'x-api-key': key.key }));
    assert.equal(outside.denied_response.status.code, 404);
  });

  test('over the tier → 429 / RESOURCE_EXHAUSTED with Retry-After and RateLimit', async () => {
    const codes: number[] = [];
    let last: any;
    for (let i = 0; i < 3; i++) {
      last = await call(client, checkReq('air/limited', '/limited/x', { 'x-api-key': limited.key }));
      codes.push(last.status.code);
    }
    assert.deepEqual(codes, [0, 0, 8]);
    assert.equal(last.denied_response.status.code, 429);
    const h = hv(last.denied_response.headers);
    assert.match(h['retry-after'] ?? '', /^\d+$/);
    assert.ok(h.ratelimit);
    assert.equal(JSON.parse(last.denied_response.body).status, 429);
  });

  test('blocked IP → 403 / PERMISSION_DENIED; X-Forwarded-For counts only when Envoy reports a trusted proxy as the source', async () => {
    const blocked = await call(client, checkReq('air/edge', '/edge/x', {}, '203.0.113.5'));
    assert.equal(blocked.status.code, 7);
    assert.equal(blocked.denied_response.status.code, 403);
    const spoof = await call(client, checkReq('air/edge', '/edge/x', { 'x-forwarded-for': '198.51.100.1' }, '203.0.113.5'));
    assert.equal(spoof.denied_response?.status.code, 403, 'an untrusted source cannot name another client');
    const viaProxy = await call(client, checkReq('air/edge', '/edge/x', { 'x-forwarded-for': '203.0.113.9' }, '192.0.2.1'));
    assert.equal(viaProxy.denied_response?.status.code, 403, 'behind a trusted proxy the forwarded client is judged');
    const fine = await call(client, checkReq('air/edge', '/edge/x', { 'x-forwarded-for': '198.51.100.1' }, '192.0.2.1'));
    assert.equal(fine.status.code, 0);
  });

  test('no crossgate-route context extension → denied (403), whatever headers the client sent', async () => {
    const res = await call(client, checkReq(undefined, '/flights/1', { 'x-api-key': key.key, 'x-crossgate-route': 'air/flights', 'crossgate-route': 'air/flights' }));
    assert.equal(res.status.code, 7);
    assert.equal(res.denied_response.status.code, 403);
    assert.equal(JSON.parse(res.denied_response.body).type, 'https://crossgate.dev/problems/no-route');
    const bad = await call(client, checkReq('air/flights', 'flights/1', { 'x-api-key': key.key }));
    assert.equal(bad.denied_response.status.code, 400);
  });

  test('a missing or wrong token → grpc-status UNAUTHENTICATED, nothing decided', async () => {
    for (const t of [null, 'wrong-token-0123456789abc', `${TOKEN}x`]) {
      await assert.rejects(call(client, checkReq('air/flights', '/flights/1', { 'x-api-key': key.key }), t), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED, String(t));
    }
    // Each refused caller counted, by reason.
    assert.match(await authz.metrics.registry.metrics(), /crossgate_authz_grpc_callers_refused_total\{reason="token"\} 3\n/);
  });

  test('raw HTTP/2: another method is UNIMPLEMENTED, not application/grpc is 415, garbage is INVALID_ARGUMENT, an oversized request RESOURCE_EXHAUSTED', async () => {
    const session = connect(authz.grpcUrl!);
    const raw = (path: string, ct: string, body: Buffer): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const s = session.request({ ':method': 'POST', ':path': path, 'content-type': ct, authorization: `Bearer ${TOKEN}`, te: 'trailers' });
        let head: Record<string, unknown> = {};
        s.on('response', (h) => (head = { ...h }));
        s.on('trailers', (t) => (head = { ...head, ...t }));
        s.on('data', () => undefined);
        s.on('close', () => resolve(head));
        s.on('error', reject);
        s.end(body);
      });
    const framed = grpcFrame;
    try {
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Other', 'application/grpc', framed(Buffer.alloc(0))))['grpc-status'], '12');
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Check', 'application/json', Buffer.from('{}')))[':status'], 415);
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Check', 'application/grpc', framed(Buffer.from([0x0b]))))['grpc-status'], '3');
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Check', 'application/grpc', Buffer.from([0, 0, 0, 0, 9, 1])))['grpc-status'], '3');
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Check', 'application/grpc', framed(Buffer.from([1]), 1)))['grpc-status'], '12');
      assert.equal((await raw('/envoy.service.auth.v3.Authorization/Check', 'application/grpc', framed(Buffer.alloc(70 * 1024))))['grpc-status'], '8');
    } finally {
      session.close();
    }
  });
});

// Security model row 4 (keys): a key read from a query parameter must not reach the upstream. The
// gateway strips it; over Envoy, authz's allow answer names it in query_parameters_to_remove.
describe('crossgate-authz gRPC Check: an API key sent in a query parameter', () => {
  const key = newKey();
  const s = grpcSuite(
    'authzgrpcquery',
    [route('air/q', { basePath: '/q', tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', { queryParameter: 'apikey' }, 'air/qkey')] })],
    { [key.hash]: cred('air/q', { contract: 'air/c-q', client: 'buyer/q' }) },
  );

  test('allowed with the key in the query: Envoy is told to remove that parameter; in a header: no query parameter removed', async () => {
    const q = await call(s.client, checkReq('air/q', `/q/1?x=1&apikey=${key.key}`));
    assert.equal(q.status.code, 0);
    assert.deepEqual(q.ok_response.query_parameters_to_remove, ['apikey']);
    const h = await call(s.client, checkReq('air/q', '/q/1?x=1', { 'x-api-key': key.key }));
    assert.equal(h.status.code, 0);
    assert.deepEqual(h.ok_response.query_parameters_to_remove, []);
  });

  test('the key parameter under a percent-encoded name (which Envoy might not match) is refused 400 with its message', async () => {
    const r = await call(s.client, checkReq('air/q', `/q/1?api%6Bey=${key.key}`));
    assert.equal(r.status.code, 3);
    assert.equal(r.denied_response.status.code, 400);
    assert.equal(JSON.parse(r.denied_response.body).detail, 'The credential was sent in a query parameter whose name is percent-encoded (apikey); send it under its plain name, or in its header.');
  });
});

// Security model row 8g: an organization admin writes its own SecurityPolicy on its own HTTPRoute
// (api.attacker.example), extAuth to crossgate-authz with contextExtensions naming another
// organization's route. Envoy then sends authz the attacker's traffic under the victim's route id.
describe("crossgate-authz gRPC Check: a route named for another route's host (an organization's own SecurityPolicy)", () => {
  // A consumer's key to the victim's API, used on the attacker's host (phished, or the attacker's own).
  const victimKey = newKey();
  const secretHeader = { 'x-upstream-auth': 'victim-upstream-secret-value' };
  const s = grpcSuite(
    'authzgrpchost',
    [
      route('victim-prod/flights', {
        hostnames: ['api.victim.example'],
        basePath: '/flights',
        tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }],
        policies: [policy('api-key', {}, 'victim-prod/key', 10), policy('header-injection', { request: { set: secretHeader } }, 'victim-prod/hi', 20)],
      }),
      // On the shared host (no hostnames): open, with the upstream's credential injected.
      route('victim-prod/status', { basePath: '/status', policies: [policy('header-injection', { request: { set: secretHeader } }, 'victim-prod/hi2', 20)] }),
      route('attacker-prod/own', { hostnames: ['api.attacker.example', '*.attacker.example'], basePath: '/own' }),
    ],
    { [victimKey.hash]: cred('victim-prod/flights', { contract: 'victim-prod/c', client: 'buyer/portal' }) },
    { platform: { ...NO_PLATFORM_SETTINGS, gatewayHostnames: ['gw.example', '*.gw.example'] } },
  );

  const misdirected = (res: any, what: string): void => {
    assert.equal(res.status.code, 7, `${what}: PERMISSION_DENIED`);
    assert.equal(res.http_response, 'denied_response', what);
    assert.equal(res.denied_response.status.code, 421, what);
    const body = JSON.parse(res.denied_response.body);
    assert.equal(body.type, 'https://crossgate.dev/problems/misdirected', what);
    assert.equal(body.title, 'Misdirected Request');
    assert.equal(body.detail, "This API is not served on this host: the proxy named a route that does not answer on the request's host.");
    // Neither the victim's injected header nor an identity, and no metadata: Envoy's access log does not count it as the victim's.
    assert.equal(JSON.stringify(res).includes('victim-upstream-secret-value'), false, what);
    assert.equal(res.dynamic_metadata, null, `${what}: no dynamic_metadata`);
  };

  test("the victim's route id on the attacker's hostname is refused 421 before the victim's policies run: no key accepted, no upstream secret, no identity, no metadata", async () => {
    misdirected(await call(s.client, checkReqOnHost('victim-prod/flights', 'api.attacker.example', '/flights/1', { 'x-api-key': victimKey.key })), 'hosted route, attacker host');
    misdirected(await call(s.client, checkReqOnHost('victim-prod/flights', 'x.attacker.example', '/flights/1', { 'x-api-key': victimKey.key })), 'under the attacker wildcard');
    misdirected(await call(s.client, checkReqOnHost('victim-prod/flights', 'victim.example.evil', '/flights/1', { 'x-api-key': victimKey.key })), 'an unnamed host');
    // A client-sent host header beside the authority changes nothing: the authority Envoy routed on is judged.
    misdirected(await call(s.client, checkReqOnHost('victim-prod/flights', 'api.attacker.example', '/flights/1', { 'x-api-key': victimKey.key, host: 'api.victim.example' })), 'host header beside');
  });

  test("the victim's shared-host route is refused on a host another route names and on a host that is not the gateway's own", async () => {
    misdirected(await call(s.client, checkReqOnHost('victim-prod/status', 'api.attacker.example', '/status')), 'shared route, attacker host');
    misdirected(await call(s.client, checkReqOnHost('victim-prod/status', 'evil.example', '/status')), 'shared route, a host nobody names');
  });

  test("the victim's own traffic still passes: its hostname in any case and with a port, the shared route on the gateway's host names", async () => {
    const ok = await call(s.client, checkReqOnHost('victim-prod/flights', 'API.Victim.example:443', '/flights/1', { 'x-api-key': victimKey.key }));
    assert.equal(ok.status.code, 0);
    assert.equal(hv(ok.ok_response.headers)['x-upstream-auth'], 'victim-upstream-secret-value');
    assert.deepEqual(structStrings(ok.dynamic_metadata), { 'crossgate-route': 'victim-prod/flights', 'crossgate-client': 'buyer/portal' });
    for (const host of ['gw.example', 'eu.gw.example:8443', 'gw.example.']) {
      const shared = await call(s.client, checkReqOnHost('victim-prod/status', host, '/status/x'));
      assert.equal(shared.status.code, 0, host);
    }
    // The attacker's own route on its own hosts is unaffected.
    assert.equal((await call(s.client, checkReqOnHost('attacker-prod/own', 'a.attacker.example', '/own/x'))).status.code, 0);
  });

  test('a check with no host at all is refused 400 with its message', async () => {
    const res = await call(s.client, checkReqOnHost('victim-prod/flights', '', '/flights/1', { 'x-api-key': victimKey.key }));
    assert.equal(res.denied_response.status.code, 400);
    assert.equal(JSON.parse(res.denied_response.body).detail, 'The check carries no valid method, path and host.');
  });

  test('a path outside the named route is refused without metadata (the victim is not charged a 404)', async () => {
    const res = await call(s.client, checkReqOnHost('victim-prod/flights', 'api.victim.example', '/elsewhere/1', { 'x-api-key': victimKey.key }));
    assert.equal(res.denied_response.status.code, 404);
    assert.equal(res.dynamic_metadata, null);
  });
});

/** authz with its gRPC listener on TLS, callers authenticated by a certificate of dir/ca.crt (and, when given, one of `allowedClientSans`). */
async function startMtlsAuthz(dir: string, cfg: ConfigDir, allowedClientSans?: string[]): Promise<RunningAuthz> {
  return startGrpcAuthz(cfg, dir, { tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt'), ...(allowedClientSans ? { allowedClientSans } : {}) } });
}

/** Registers, in the calling describe(), hooks that make `specs`' certificates, a config with route air/edge, and authz over mTLS (with `allowedClientSans` when given); `skip` is set when openssl is missing. */
function mtlsAuthz(name: string, specs: CertSpec[], allowedClientSans?: string[]): { dir: string; target: string; authz?: RunningAuthz; skip?: string } {
  const s: { dir: string; target: string; authz?: RunningAuthz; skip?: string } = { dir: '', target: '' };
  let cfg: ConfigDir | undefined;
  before(async () => {
    s.dir = await tokenDir(`authz-${name}`, TOKEN);
    try {
      makeCerts(s.dir, [SERVER_CERT, ...specs]);
    } catch (err) {
      s.skip = `openssl unavailable: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    cfg = await ConfigDir.create(`authz${name}`);
    cfg.routes = [route('air/edge', { basePath: '/edge', policies: [policy('ip-blocklist', { cidrs: ['203.0.113.0/24'] }, 'air/block')] })];
    await cfg.write();
    s.authz = await startMtlsAuthz(s.dir, cfg, allowedClientSans);
    s.target = new URL(s.authz.grpcUrl!).host;
  });
  after(async () => {
    await s.authz?.stop(0);
    await cfg?.remove();
    await rm(s.dir, { recursive: true, force: true });
  });
  return s;
}

describe('crossgate-authz gRPC Check over mTLS', () => {
  // "stranger": a client certificate from another CA.
  const m = mtlsAuthz('mtls', [{ name: 'client', cn: 'envoy', ext: 'extendedKeyUsage=clientAuth' }, { name: 'stranger', cn: 'stranger' }]);

  test('a client certificate from the CA is the credential (no token); none or another CA is refused', async (t) => {
    if (m.skip) return t.skip(m.skip);
    assert.match(m.authz!.grpcUrl!, /^https:/);
    const good = tlsClient(m.target, m.dir, 'client');
    const none = tlsClient(m.target, m.dir);
    const stranger = tlsClient(m.target, m.dir, 'stranger');
    try {
      const ok = await call(good, checkReq('air/edge', '/edge/x'), null);
      assert.equal(ok.status.code, 0);
      const blocked = await call(good, checkReq('air/edge', '/edge/x', {}, '203.0.113.1'), null);
      assert.equal(blocked.denied_response.status.code, 403);
      for (const c of [none, stranger]) await assert.rejects(call(c, checkReq('air/edge', '/edge/x'), TOKEN), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
    } finally {
      for (const c of [good, none, stranger]) c.close();
    }
  });
});

describe('crossgate-authz gRPC Check over mTLS with allowed client SANs', () => {
  const SPIFFE = 'spiffe://cluster.local/ns/envoy-gateway-system/sa/envoy';
  const m = mtlsAuthz(
    'san',
    [
      // Envoy's SPIFFE id as a URI SAN (what an Envoy Gateway mesh certificate carries).
      { name: 'envoy', cn: 'envoy', ext: `extendedKeyUsage=clientAuth\nsubjectAltName=URI:${SPIFFE}` },
      // Allowed by DNS name, in another case than listed.
      { name: 'dns', cn: 'ignored', ext: 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:Envoy.Gateway.Example' },
      // Same CA, names none of them; its CN spells an allowed name (the CN is never read).
      { name: 'other', cn: 'envoy.gateway.example', ext: 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:other.example,URI:spiffe://cluster.local/ns/default/sa/envoy' },
    ],
    [SPIFFE, 'envoy.gateway.example'],
  );

  test('a certificate naming an allowed URI or DNS SAN passes; one of the same CA naming neither is PERMISSION_DENIED, counted, with a message that says why', async (t) => {
    if (m.skip) return t.skip(m.skip);
    const envoy = tlsClient(m.target, m.dir, 'envoy');
    const dns = tlsClient(m.target, m.dir, 'dns');
    const other = tlsClient(m.target, m.dir, 'other');
    try {
      for (const c of [envoy, dns]) assert.equal((await call(c, checkReq('air/edge', '/edge/x'), null)).status.code, 0);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(call(other, checkReq('air/edge', '/edge/x'), TOKEN), (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.PERMISSION_DENIED);
          assert.equal(err.details, 'the client certificate names none of the allowed callers (--grpc-client-san)');
          return true;
        });
      }
      const text = await m.authz!.metrics.registry.metrics();
      assert.match(text, /crossgate_authz_grpc_callers_refused_total\{reason="client_san"\} 2/);
    } finally {
      for (const c of [envoy, dns, other]) c.close();
    }
  });
});

describe('client SAN allow-list', () => {
  test("Node's subjectaltname text, quoted values included, is read entry by entry", () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example, URI:spiffe://td/ns/x/sa/y, IP Address:127.0.0.1'), [
      { type: 'DNS', value: 'a.example' },
      { type: 'URI', value: 'spiffe://td/ns/x/sa/y' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    // A value holding ", " is quoted by Node: it must not be read as two entries.
    assert.deepEqual(parseSubjectAltName('URI:"spiffe://td/a, DNS:evil.example", DNS:b.example'), [
      { type: 'URI', value: 'spiffe://td/a, DNS:evil.example' },
      { type: 'DNS', value: 'b.example' },
    ]);
    assert.deepEqual(parseSubjectAltName(undefined), []);
  });

  test('matches URI SANs exactly and DNS SANs case-insensitively, never across types', () => {
    const l = new ClientSanAllowList(['spiffe://td/ns/eg/sa/envoy', 'envoy.example']);
    assert.equal(l.allows('URI:spiffe://td/ns/eg/sa/envoy'), true);
    assert.equal(l.allows('DNS:ENVOY.example'), true);
    assert.equal(l.allows('URI:spiffe://td/ns/eg/sa/envoy2'), false);
    assert.equal(l.allows('URI:SPIFFE://td/ns/eg/sa/envoy'), false);
    assert.equal(l.allows('URI:envoy.example'), false);
    assert.equal(l.allows('DNS:spiffe://td/ns/eg/sa/envoy'), false);
    assert.equal(l.allows('URI:"spiffe://td/x, DNS:envoy.example"'), false);
    assert.equal(l.allows(undefined), false);
  });

  test('the list is bounded and checked at start, with messages that say what is wrong', () => {
    assert.throws(() => new ClientSanAllowList([]), { message: 'the client SAN allow-list is empty: leave it out to accept every certificate of the client CA' });
    assert.throws(() => new ClientSanAllowList(Array.from({ length: MAX_CLIENT_SANS + 1 }, (_, i) => `c${i}.example`)), { message: `at most ${MAX_CLIENT_SANS} allowed client SANs, got ${MAX_CLIENT_SANS + 1}` });
    assert.throws(() => new ClientSanAllowList(['a b']), { message: `allowed client SAN "a b": 1 to ${MAX_SAN} printable ASCII characters, no space or comma` });
    assert.throws(() => new ClientSanAllowList(['x'.repeat(MAX_SAN + 1)]), /printable ASCII characters, no space or comma/);
    assert.throws(() => grpcOptions({ 'grpc-client-san': 'envoy.example' }, {}), { message: '--grpc-client-san needs --grpc-client-ca: only a client certificate names a SAN' });
    assert.throws(() => grpcOptions({ 'grpc-tls-cert': 'c', 'grpc-tls-key': 'k', 'grpc-client-ca': 'ca', 'grpc-client-san': ' , ' }, {}), { message: '--grpc-client-san is empty: name at least one allowed SAN, or leave it out' });
    assert.throws(() => grpcOptions({ 'grpc-listen': 'off' }, { AUTHZ_GRPC_CLIENT_SANS: 'envoy.example' }), { message: '--grpc-listen=off with gRPC TLS settings: choose one' });
    assert.deepEqual(grpcOptions({ 'grpc-tls-cert': 'c', 'grpc-tls-key': 'k' }, { AUTHZ_GRPC_CLIENT_CA: 'ca', AUTHZ_GRPC_CLIENT_SANS: 'spiffe://td/ns/eg/sa/envoy, envoy.example' })?.tls, {
      certFile: 'c',
      keyFile: 'k',
      clientCaFile: 'ca',
      allowedClientSans: ['spiffe://td/ns/eg/sa/envoy', 'envoy.example'],
    });
  });
});

// Security model row 8f: HTTP/2 has no idle limit of its own. A client that reaches the gRPC port (any pod
// without a NetworkPolicy, or one in the proxies' namespace) must not hold connections, and so descriptors,
// for good: silent, refused only, or idle connections are closed, as on the check port.
describe('crossgate-authz gRPC listener: connections without an authenticated call, or idle, are closed', () => {
  let server: Awaited<ReturnType<typeof startAuthzGrpcServer>>;
  const closedWithin = (emitter: { once(e: 'close', f: () => void): unknown }, ms: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = Date.now();
      const t = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
      emitter.once('close', () => {
        clearTimeout(t);
        resolve(Date.now() - t0);
      });
    });
  const call = (session: ClientHttp2Session, token: string, end = true): ClientHttp2Stream => {
    const s = session.request({ ':method': 'POST', ':path': '/envoy.service.auth.v3.Authorization/Check', 'content-type': 'application/grpc', authorization: `Bearer ${token}`, te: 'trailers' });
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    if (end) s.end(grpcFrame(Buffer.from([0x0b])));
    return s;
  };

  before(async () => {
    server = await startAuthzGrpcServer({
      config: { current: undefined },
      auth: { kind: 'token', token: { matches: (p: string | undefined) => p === TOKEN } },
      trustedProxies: new TrustedProxies([]),
      logger: silent(),
      host: '127.0.0.1',
      port: 0,
      unauthenticatedMs: 300,
      idleMs: 700,
    });
  });

  after(async () => {
    await server?.close(0);
  });

  test('a connection that sends nothing is closed after unauthenticatedMs', async () => {
    const raw = netConnect(server.port, '127.0.0.1');
    raw.on('error', () => undefined);
    raw.resume();
    assert.ok((await closedWithin(raw, 3000)) >= 250);
  });

  test('a connection whose calls are all refused (wrong token) is closed after unauthenticatedMs, PINGs or not', async () => {
    const session = connect(server.url);
    session.on('error', () => undefined);
    // Watched from the start: under load the server may close the session before the refused stream reports its close.
    const closed = closedWithin(session, 3000);
    // ping() throws on a destroyed session: the interval may fire once between the close and clearInterval.
    const pings = setInterval(() => session.destroyed || session.ping(() => undefined), 50);
    try {
      const s = call(session, 'wrong-token-0123456789abc');
      await new Promise((r) => s.on('close', r));
      await closed;
    } finally {
      clearInterval(pings);
    }
  });

  test('an authenticated connection stays while a call is in flight, then closes after idleMs without one', async () => {
    const session = connect(server.url);
    session.on('error', () => undefined);
    const open = call(session, TOKEN, false);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(session.closed || session.destroyed, false, 'open while its call is in flight, past both limits');
    open.end(grpcFrame(Buffer.from([0x0b])));
    await new Promise((r) => open.on('close', r));
    assert.ok((await closedWithin(session, 3000)) >= 600);
  });
});
