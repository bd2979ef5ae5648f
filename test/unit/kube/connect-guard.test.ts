// The connect-time address check (gateway/connect-guard.ts): a name that resolves
// to loopback (localhost, or any name through DNS) is refused with a 502 problem
// and a log line unless its exact host:port is an allowed pair; the gateway's own
// listeners are refused always; the JWKS fetch goes through the same check.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectGuard, UpstreamRefusedError, type Lookup } from '../../../kube/connect-guard.ts';
import { createGatewayLogger } from '../../../gateway/logger.ts';
import { JwksCache, compileJwtValidation } from '../../../gateway/policies/jwt-validation.ts';
import { newContext } from '../../../gateway/policies/types.ts';
import { CredentialIndex } from '../../../gateway/compiled.ts';
import { platformSettingsFromEnv } from '../../../api/platform.ts';
import { ConfigDir, policy, route, startDirGateway, startUpstream, waitForGeneration } from '../gateway/fixtures.ts';

const settings = (pairs = '') => platformSettingsFromEnv({ CROSSGATE_LOOPBACK_UPSTREAMS: pairs });

/** A resolver that knows a few names (an attacker's DNS). */
const fakeDns = (table: Record<string, string[]>): Lookup => (name, cb) => {
  const list = table[name];
  if (!list) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), []);
  cb(null, list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
};

describe('ConnectGuard', () => {
  const dns = fakeDns({ 'evil.example': ['127.0.0.1'], 'meta.example': ['169.254.169.254'], 'mixed.example': ['203.0.113.5', '127.0.0.1'], 'ok.example': ['203.0.113.5'], 'v6.example': ['::ffff:127.0.0.1'] });

  test('a name resolving to a blocked address is refused with the name, the address and the range', async () => {
    const g = new ConnectGuard({ settings: settings(), lookup: dns });
    await assert.rejects(g.resolve('evil.example', 80), (e: unknown) => e instanceof UpstreamRefusedError && e.message === 'evil.example:80 resolves to 127.0.0.1, a loopback address not among the allowed loopback upstreams (CROSSGATE_LOOPBACK_UPSTREAMS)');
    await assert.rejects(g.resolve('meta.example', 80), /meta\.example:80 resolves to 169\.254\.169\.254, a link-local address$/);
    await assert.rejects(g.resolve('mixed.example', 443), /resolves to 127\.0\.0\.1/, 'one blocked answer among several refuses the name');
    await assert.rejects(g.resolve('v6.example', 80), /resolves to ::ffff:127\.0\.0\.1, a loopback address/);
    await assert.rejects(g.resolve('[::1]', 80), /::1:80 resolves to ::1, a loopback address/);
    await assert.rejects(g.resolve('0.0.0.0', 80), /unspecified/);
    assert.deepEqual(await g.resolve('ok.example', 443), { address: '203.0.113.5', family: 4 });
  });

  test('an allowed pair lets exactly that host:port through, also by the name localhost when the pair names it', async () => {
    const g = new ConnectGuard({ settings: settings('127.0.0.1:8081,localhost:9000'), lookup: fakeDns({ localhost: ['127.0.0.1'], 'evil.example': ['127.0.0.1'] }) });
    assert.equal((await g.resolve('127.0.0.1', 8081)).address, '127.0.0.1');
    assert.equal((await g.resolve('evil.example', 8081)).address, '127.0.0.1', 'the pair is the address and port, whatever name led there');
    await assert.rejects(g.resolve('127.0.0.1', 8082), /loopback/);
    assert.equal((await g.resolve('localhost', 9000)).address, '127.0.0.1');
    await assert.rejects(g.resolve('evil.example', 9000), /loopback/, 'a "localhost:port" pair allows the name localhost only');
  });

  test("an address of the cluster's networks is reached only through a cluster Service name (backendRef, <svc>.<ns>.svc), never through another name or a literal", async () => {
    const clusterDns = fakeDns({
      'flights.max-airlines-prod.svc.cluster.local': ['10.96.4.2'],
      'flights.max-airlines-prod.svc': ['10.96.4.2'],
      'api.max-airlines.example': ['10.244.1.9'],
      'mapped.example': ['::ffff:10.244.1.9'],
      'ok.example': ['203.0.113.5'],
    });
    const g = new ConnectGuard({ settings: platformSettingsFromEnv({ CROSSGATE_CLUSTER_CIDRS: '10.244.0.0/16,10.96.0.0/12' }), lookup: clusterDns });
    assert.deepEqual(await g.resolve('flights.max-airlines-prod.svc.cluster.local', 8080), { address: '10.96.4.2', family: 4 }, "an organization's own backendRef Service");
    assert.deepEqual(await g.resolve('flights.max-airlines-prod.svc', 8080), { address: '10.96.4.2', family: 4 });
    await assert.rejects(
      g.resolve('api.max-airlines.example', 443),
      (e: unknown) => e instanceof UpstreamRefusedError && e.message === "api.max-airlines.example:443 resolves to 10.244.1.9, inside the cluster's own network 10.244.0.0/16 (CROSSGATE_CLUSTER_CIDRS), which only a Service name may reach",
    );
    await assert.rejects(g.resolve('mapped.example', 443), /resolves to ::ffff:10\.244\.1\.9, inside the cluster's own network 10\.244\.0\.0\/16/);
    await assert.rejects(g.resolve('10.96.0.1', 443), /^UpstreamRefusedError: 10\.96\.0\.1:443 resolves to 10\.96\.0\.1, inside the cluster's own network 10\.96\.0\.0\/12/);
    assert.equal((await g.resolve('ok.example', 443)).address, '203.0.113.5');
    // Blocked ranges come first, whatever the name: a Service name resolving to loopback is refused as loopback.
    const loop = new ConnectGuard({ settings: platformSettingsFromEnv({ CROSSGATE_CLUSTER_CIDRS: '10.96.0.0/12' }), lookup: fakeDns({ 'x.max-airlines-prod.svc': ['127.0.0.1'] }) });
    await assert.rejects(loop.resolve('x.max-airlines-prod.svc', 80), /a loopback address not among the allowed loopback upstreams/);
  });

  test("the gateway's own listeners are refused even when a pair allows them; a wildcard listener covers every local address", async () => {
    const g = new ConnectGuard({ settings: settings('127.0.0.1:9090'), lookup: dns, interfaceAddresses: () => ['127.0.0.1', '10.1.2.3'] });
    g.setListeners([{ host: '127.0.0.1', port: 9090 }, { host: '0.0.0.0', port: 8080 }]);
    await assert.rejects(g.resolve('127.0.0.1', 9090), /127\.0\.0\.1:9090 resolves to 127\.0\.0\.1, a listener of the gateway itself/);
    await assert.rejects(g.resolve('10.1.2.3', 8080), /a listener of the gateway itself/);
    await assert.rejects(g.resolve('127.0.0.5', 8080), /a listener of the gateway itself/);
    assert.equal((await g.resolve('10.1.2.4', 8080)).address, '10.1.2.4');
  });
});

// The attacker is an organization admin whose upstream names resolve slowly (its own DNS zone, or an ExternalName
// Service it points at one): getaddrinfo runs on libuv's four shared threads, modelled here. Its connects must not
// take every thread: another organization's lookup runs at once (the gateway passes the route's namespace as scope).
describe('ConnectGuard: one scope cannot take every lookup thread', () => {
  /** getaddrinfo on a pool of `threads`: a lookup holds a thread until it answers; slow names answer on release(). */
  function threadPool(threads: number) {
    let busy = 0;
    const queue: Array<() => void> = [];
    const held: Array<() => void> = [];
    let maxSlow = 0;
    let slowRunning = 0;
    const lookup: Lookup = (name, cb) => {
      const start = () => {
        busy++;
        const done = () => {
          busy--;
          queue.shift()?.();
          cb(null, [{ address: '203.0.113.5', family: 4 }]);
        };
        if (name.startsWith('slow')) {
          slowRunning++;
          maxSlow = Math.max(maxSlow, slowRunning);
          held.push(() => {
            slowRunning--;
            done();
          });
        } else setImmediate(done);
      };
      if (busy < threads) start();
      else queue.push(start);
    };
    return { lookup, release: () => held.splice(0).forEach((f) => f()), held: () => held.length, maxSlow: () => maxSlow };
  }

  test("eight connects to a slow name in one namespace hold one thread; another namespace's lookup is answered at once", async () => {
    const pool = threadPool(4);
    const g = new ConnectGuard({ settings: settings(), lookup: pool.lookup });
    const attacker = Array.from({ length: 8 }, (_, i) => g.resolve(`slow${i}.attacker.example`, 443, 'attacker/'));
    const victim = await Promise.race([g.resolve('api.victim.example', 443, 'victim/'), new Promise((r) => setTimeout(() => r('blocked'), 500))]);
    assert.deepEqual(victim, { address: '203.0.113.5', family: 4 }, "the victim's lookup waited for a thread the attacker's lookups hold");
    assert.equal(pool.maxSlow(), 1, 'one lookup of the scope at a time');
    // The attacker's own connects still go, one after another.
    while (pool.held() > 0 || (await Promise.race([Promise.all(attacker).then(() => true), new Promise((r) => setImmediate(() => r(false)))])) === false) {
      pool.release();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal((await Promise.all(attacker)).length, 8);
  });

  test('a burst of connects of one scope to one name is one lookup', async () => {
    const pool = threadPool(4);
    const g = new ConnectGuard({ settings: settings(), lookup: pool.lookup });
    const burst = Array.from({ length: 50 }, () => g.resolve('slow.shared.example', 443, 'team/'));
    assert.equal(pool.held(), 1);
    pool.release();
    assert.equal((await Promise.all(burst)).length, 50);
  });

  test('without a scope (the JWKS fetch, the alert notifier) lookups are not queued', async () => {
    const pool = threadPool(4);
    const g = new ConnectGuard({ settings: settings(), lookup: pool.lookup });
    const all = [g.resolve('slow1.example', 443), g.resolve('slow2.example', 443)];
    assert.equal(pool.held(), 2);
    pool.release();
    assert.equal((await Promise.all(all)).length, 2);
  });
});

describe('the gateway at connect time', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  test('an upstream named "localhost" (resolving to 127.0.0.1) without its pair → 502 problem+json and a log line; its own admin port → 502 even with a pair', async () => {
    const up = await startUpstream();
    cleanup.push(() => up.close());
    const allowed = await startUpstream();
    cleanup.push(() => allowed.close());
    const cfg = await ConfigDir.create();
    cleanup.push(() => cfg.remove());
    cfg.routes = [route('ns/sneaky', { basePath: '/sneaky', upstream: { url: `http://localhost:${up.port}` } }), route('ns/fine', { basePath: '/fine', upstream: { url: allowed.url } })];
    await cfg.write();
    const logger = createGatewayLogger({ level: 'info', destination: sink });
    const gw = await startDirGateway(cfg, { logger, loopbackUpstreams: [allowed.hostPort] });
    cleanup.push(() => gw.stop(0));
    await waitForGeneration(gw, 1);

    const r = await fetch(`${gw.url}/sneaky/x`);
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(await r.json(), {
      type: 'https://crossgate.dev/problems/upstream-not-allowed',
      title: 'Bad Gateway',
      status: 502,
      detail: "The gateway does not connect to this API's upstream: its address is loopback, link-local, unspecified, the gateway's own, or inside the cluster's own network under a name that is not a Service's. The gateway's log names it.",
    });
    assert.equal(up.received.length, 0, 'nothing reached the loopback upstream');
    assert.equal((await fetch(`${gw.url}/fine/x`)).status, 200, 'the allowed pair is served');
    const log = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'upstream failed' && l.route === 'ns/sneaky');
    assert.ok(log, 'a log line names the refusal');
    assert.equal(log.kind, 'not-allowed');
    assert.match(log.err, new RegExp(`localhost:${up.port} resolves to (127\\.0\\.0\\.1|::1), a loopback address`));
    assert.match(await gw.metrics.registry.metrics(), /crossgate_gateway_upstream_errors_total\{api="ns\/sneaky",kind="not-allowed"\} 1/);

    // The admin port, even listed as a pair, is the gateway's own.
    const adminPort = Number(new URL(gw.adminUrl).port);
    await gw.stop(0);
    const gw2 = await startDirGateway(cfg, { logger, loopbackUpstreams: [allowed.hostPort] });
    cleanup.push(() => gw2.stop(0));
    const admin2 = Number(new URL(gw2.adminUrl).port);
    assert.notEqual(admin2, adminPort);
    cfg.routes = [route('ns/admin', { basePath: '/admin', upstream: { url: `${gw2.adminUrl}` } })];
    await cfg.write();
    await waitForGeneration(gw2, 2);
    const a = await fetch(`${gw2.url}/admin/metrics`);
    assert.equal(a.status, 502);
    const body = await a.text();
    assert.doesNotMatch(body, /crossgate_gateway|process_cpu/, "the admin port's metrics never come out");
    assert.match(body, /upstream-not-allowed/);
  });

  test("the gateway refuses an upstream inside the cluster's networks named by address (502), with CROSSGATE_CLUSTER_CIDRS from its platform settings", async () => {
    const up = await startUpstream();
    cleanup.push(() => up.close());
    const cfg = await ConfigDir.create();
    cleanup.push(() => cfg.remove());
    cfg.routes = [route('ns/inside', { basePath: '/inside', upstream: { url: up.url } })];
    await cfg.write();
    const logger = createGatewayLogger({ level: 'info', destination: sink });
    // The test's upstream listens on loopback: allowed as a pair, and declared part of the cluster's network.
    const gw = await startDirGateway(cfg, { logger, loopbackUpstreams: [up.hostPort], clusterCidrs: ['127.0.0.0/8'] });
    cleanup.push(() => gw.stop(0));
    await waitForGeneration(gw, 1);
    const r = await fetch(`${gw.url}/inside/x`);
    assert.equal(r.status, 502);
    assert.match(await r.text(), /upstream-not-allowed/);
    assert.equal(up.received.length, 0);
    const log = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'upstream failed' && l.route === 'ns/inside');
    assert.match(log?.err ?? '', /resolves to 127\.0\.0\.1, inside the cluster's own network 127\.0\.0\.0\/8 \(CROSSGATE_CLUSTER_CIDRS\), which only a Service name may reach/);
  });

  test('the JWKS fetch goes through the guard: a jwksUrl on loopback without its pair is never fetched (503, a log line)', async () => {
    let fetched = 0;
    const server = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const refused: string[] = [];
    const guard = new ConnectGuard({ settings: settings() });
    const jwks = new JwksCache({ fetch: guard.fetch((m) => refused.push(m)) });
    const p = compileJwtValidation('ns/jwt', { jwksUrl: `http://127.0.0.1:${port}/jwks` }, jwks);
    const ctx = newContext({ method: 'GET', headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln' }, path: '/', query: '', remoteAddress: '127.0.0.1', now: Date.now(), routeId: 'ns/r', credentials: CredentialIndex.empty() });
    const o = await p.onRequest(ctx);
    assert.equal(o?.status, 503);
    assert.equal(o?.detail, 'The token cannot be checked: the key set URL resolves to an address the gateway does not connect to.');
    assert.equal(fetched, 0);
    assert.deepEqual(refused, [`127.0.0.1:${port} resolves to 127.0.0.1, a loopback address not among the allowed loopback upstreams (CROSSGATE_LOOPBACK_UPSTREAMS)`]);

    // With the exact pair, the same URL is fetched through the guard.
    const ok = new JwksCache({ fetch: new ConnectGuard({ settings: settings(`127.0.0.1:${port}`) }).fetch() });
    const p2 = compileJwtValidation('ns/jwt', { jwksUrl: `http://127.0.0.1:${port}/jwks` }, ok);
    const o2 = await p2.onRequest(ctx);
    assert.equal(o2?.status, 401, 'the key set was fetched (the token matches no key in it)');
    assert.equal(fetched, 1);
  });
});
