// The gateway process end to end, standalone: a config directory, a real
// upstream and a JWKS server on 127.0.0.1, `node gateway/main.ts` started as
// users start it, every claim proved at the HTTP boundary. No cluster is
// needed (it lives with e2e because it starts real servers and a process);
// run it alone with `node --test test/e2e/gateway-standalone.test.ts`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { startProcess, type ManagedProcess } from './support/process.ts';
import { ConfigDir, basic, clientCred, cred, newClient, newKey, policy, route, startUpstream, type Upstream } from '../unit/gateway/fixtures.ts';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

async function get(url: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function assertProblem(r: Res, status: number, slug: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  const p = r.json();
  assert.equal(p.type, `https://crossgate.dev/problems/${slug}`);
  assert.equal(p.status, status);
  assert.equal(typeof p.title, 'string');
  assert.equal(typeof p.detail, 'string');
}

describe('gateway, standalone process over a config directory', () => {
  let up: Upstream;
  /** An upstream on loopback the platform does not allow: nothing may reach it. */
  let hidden: Upstream;
  let jwksServer: Server;
  let jwksUrl: string;
  let signKey: CryptoKey;
  let strangerKey: CryptoKey;
  let cfg: ConfigDir;
  let gw: ManagedProcess;
  let base: string;
  let admin: string;

  const main = newKey();
  const limited = newKey();
  const revoked = newKey();
  const rotatedOld = newKey();
  const rotatedNew = newKey();
  const pastGrace = newKey();
  const scopedKey = newKey();
  // Issue 16: Applications (client ID + secret).
  const app = newClient();
  const appElsewhere = newClient();
  const appGroup = newClient();
  const bothKey = newKey();
  const secrets = () => [app, appElsewhere, appGroup].flatMap((c) => [c.secret, basic(c.id, c.secret).slice('Basic '.length)]);

  before(async () => {
    up = await startUpstream();
    hidden = await startUpstream();
    const pair = await generateKeyPair('RS256');
    signKey = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwksServer = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;

    cfg = await ConfigDir.create('standalone');
    const upstream = { url: `${up.url}/api` };
    cfg.routes = [
      route('max-airlines/flights', {
        basePath: '/flights',
        upstream,
        tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }],
        policies: [
          policy('cors', { allowOrigins: ['https://portal.mule-united.example'], allowMethods: ['GET', 'POST'], allowHeaders: ['x-api-key', 'content-type'], maxAgeSeconds: 600 }, 'max-airlines/cors', 10),
          policy('api-key', {}, 'max-airlines/client-id', 20),
        ],
      }),
      route('max-airlines/limited', { basePath: '/limited', upstream, tiers: [{ name: 'bronze', limits: [{ requests: 3, periodSeconds: 3600 }] }], policies: [policy('api-key', {}, 'max-airlines/limited-key')] }),
      route('max-airlines/blocked', { basePath: '/blocked', upstream, policies: [policy('ip-blocklist', { cidrs: ['127.0.0.0/8', '::1'] }, 'max-airlines/block-loopback')] }),
      route('max-airlines/internal', { basePath: '/internal', upstream, policies: [policy('ip-allowlist', { cidrs: ['10.0.0.0/8', 'fd00::/8'] }, 'max-airlines/allow-internal')] }),
      route('max-airlines/edge', {
        basePath: '/edge',
        upstream,
        policies: [policy('ip-blocklist', { cidrs: ['203.0.113.0/24', '2001:db8::/32'], clientIpHeader: 'X-Forwarded-For' }, 'max-airlines/block-edge')],
      }),
      // Named "localhost", resolving to 127.0.0.1 on a port no pair allows: refused when the gateway connects.
      route('max-airlines/apps', { basePath: '/apps', upstream, tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('client-id-enforcement', {}, 'max-airlines/apps-cid')] }),
      // One contract opening two routes: one budget across them.
      route('max-airlines/group-a', { basePath: '/group-a', upstream, tiers: [{ name: 'silver', limits: [{ requests: 3, periodSeconds: 3600 }] }], policies: [policy('client-id-enforcement', {}, 'max-airlines/ga-cid')] }),
      route('max-airlines/group-b', { basePath: '/group-b', upstream, tiers: [{ name: 'silver', limits: [{ requests: 3, periodSeconds: 3600 }] }], policies: [policy('client-id-enforcement', {}, 'max-airlines/gb-cid')] }),
      route('max-airlines/both', {
        basePath: '/both',
        upstream,
        tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }],
        policies: [policy('api-key', {}, 'max-airlines/both-key', 10), policy('client-id-enforcement', {}, 'max-airlines/both-cid', 20)],
      }),
      route('max-airlines/sneaky', { basePath: '/sneaky', upstream: { url: `http://localhost:${hidden.port}` } }),
      route('max-airlines/secure', {
        basePath: '/secure',
        upstream,
        policies: [policy('jwt-validation', { jwksUrl, issuer: 'https://idp.max-airlines.example', audiences: ['flights-eapi'] }, 'max-airlines/jwt')],
      }),
    ];
    cfg.credentials = {
      [main.hash]: cred('max-airlines/flights', { contract: 'max-airlines/c-main', client: 'mule-united/portal' }),
      [revoked.hash]: cred('max-airlines/flights', { contract: 'max-airlines/c-revoked', client: 'mule-united/old-app' }),
      [limited.hash]: cred('max-airlines/limited', { contract: 'max-airlines/c-limited', client: 'mule-united/batch', tier: 'bronze' }),
      [rotatedOld.hash]: cred('max-airlines/flights', { contract: 'max-airlines/c-rotated', client: 'mule-united/rotating' }),
      [pastGrace.hash]: cred('max-airlines/flights', { contract: 'max-airlines/c-rotated', client: 'mule-united/rotating', notAfter: new Date(Date.now() - 1000).toISOString() }),
      [scopedKey.hash]: cred('max-airlines/flights', { contract: 'max-airlines/c-scoped', client: 'mule-united/viewer', endpoints: [{ methods: ['GET'], path: '/flights/*' }] }),
      [app.hash]: clientCred(app.id, [
        { routes: ['max-airlines/apps'], contract: 'max-airlines/c-app', tier: 'gold' },
        { routes: ['max-airlines/both'], contract: 'max-airlines/c-app-both', tier: 'gold' },
      ], { client: 'mule-united/booking-app' }),
      [appElsewhere.hash]: clientCred(appElsewhere.id, [{ routes: ['max-airlines/group-a'], contract: 'max-airlines/c-elsewhere', tier: 'silver' }], { client: 'mule-united/other-app' }),
      [appGroup.hash]: clientCred(appGroup.id, [{ routes: ['max-airlines/group-a', 'max-airlines/group-b'], contract: 'max-airlines/c-group', tier: 'silver' }], { client: 'mule-united/group-app' }),
      [bothKey.hash]: cred('max-airlines/both', { contract: 'max-airlines/c-both-key', client: 'mule-united/keyed' }),
    };
    await cfg.write();

    gw = startProcess(process.execPath, [join(ROOT, 'gateway/main.ts'), '--gateway', 'standalone', '--config-dir', cfg.dir], {
      name: 'gateway-standalone',
      cwd: ROOT,
      // Stopped in this suite's after(): an after() registered from inside before() would run too early.
      noAutoStop: true,
      // The test client plays a trusted proxy on 127.0.0.1: its x-forwarded-for is read (right to left).
      env: {
        GATEWAY_LISTEN: '127.0.0.1:0',
        GATEWAY_ADMIN_LISTEN: '127.0.0.1:0',
        LOG_LEVEL: 'info',
        GATEWAY_RESCAN_MS: '1000',
        // The platform allows exactly the upstream and the JWKS server, nothing else on loopback.
        CROSSGATE_LOOPBACK_UPSTREAMS: `${up.hostPort},${new URL(jwksUrl).host}`,
        CROSSGATE_TRUSTED_PROXIES: '127.0.0.1',
      },
    });
    const listening = JSON.parse(await gw.waitForLine('"msg":"gateway listening"', { timeoutMs: 20_000 })) as { url: string; admin: string };
    base = listening.url;
    admin = listening.admin;
    await gw.waitForLine('"msg":"gateway config loaded"', { timeoutMs: 10_000 });
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
    await hidden?.close();
    await new Promise<void>((r) => (jwksServer ? (jwksServer.close(() => r()), jwksServer.closeAllConnections()) : r()));
    await cfg?.remove();
  });

  test('ready on the admin port', async () => {
    assert.equal((await get(`${admin}/readyz`)).status, 200);
    const z = (await get(`${admin}/configz`)).json();
    assert.equal(z.generation, 1);
    assert.equal(z.credentials, 10);
  });

  test('no key → 401 problem', async () => {
    const r = await get(`${base}/flights/FL123`);
    assertProblem(r, 401, 'missing-api-key');
  });

  test('valid key → 200 from the upstream, which sees the client id and not the key', async () => {
    const r = await get(`${base}/flights/FL123?date=2026-12-01`, { headers: { 'x-api-key': main.key } });
    assert.equal(r.status, 200, r.text);
    const seen = r.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/api/FL123?date=2026-12-01');
    assert.equal(seen.headers['x-crossgate-client'], 'mule-united/portal');
    assert.equal(seen.headers['x-api-key'], undefined);
    assert.match(r.headers.get('ratelimit') ?? '', /^"gold-60s";r=\d+;t=\d+$/);
  });

  test('an unknown key and a key for another API → the same 401', async () => {
    const unknown = await get(`${base}/flights/x`, { headers: { 'x-api-key': newKey().key } });
    assertProblem(unknown, 401, 'invalid-api-key');
    const elsewhere = await get(`${base}/flights/x`, { headers: { 'x-api-key': limited.key } });
    assertProblem(elsewhere, 401, 'invalid-api-key');
    assert.equal(elsewhere.text, unknown.text);
  });

  test('over the tier → 429 with Retry-After and RateLimit headers', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const hour = Math.floor(Date.now() / 3_600_000);
      const statuses: number[] = [];
      let last: Res | undefined;
      for (let i = 0; i < 4; i++) {
        last = await get(`${base}/limited/x`, { headers: { 'x-api-key': limited.key } });
        statuses.push(last.status);
      }
      if (Math.floor(Date.now() / 3_600_000) !== hour) continue; // crossed an hour boundary mid-test: the window reset, try again
      assert.deepEqual(statuses.slice(attempt === 0 ? 0 : 3), attempt === 0 ? [200, 200, 200, 429] : [429]);
      assertProblem(last!, 429, 'rate-limited');
      const retryAfter = Number(last!.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      assert.equal(last!.headers.get('ratelimit-policy'), '"bronze-3600s";q=3;w=3600');
      assert.equal(last!.headers.get('ratelimit'), `"bronze-3600s";r=0;t=${retryAfter}`);
      return;
    }
    assert.fail('crossed two hour boundaries');
  });

  test('blocked IP → 403; allow-list without the caller → 403; a trusted client-address header (IPv4 and IPv6) decides when configured', async () => {
    assertProblem(await get(`${base}/blocked/x`), 403, 'ip-not-allowed');
    assertProblem(await get(`${base}/internal/x`), 403, 'ip-not-allowed');
    assertProblem(await get(`${base}/edge/x`, { headers: { 'x-forwarded-for': '10.1.1.1, 203.0.113.50' } }), 403, 'ip-not-allowed');
    // Issue 13: the right-most untrusted entry is the client; what the client wrote left of it is not believed.
    assert.equal((await get(`${base}/edge/x`, { headers: { 'x-forwarded-for': '203.0.113.50, 10.1.1.1' } })).status, 200);
    assertProblem(await get(`${base}/edge/x`, { headers: { 'x-forwarded-for': '2001:db8:1::7' } }), 403, 'ip-not-allowed');
    assert.equal((await get(`${base}/edge/x`, { headers: { 'x-forwarded-for': '198.51.100.4' } })).status, 200);
    assert.equal((await get(`${base}/edge/x`)).status, 200, 'loopback is not on the list');
  });

  test('CORS preflight answered by the gateway; a disallowed origin gets 403 and no CORS headers', async () => {
    const ok = await get(`${base}/flights/FL123`, {
      method: 'OPTIONS',
      headers: { origin: 'https://portal.mule-united.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, content-type' },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://portal.mule-united.example');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.equal(ok.headers.get('access-control-allow-headers'), 'x-api-key, content-type');
    assert.equal(ok.headers.get('access-control-max-age'), '600');
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    const bad = await get(`${base}/flights/FL123`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assertProblem(bad, 403, 'cors-preflight-refused');
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
    const actual = await get(`${base}/flights/FL123`, { headers: { origin: 'https://portal.mule-united.example', 'x-api-key': main.key } });
    assert.equal(actual.status, 200);
    assert.equal(actual.headers.get('access-control-allow-origin'), 'https://portal.mule-united.example');
  });

  test('JWT: a valid token is accepted; an expired or wrongly signed one is refused with a reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = (key: CryptoKey, exp: number) =>
      new SignJWT({ sub: 'agent-7' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://idp.max-airlines.example').setAudience('flights-eapi').setIssuedAt(now - 600).setExpirationTime(exp).sign(key);
    const ok = await get(`${base}/secure/x`, { headers: { authorization: `Bearer ${await token(signKey, now + 300)}` } });
    assert.equal(ok.status, 200, ok.text);
    const expired = await get(`${base}/secure/x`, { headers: { authorization: `Bearer ${await token(signKey, now - 60)}` } });
    assertProblem(expired, 401, 'invalid-token');
    assert.match(String(expired.json().detail), /token expired/);
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const forged = await get(`${base}/secure/x`, { headers: { authorization: `Bearer ${await token(strangerKey, now + 300)}` } });
    assertProblem(forged, 401, 'invalid-token');
    assert.match(String(forged.json().detail), /signature verification failed/);
    assertProblem(await get(`${base}/secure/x`), 401, 'missing-token');
  });

  test("key removed from the config (revocation) → 401 within 5 s", async () => {
    assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': revoked.key } })).status, 200);
    delete cfg.credentials[revoked.hash];
    const written = await cfg.write();
    assert.equal(written.length, 2, 'one shard and the manifest rewritten');
    const t0 = Date.now();
    let status = 200;
    while (Date.now() - t0 < 5000) {
      status = (await get(`${base}/flights/x`, { headers: { 'x-api-key': revoked.key } })).status;
      if (status === 401) break;
      await sleep(50);
    }
    const took = Date.now() - t0;
    assert.equal(status, 401, `still ${status} after ${took} ms`);
    assert.ok(took < 5000);
    assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': main.key } })).status, 200, 'other keys unaffected');
  });

  test("rotation: the old value works until its notAfter and not after; the new one works at once; a past grace is refused", async () => {
    assertProblem(await get(`${base}/flights/x`, { headers: { 'x-api-key': pastGrace.key } }), 401, 'invalid-api-key');
    assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedOld.key } })).status, 200);
    assertProblem(await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedNew.key } }), 401, 'invalid-api-key');
    // What the operator writes on rotation: the new value, and the old one with the end of its grace period.
    const graceEnds = Date.now() + 3000;
    cfg.credentials[rotatedOld.hash] = { ...cfg.credentials[rotatedOld.hash]!, notAfter: new Date(graceEnds).toISOString() };
    cfg.credentials[rotatedNew.hash] = cred('max-airlines/flights', { contract: 'max-airlines/c-rotated', client: 'mule-united/rotating' });
    await cfg.write();
    const t0 = Date.now();
    while ((await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedNew.key } })).status !== 200) {
      assert.ok(Date.now() - t0 < 5000, 'the new value works within 5 s');
      await sleep(50);
    }
    if (Date.now() < graceEnds - 100) {
      assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedOld.key } })).status, 200, 'old value inside the grace period');
    }
    await sleep(Math.max(0, graceEnds - Date.now() + 100));
    assertProblem(await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedOld.key } }), 401, 'invalid-api-key');
    assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': rotatedNew.key } })).status, 200);
  });

  test('client ID enforcement: 200 with id + secret in headers and in Basic; the upstream sees the client, never the secret or Authorization', async () => {
    const before = up.received.length;
    const h = await get(`${base}/apps/bookings/1`, { headers: { 'x-client-id': app.id, 'x-client-secret': app.secret } });
    assert.equal(h.status, 200, h.text);
    const b = await get(`${base}/apps/bookings/1`, { headers: { authorization: basic(app.id, app.secret) } });
    assert.equal(b.status, 200, b.text);
    for (const r of [h, b]) {
      const seen = r.json() as { headers: Record<string, string> };
      assert.equal(seen.headers['x-crossgate-client'], 'mule-united/booking-app');
      for (const name of ['x-client-id', 'x-client-secret', 'authorization']) assert.equal(seen.headers[name], undefined, name);
    }
    assert.equal(up.received.length, before + 2);
  });

  test('client ID enforcement: none → 401 missing; wrong secret, unknown client, id of another app → one 401; no contract → 403', async () => {
    const missing = await get(`${base}/apps/x`);
    assertProblem(missing, 401, 'missing-client-credentials');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrong = await get(`${base}/apps/x`, { headers: { 'x-client-id': app.id, 'x-client-secret': newClient().secret } });
    assertProblem(wrong, 401, 'invalid-client-credentials');
    const unknown = newClient();
    const stranger = await get(`${base}/apps/x`, { headers: { authorization: basic(unknown.id, unknown.secret) } });
    assertProblem(stranger, 401, 'invalid-client-credentials');
    const swapped = await get(`${base}/apps/x`, { headers: { 'x-client-id': appElsewhere.id, 'x-client-secret': app.secret } });
    assertProblem(swapped, 401, 'invalid-client-credentials');
    assert.equal(wrong.text, stranger.text);
    assert.equal(wrong.text, swapped.text);
    const noContract = await get(`${base}/apps/x`, { headers: { 'x-client-id': appElsewhere.id, 'x-client-secret': appElsewhere.secret } });
    assertProblem(noContract, 403, 'no-contract');
    assert.match(String(noContract.json().detail), /no approved contract for this API/);
  });

  test('endpoint scope: a key scoped to GET /flights/* → 200 there, 403 endpoint-not-allowed elsewhere', async () => {
    assert.equal((await get(`${base}/flights/FL1`, { headers: { 'x-api-key': scopedKey.key } })).status, 200);
    assertProblem(await get(`${base}/flights/FL1`, { method: 'POST', headers: { 'x-api-key': scopedKey.key } }), 403, 'endpoint-not-allowed');
    assertProblem(await get(`${base}/flights/FL1/seats`, { headers: { 'x-api-key': scopedKey.key } }), 403, 'endpoint-not-allowed');
    assertProblem(await get(`${base}/flights`, { headers: { 'x-api-key': scopedKey.key } }), 403, 'endpoint-not-allowed');
    assertProblem(await get(`${base}/flights/FL1%2F..%2Fadmin`, { headers: { 'x-api-key': scopedKey.key } }), 403, 'endpoint-not-allowed');
    // The consumer (another organization) with ";" path parameters, which Tomcat and Jetty drop: "/flights/..;" is the
    // upstream's "/", "/flights/;x" its "/flights/" (the list the scope leaves out). Both were admitted as "/flights/*".
    const climb = await get(`${base}/flights/..;`, { headers: { 'x-api-key': scopedKey.key } });
    assertProblem(climb, 400, 'bad-path');
    assert.equal(climb.json().detail, 'The request path contains dot segments ("." or "..", also percent-encoded or followed by ";" parameters).');
    assertProblem(await get(`${base}/flights/%2E%2E%3Bjsessionid=1`, { headers: { 'x-api-key': scopedKey.key } }), 400, 'bad-path');
    assertProblem(await get(`${base}/flights/;x`, { headers: { 'x-api-key': scopedKey.key } }), 403, 'endpoint-not-allowed');
    assert.equal((await get(`${base}/flights/FL1;v=2`, { headers: { 'x-api-key': scopedKey.key } })).status, 200, 'a parameter on a real segment is still that one segment');
  });

  test('a contract opening two routes: its tier is counted across both → 429 on the fourth request', async () => {
    const headers = { 'x-client-id': appGroup.id, 'x-client-secret': appGroup.secret };
    for (let attempt = 0; attempt < 2; attempt++) {
      const hour = Math.floor(Date.now() / 3_600_000);
      const statuses: number[] = [];
      let last: Res | undefined;
      for (const path of ['/group-a/x', '/group-b/x', '/group-a/x', '/group-b/x']) {
        last = await get(`${base}${path}`, { headers });
        statuses.push(last.status);
      }
      if (Math.floor(Date.now() / 3_600_000) !== hour) continue;
      assert.deepEqual(statuses.slice(attempt === 0 ? 0 : 3), attempt === 0 ? [200, 200, 200, 429] : [429]);
      assertProblem(last!, 429, 'rate-limited');
      // Another contract on the same routes has its own budget.
      assert.equal((await get(`${base}/group-a/x`, { headers: { 'x-client-id': appElsewhere.id, 'x-client-secret': appElsewhere.secret } })).status, 200);
      return;
    }
    assert.fail('crossed two hour boundaries');
  });

  test('a route with api-key and client-id-enforcement: either credential passes; none → one 401 naming both; the carried one decides', async () => {
    const k = await get(`${base}/both/x`, { headers: { 'x-api-key': bothKey.key } });
    assert.equal(k.status, 200, k.text);
    assert.equal((k.json() as { headers: Record<string, string> }).headers['x-crossgate-client'], 'mule-united/keyed');
    const c = await get(`${base}/both/x`, { headers: { authorization: basic(app.id, app.secret) } });
    assert.equal(c.status, 200, c.text);
    const seen = (c.json() as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-crossgate-client'], 'mule-united/booking-app');
    assert.equal(seen.authorization, undefined);
    const none = await get(`${base}/both/x`);
    assertProblem(none, 401, 'missing-credentials');
    assert.match(String(none.json().detail), /x-api-key.*x-client-id/);
    assertProblem(await get(`${base}/both/x`, { headers: { 'x-api-key': newKey().key, 'x-client-id': app.id, 'x-client-secret': app.secret } }), 401, 'invalid-api-key');
    assertProblem(await get(`${base}/both/x`, { headers: { 'x-client-id': app.id, 'x-client-secret': newClient().secret } }), 401, 'invalid-client-credentials');
  });

  test('no client secret reached the upstream or the metrics', async () => {
    const upstreamSaw = JSON.stringify(up.received);
    const metrics = (await get(`${admin}/metrics`)).text + (await get(`${admin}/summary`)).text + (await get(`${admin}/configz`)).text;
    for (const s of secrets()) {
      assert.ok(!upstreamSaw.includes(s), 'secret reached the upstream');
      assert.ok(!metrics.includes(s), 'secret in the admin endpoints');
    }
  });

  test('an upstream resolving to a loopback address no pair allows → 502 problem and a log line; the process lives on', async () => {
    const r = await get(`${base}/sneaky/x`);
    assertProblem(r, 502, 'upstream-not-allowed');
    assert.equal(hidden.received.length, 0, 'nothing reached the hidden upstream');
    await gw.waitForLine(new RegExp(`"kind":"not-allowed".*localhost:${hidden.port} resolves to`), { timeoutMs: 5000 });
    assert.equal((await get(`${base}/flights/x`, { headers: { 'x-api-key': main.key } })).status, 200);
  });

  test('analytics on the admin port: per API, client and status class; violations; recent summary', async () => {
    const m = (await get(`${admin}/metrics`)).text;
    assert.match(m, /crossgate_gateway_requests_total\{api="max-airlines\/flights",client="mule-united\/portal",code_class="2xx"\} \d+/);
    assert.match(m, /crossgate_gateway_policy_violations_total\{api="max-airlines\/limited",policy="sla-tier"\} \d+/);
    assert.match(m, /crossgate_gateway_policy_violations_total\{api="max-airlines\/blocked",policy="ip-blocklist"\} 1/);
    assert.match(m, /crossgate_gateway_policy_violations_total\{api="max-airlines\/secure",policy="jwt-validation"\} 3/);
    const s = (await get(`${admin}/summary`)).json() as { apis: Record<string, { requests: number; errorPercent: number }> };
    assert.ok(s.apis['max-airlines/flights']!.requests > 5);
    assert.equal(s.apis['max-airlines/blocked']!.errorPercent, 100);
  });

  test('SIGTERM stops it cleanly; no raw key in its output', async () => {
    await gw.stop('SIGTERM');
    const { code } = await gw.exited;
    assert.equal(code, 0);
    const out = gw.lines.join('\n');
    assert.ok(out.includes('"msg":"request"'), 'access log flushed on exit');
    for (const k of [main, limited, revoked, rotatedOld, rotatedNew, pastGrace, scopedKey, bothKey]) assert.ok(!out.includes(k.key));
    for (const s of secrets()) assert.ok(!out.includes(s), 'no client secret in the output');
  });
});
