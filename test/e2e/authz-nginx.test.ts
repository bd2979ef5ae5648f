// A real nginx in front of crossgate-authz and a real upstream, all on
// 127.0.0.1: the config directory the gateway reads, `node gateway/main.ts
// --mode=authz` started as users start it, the nginx config rendered by
// `node gateway/render-nginx.ts` and used as is (in an nginx.conf with a temp
// prefix), every claim proved through nginx. Needs Debian's nginx
// (hack/optional-tools.sh installs it as root); skips with the reason where it
// is missing. A second suite runs authz on a unix socket (beside nginx in a
// pod): the same checks through `server unix:/path;`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type ManagedProcess } from './support/process.ts';
import * as grpc from '@grpc/grpc-js';
import { ConfigDir, cred, newKey, policy, route, startUpstream, type Upstream } from '../unit/gateway/fixtures.ts';
import { Authorization, check, checkReqOnHost } from '../unit/gateway/grpc-support.ts';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function findNginx(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const NGINX = findNginx();
const SKIP = NGINX ? false : 'nginx is not installed (hack/optional-tools.sh installs Debian\'s nginx as root with apt-get)';
if (SKIP) console.log(`# skipping authz-nginx: ${SKIP}`);

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => Record<string, unknown>;
}

/** A raw request (a flat name/value header list, so repeated headers can be sent), optionally from another loopback address. */
function call(base: string, path: string, headers: string[] = [], opts: { localAddress?: string; method?: string; host?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request(
      { host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: ['host', opts.host ?? u.host, ...headers], localAddress: opts.localAddress, timeout: 10_000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function assertProblem(r: Res, status: number, slug: string): void {
  assert.equal(r.status, status, r.body);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  const p = r.json();
  assert.equal(p.type, `https://crossgate.dev/problems/${slug}`);
  assert.equal(p.status, status);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** nginx with the rendered config in `out` (included in an nginx.conf under work/nginx), answering on 127.0.0.1:port. */
async function startNginx(work: string, out: string, port: number): Promise<ManagedProcess> {
  const prefix = join(work, 'nginx');
  await mkdir(join(prefix, 'tmp'), { recursive: true });
  // nginx's workers may run as another user: the prefix must be readable, its temp dir writable.
  await chmod(work, 0o755);
  await chmod(prefix, 0o755);
  await chmod(join(prefix, 'tmp'), 0o777);
  await chmod(out, 0o755);
  const conf = [
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    'error_log stderr warn;',
    `pid ${join(prefix, 'nginx.pid')};`,
    'events { worker_connections 256; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(prefix, 'tmp', t)};`),
    `    include ${join(out, 'crossgate.conf')};`,
    '}',
    '',
  ].join('\n');
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const nginx = startProcess(NGINX!, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { name: 'nginx', cwd: prefix, noAutoStop: true });
  for (let i = 0; ; i++) {
    try {
      await call(`http://127.0.0.1:${port}`, '/open/ping');
      return nginx;
    } catch (err) {
      if (i > 100) {
        await nginx.stop();
        throw new Error(`nginx did not come up: ${String(err)}\n${await readFile(join(out, 'crossgate.conf'), 'utf8')}`);
      }
      await sleep(100);
    }
  }
}

/** `node gateway/render-nginx.ts` as users run it: the config for `cfg`, checking with the authz at `authz` (IP:port or unix:/path), written to `out`. */
function renderNginx(cfg: ConfigDir, authz: string, port: number, tokenFile: string, accessLog: string, out: string): void {
  execFileSync(
    process.execPath,
    [join(ROOT, 'gateway/render-nginx.ts'), '--config-dir', cfg.dir, '--gateway', cfg.gateway, '--authz', authz, '--listen', `127.0.0.1:${port}`, '--token-file', tokenFile, '--access-log', accessLog, '--out', out],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

interface Summary {
  apis: Record<string, { requests: number; clientErrors: number; serverErrors: number; errorPercent: number; meanMs: number; maxMs: number; statusCodes: Record<string, number>; violations: Record<string, number> }>;
}

/** authz's /summary once `until` holds, or the last one after `ms` (nginx's access log reaches authz a little later than the response). */
async function summaryWhen(adminUrl: string, until: (s: Summary) => boolean, ms = 5000): Promise<Summary> {
  let s: Summary;
  const t0 = Date.now();
  do {
    s = (await call(adminUrl, '/summary')).json() as unknown as Summary;
    if (until(s)) break;
    await sleep(100);
  } while (Date.now() - t0 < ms);
  return s;
}

/** Renders the config for `cfg` (authz at `authz`: IP:port or unix:/path) into work/conf and starts nginx with it on a free port. */
async function renderAndStartNginx(cfg: ConfigDir, authz: string, work: string, accessLog: string): Promise<{ nginx: ManagedProcess; base: string }> {
  const port = await freePort();
  const out = join(work, 'conf');
  renderNginx(cfg, authz, port, join(work, 'token'), accessLog, out);
  return { nginx: await startNginx(work, out, port), base: `http://127.0.0.1:${port}` };
}

/** Stops what a suite started (nginx first, so no check meets a closed authz) and removes its files. */
async function teardown(s: { nginx?: ManagedProcess; authz?: ManagedProcess; up?: Upstream; cfg?: ConfigDir; work?: string }): Promise<void> {
  await s.nginx?.stop();
  await s.authz?.stop();
  await s.up?.close();
  await s.cfg?.remove();
  if (s.work) await rm(s.work, { recursive: true, force: true });
}

const TOKEN = 'e2e-proxy-token-4f1c9a7d2b6e8035';

describe('nginx auth_request → crossgate-authz → upstream', { skip: SKIP }, () => {
  let up: Upstream;
  let cfg: ConfigDir;
  let work: string;
  let authz: ManagedProcess;
  let nginx: ManagedProcess | undefined;
  let authzUrl: string;
  let adminUrl: string;
  let logUrl: string;
  let grpcUrl: string;
  let base: string;
  const stats = newKey();
  const main = newKey();
  const limited = newKey();
  const doomed = newKey();

  before(async () => {
    up = await startUpstream();
    work = await mkdtemp(join(tmpdir(), 'crossgate-nginx-'));
    await writeFile(join(work, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    cfg = await ConfigDir.create('edge');
    const upstream = { url: `${up.url}/api` };
    cfg.routes = [
      route('air/flights', { basePath: '/flights', upstream, tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'air/key')] }),
      route('air/limited', { basePath: '/limited', upstream, tiers: [{ name: 'bronze', limits: [{ requests: 2, periodSeconds: 3600 }] }], policies: [policy('api-key', {}, 'air/limited-key')] }),
      route('air/blocked', { basePath: '/blocked', upstream, policies: [policy('ip-blocklist', { cidrs: ['127.0.0.2/32'] }, 'air/block')] }),
      route('air/open', { basePath: '/open', upstream }),
      // Another organization's route on its own hostname.
      route('other/own', { hostnames: ['api.other.example'], basePath: '/own', upstream }),
      route('air/stats', { basePath: '/stats', upstream, tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'air/stats-key')] }),
      // Nothing listens there: nginx answers 502.
      route('air/down', { basePath: '/down', upstream: { url: `http://127.0.0.1:${await freePort()}/api` } }),
    ];
    cfg.credentials = {
      [main.hash]: cred('air/flights', { contract: 'air/c-main', client: 'buyer/portal' }),
      [doomed.hash]: cred('air/flights', { contract: 'air/c-doomed', client: 'buyer/old' }),
      [stats.hash]: cred('air/stats', { contract: 'air/c-stats', client: 'buyer/stats' }),
      [limited.hash]: cred('air/limited', { contract: 'air/c-limited', client: 'buyer/batch', tier: 'bronze' }),
    };
    await cfg.write();

    authz = startProcess(process.execPath, [join(ROOT, 'gateway/main.ts'), '--mode=authz', '--token-file', join(work, 'token'), '--gateway', 'edge', '--config-dir', cfg.dir], {
      name: 'crossgate-authz',
      cwd: ROOT,
      noAutoStop: true,
      // nginx connects from 127.0.0.1: the one trusted proxy. Test clients that play strangers use 127.0.0.2.
      // The shared host is 127.0.0.1 (what the test clients name): routes without hostnames are decided there only.
      env: { GATEWAY_LISTEN: '127.0.0.1:0', GATEWAY_ADMIN_LISTEN: '127.0.0.1:0', AUTHZ_GRPC_LISTEN: '127.0.0.1:0', AUTHZ_ACCESS_LOG_LISTEN: '127.0.0.1:0', GATEWAY_RESCAN_MS: '500', CROSSGATE_TRUSTED_PROXIES: '127.0.0.1', CROSSGATE_GATEWAY_HOSTNAMES: '127.0.0.1', LOG_LEVEL: 'info' },
    });
    grpcUrl = (JSON.parse(await authz.waitForLine('"msg":"authz grpc listening"', { timeoutMs: 20_000 })) as { url: string }).url;
    logUrl = (JSON.parse(await authz.waitForLine('"msg":"authz access log listening"', { timeoutMs: 20_000 })) as { url: string }).url;
    const listening = JSON.parse(await authz.waitForLine('"msg":"authz listening"', { timeoutMs: 20_000 })) as { url: string; admin: string };
    authzUrl = listening.url;
    adminUrl = listening.admin;
    await authz.waitForLine('"msg":"gateway config loaded"', { timeoutMs: 10_000 });

    ({ nginx, base } = await renderAndStartNginx(cfg, new URL(authzUrl).host, work, new URL(logUrl.replace('udp:', 'http:')).host));
  });

  after(() => teardown({ nginx, authz, up, cfg, work }));

  test('the rendered config holds no token (it is in the 0600 include) and nginx serves an open route', async () => {
    const text = await readFile(join(work, 'conf', 'crossgate.conf'), 'utf8');
    assert.ok(!text.includes(TOKEN));
    assert.ok((await readFile(join(work, 'conf', 'crossgate-authz-token.conf'), 'utf8')).includes(TOKEN));
    const r = await call(base, '/open/ping');
    assert.equal(r.status, 200, r.body);
  });

  test('no key → 401 problem from crossgate, through nginx', async () => {
    assertProblem(await call(base, '/flights/FL1'), 401, 'missing-api-key');
    assertProblem(await call(base, '/flights/FL1', ['x-api-key', newKey().key]), 401, 'invalid-api-key');
  });

  test('valid key → 200 from the upstream, which sees the client and neither the key nor the token', async () => {
    const before = up.received.length;
    const r = await call(base, '/flights/FL1?date=2026-12-01', ['x-api-key', main.key, 'x-crossgate-client', 'evil/spoof']);
    assert.equal(r.status, 200, r.body);
    assert.match(String(r.headers.ratelimit), /^"gold-60s";r=\d+;t=\d+$/);
    const seen = up.received.slice(before).at(-1)!;
    assert.equal(seen.url, '/api/FL1?date=2026-12-01');
    assert.equal(seen.headers['x-crossgate-client'], 'buyer/portal');
    assert.equal(seen.headers['x-api-key'], undefined);
    assert.equal(seen.headers['x-crossgate-authz'], undefined);
    assert.equal(seen.headers['x-crossgate-route'], undefined);
    // The base path alone goes to the upstream's base path.
    assert.equal((await call(base, '/flights', ['x-api-key', main.key])).status, 200);
    assert.equal(up.received.at(-1)!.url, '/api');
  });

  test('over the tier → 429 with Retry-After, RateLimit and the problem body (nginx turns other statuses into 500 unless mapped)', async () => {
    const codes: number[] = [];
    let last: Res | undefined;
    for (let i = 0; i < 3; i++) {
      last = await call(base, '/limited/x', ['x-api-key', limited.key]);
      codes.push(last.status);
    }
    assert.deepEqual(codes, [200, 200, 429]);
    assertProblem(last!, 429, 'rate-limited');
    assert.ok(Number(last!.headers['retry-after']) >= 1, JSON.stringify(last!.headers));
    assert.match(String(last!.headers.ratelimit), /"bronze-3600s";r=0;t=\d+/);
    assert.equal(last!.headers['x-crossgate-status'], undefined);
    assert.equal(last!.headers['x-crossgate-problem'], undefined);
  });

  test('a credential removed from the config → 401 within 5 s', async () => {
    assert.equal((await call(base, '/flights/a', ['x-api-key', doomed.key])).status, 200);
    delete cfg.credentials[doomed.hash];
    await cfg.write();
    const t0 = Date.now();
    let status = 200;
    while (Date.now() - t0 < 5000) {
      status = (await call(base, '/flights/a', ['x-api-key', doomed.key])).status;
      if (status === 401) break;
      await sleep(100);
    }
    assert.equal(status, 401, `still ${status} after ${Date.now() - t0} ms`);
  });

  test('blocked IP → 403; a spoofed X-Forwarded-For does not help: nginx appends the real peer and authz reads right to left', async () => {
    assertProblem(await call(base, '/blocked/x', [], { localAddress: '127.0.0.2' }), 403, 'ip-not-allowed');
    assertProblem(await call(base, '/blocked/x', ['x-forwarded-for', '198.51.100.7'], { localAddress: '127.0.0.2' }), 403, 'ip-not-allowed');
    assert.equal((await call(base, '/blocked/x')).status, 200);
  });

  test('a client cannot name the route or the original URI: nginx sets them for the check', async () => {
    const r = await call(base, '/flights/x', ['x-crossgate-route', 'air/open', 'x-original-uri', '/open/x', 'x-original-method', 'GET', 'x-crossgate-authz', `Bearer ${TOKEN}`]);
    assertProblem(r, 401, 'missing-api-key');
  });

  test("a route without hostnames never answers under a host another organization's route names: nginx answers 404, authz alone 421", async () => {
    // air/open is on the shared host; api.other.example belongs to other/own's organization (route claims, as the gateway's router).
    const under = await call(base, '/open/x', [], { host: 'api.other.example' });
    assertProblem(under, 404, 'not-found');
    assert.equal(under.json().detail, 'No API is served at this host and path.');
    assert.equal((await call(base, '/own/x', [], { host: 'api.other.example' })).status, 200);
    assert.equal((await call(base, '/open/x')).status, 200);
    // Without nginx's own routing (a proxy configuration naming air/open for that host), authz refuses it itself.
    const direct = await call(authzUrl, '/v1/nginx', ['x-crossgate-authz', `Bearer ${TOKEN}`, 'x-crossgate-route', 'air/open', 'x-original-uri', '/open/x', 'x-original-method', 'GET', 'x-original-host', 'api.other.example']);
    assert.deepEqual([direct.status, direct.headers['x-crossgate-status']], [403, '421']);
    assert.equal(JSON.parse(String(direct.headers['x-crossgate-problem'])).detail, "This API is not served on this host: the proxy named a route that does not answer on the request's host.");
  });

  // Security model row 8g, against the real process: the Check Envoy sends when an organization's own
  // SecurityPolicy (on its own HTTPRoute for api.other.example) names another organization's route.
  test("an organization's own SecurityPolicy naming another's route: Envoy's Check for its own host is 421 without the route's metadata; on the shared host it passes", async () => {
    const client = new Authorization(new URL(grpcUrl).host, grpc.credentials.createInsecure());
    try {
      for (const host of ['api.other.example', 'evil.example']) {
        const attack = await check(client, checkReqOnHost('air/flights', host, '/flights/x', { 'x-api-key': main.key }), TOKEN);
        assert.equal(attack.status.code, 7, host);
        assert.equal(attack.denied_response.status.code, 421, host);
        assert.equal(JSON.parse(attack.denied_response.body).detail, "This API is not served on this host: the proxy named a route that does not answer on the request's host.");
        assert.equal(attack.dynamic_metadata, null, `${host}: nothing for Envoy's access log to count as air/flights`);
      }
      const own = await check(client, checkReqOnHost('air/flights', '127.0.0.1:8080', '/flights/x', { 'x-api-key': main.key }), TOKEN);
      assert.equal(own.status.code, 0);
      assert.equal(own.dynamic_metadata.fields['crossgate-route'].stringValue, 'air/flights');
    } finally {
      client.close();
    }
  });

  test('direct calls to authz: no token or a wrong one → 401; the route twice → 400; forwarding headers from a stranger are not believed', async () => {
    const check = ['x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/x', 'x-original-method', 'GET', 'x-original-host', '127.0.0.1', 'x-api-key', main.key];
    assert.equal((await call(authzUrl, '/v1/nginx', check)).status, 401);
    assert.equal((await call(authzUrl, '/v1/nginx', ['x-crossgate-authz', 'Bearer not-the-token-0123456789', ...check])).status, 401);
    assert.equal((await call(authzUrl, '/v1/nginx', ['x-crossgate-authz', `Bearer ${TOKEN}`, 'x-crossgate-route', 'air/open', ...check])).status, 400);
    // A caller on 127.0.0.2 is not a trusted proxy: its X-Forwarded-For is ignored and its own address is the client.
    const stranger = await call(authzUrl, '/v1/nginx', ['x-crossgate-authz', `Bearer ${TOKEN}`, 'x-crossgate-route', 'air/blocked', 'x-original-uri', '/blocked/x', 'x-original-method', 'GET', 'x-original-host', '127.0.0.1', 'x-forwarded-for', '198.51.100.7'], {
      localAddress: '127.0.0.2',
    });
    assert.deepEqual([stranger.status, stranger.headers['x-crossgate-status']], [403, '403']);
  });

  test('the access log reaches authz: /summary and /metrics show the route\'s requests by status class and client, with latency', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(base, '/stats/x?secret=never-logged', ['x-api-key', stats.key])).status, 200);
    assert.equal((await call(base, '/stats/slow?ms=150', ['x-api-key', stats.key])).status, 200);
    assertProblem(await call(base, '/stats/x'), 401, 'missing-api-key');
    assert.equal((await call(base, '/down/x')).status, 502);
    const s = await summaryWhen(adminUrl, (x) => (x.apis['air/stats']?.requests ?? 0) >= 5 && (x.apis['air/down']?.requests ?? 0) >= 1);
    const st = s!.apis['air/stats']!;
    assert.deepEqual([st.requests, st.clientErrors, st.serverErrors, st.statusCodes], [5, 1, 0, { '200': 4, '401': 1 }], JSON.stringify(s));
    assert.equal(st.errorPercent, 20);
    assert.ok(st.maxMs >= 140 && st.meanMs > 0, JSON.stringify(st));
    // The refusal counted once, by its policy, at decision time.
    assert.deepEqual(st.violations, { 'api-key': 1 });
    const down = s!.apis['air/down']!;
    assert.deepEqual([down.requests, down.serverErrors, down.statusCodes], [1, 1, { '502': 1 }]);
    // The tier refusals of the earlier test: 429s from the log.
    assert.ok((s!.apis['air/limited']?.statusCodes['429'] ?? 0) >= 1, JSON.stringify(s!.apis['air/limited']));
    const metrics = (await call(adminUrl, '/metrics')).body;
    assert.match(metrics, /crossgate_gateway_requests_total\{api="air\/stats",client="buyer\/stats",code_class="2xx"\} 4/);
    assert.match(metrics, /crossgate_gateway_requests_total\{api="air\/stats",client="-",code_class="4xx"\} 1/);
    assert.match(metrics, /crossgate_gateway_request_duration_seconds_count\{api="air\/stats"\} 5/);
    assert.match(metrics, /crossgate_gateway_access_log_lines_total\{result="recorded"\} \d+/);
  });

  test('access-log datagrams from another address, garbage and unknown routes are dropped and counted; authz stays up', async () => {
    const { createSocket } = await import('node:dgram');
    const u = new URL(logUrl.replace('udp:', 'http:'));
    const line = (route: string) => `<190>Jan  1 00:00:00 crossgate: {"v":"1","route":"${route}","client":"evil/spoof","status":"200","requestTime":"0.001"}`;
    const send = (msg: string | Buffer, from: string) =>
      new Promise<void>((resolve, reject) => {
        const sock = createSocket('udp4');
        sock.bind(0, from, () => sock.send(msg, Number(u.port), u.hostname, (err) => (sock.close(), err ? reject(err) : resolve())));
      });
    const before = (await call(adminUrl, '/summary')).json() as { apis: Record<string, { requests: number }> };
    await send(line('air/stats'), '127.0.0.2');
    await send(line('air/nope'), '127.0.0.1');
    await send(Buffer.from([0x3c, 0xff, 0x00, 0x7b]), '127.0.0.1');
    await send('x'.repeat(4000), '127.0.0.1');
    let metrics = '';
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      metrics = (await call(adminUrl, '/metrics')).body;
      if (/result="oversized"\} 1/.test(metrics)) break;
      await sleep(100);
    }
    assert.match(metrics, /crossgate_gateway_access_log_lines_total\{result="refused_source"\} 1/);
    assert.match(metrics, /crossgate_gateway_access_log_lines_total\{result="unknown_route"\} 1/);
    assert.match(metrics, /crossgate_gateway_access_log_lines_total\{result="malformed"\} 1/);
    assert.match(metrics, /crossgate_gateway_access_log_lines_total\{result="oversized"\} 1/);
    assert.doesNotMatch(metrics, /evil\/spoof/);
    const after = (await call(adminUrl, '/summary')).json() as { apis: Record<string, { requests: number }> };
    assert.equal(after.apis['air/stats']!.requests, before.apis['air/stats']!.requests);
    assert.equal((await call(base, '/open/ping')).status, 200);
  });
});

// authz beside nginx in one pod: the check port on a unix socket in a shared
// directory (an emptyDir there), nginx's upstream `server unix:/path;`.
describe('nginx auth_request → crossgate-authz over a unix socket → upstream', { skip: SKIP }, () => {
  let up: Upstream;
  let cfg: ConfigDir;
  let work: string;
  let socket: string;
  /** The access log nginx writes into the shared volume and authz tails. */
  let logFile: string;
  let adminUrl: string;
  let authz: ManagedProcess | undefined;
  let nginx: ManagedProcess | undefined;
  let base: string;
  const key = newKey();

  /** `node gateway/main.ts --mode=authz --listen unix:…` as the sidecar runs it; resolves with the url it logs. */
  async function startAuthzOnSocket(): Promise<{ proc: ManagedProcess; url: string; admin: string }> {
    const proc = startProcess(process.execPath, [join(ROOT, 'gateway/main.ts'), '--mode=authz', '--token-file', join(work, 'token'), '--gateway', cfg.gateway, '--config-dir', cfg.dir, '--listen', `unix:${socket}`], {
      name: 'crossgate-authz-unix',
      cwd: ROOT,
      noAutoStop: true,
      // The socket's peer is reported as 127.0.0.1: the same trusted-proxy setting as over loopback TCP.
      // The access log through the shared volume: nginx writes the file, authz tails it (no UDP).
      env: { GATEWAY_ADMIN_LISTEN: '127.0.0.1:0', AUTHZ_GRPC_LISTEN: 'off', AUTHZ_ACCESS_LOG_FILE: logFile, GATEWAY_RESCAN_MS: '500', CROSSGATE_TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'info' },
    });
    const { url, admin } = JSON.parse(await proc.waitForLine('"msg":"authz listening"', { timeoutMs: 20_000 })) as { url: string; admin: string };
    const log = JSON.parse(await proc.waitForLine('"msg":"authz access log read from a file"', { timeoutMs: 10_000 })) as { url: string };
    assert.equal(log.url, `file:${logFile}`);
    await proc.waitForLine('"msg":"gateway config loaded"', { timeoutMs: 10_000 });
    return { proc, url, admin };
  }

  /** A request straight to authz's socket, as a process in the pod could send it. */
  function callSocket(path: string, headers: string[]): Promise<Res> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, path, headers: ['host', 'authz', ...headers], timeout: 10_000, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  before(async () => {
    up = await startUpstream();
    work = await mkdtemp(join(tmpdir(), 'crossgate-nginx-unix-'));
    await writeFile(join(work, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    // The shared volume of the pod.
    await mkdir(join(work, 'run'));
    await chmod(join(work, 'run'), 0o755);
    socket = join(work, 'run', 'authz.sock');
    logFile = join(work, 'run', 'access.log');
    cfg = await ConfigDir.create('edge-unix');
    const upstream = { url: `${up.url}/api` };
    cfg.routes = [
      route('air/flights', { basePath: '/flights', upstream, tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'air/key')] }),
      route('air/blocked', { basePath: '/blocked', upstream, policies: [policy('ip-blocklist', { cidrs: ['127.0.0.2/32'] }, 'air/block')] }),
      route('air/open', { basePath: '/open', upstream }),
      // Called only by the access-log test: its count is exactly that test's.
      route('air/logged', { basePath: '/logged', upstream }),
    ];
    cfg.credentials = { [key.hash]: cred('air/flights', { contract: 'air/c-main', client: 'buyer/portal' }) };
    await cfg.write();
    const started = await startAuthzOnSocket();
    authz = started.proc;
    adminUrl = started.admin;
    assert.equal(started.url, `unix:${socket}`);
    ({ nginx, base } = await renderAndStartNginx(cfg, started.url, work, `file:${logFile}`));
  });

  after(() => teardown({ nginx, authz, up, cfg, work }));

  test('the socket is 0660 and nginx names it as its authz upstream', async () => {
    const st = await lstat(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.match(await readFile(join(work, 'conf', 'crossgate.conf'), 'utf8'), new RegExp(`^upstream crossgate_authz \\{\\n {4}server unix:${socket.replace(/[.]/g, '\\.')};$`, 'm'));
  });

  test('no key → 401, valid key → 200 from the upstream without the key, through nginx and the socket', async () => {
    assertProblem(await call(base, '/flights/FL1'), 401, 'missing-api-key');
    const before = up.received.length;
    const r = await call(base, '/flights/FL1', ['x-api-key', key.key]);
    assert.equal(r.status, 200, r.body);
    const seen = up.received.slice(before).at(-1)!;
    assert.equal(seen.headers['x-crossgate-client'], 'buyer/portal');
    assert.equal(seen.headers['x-api-key'], undefined);
  });

  test('the client address still comes through nginx: 127.0.0.2 is blocked by its address, 127.0.0.1 passes', async () => {
    const blocked = await call(base, '/blocked/x', ['x-forwarded-for', '198.51.100.7'], { localAddress: '127.0.0.2' });
    assertProblem(blocked, 403, 'ip-not-allowed');
    // Judged by the address nginx forwarded, not refused for having none.
    assert.equal(blocked.json().detail, 'Requests from this address are not allowed.');
    assert.equal((await call(base, '/blocked/x')).status, 200);
  });

  test('the access log through the shared file reaches authz: /summary shows the route\'s requests by status', async () => {
    assert.match(await readFile(join(work, 'conf', 'crossgate.conf'), 'utf8'), new RegExp(`^ {4}access_log ${logFile.replace(/[.]/g, '\\.')} crossgate_authz buffer=32k flush=1s if=\\$cg_route;$`, 'm'));
    for (let i = 0; i < 3; i++) assert.equal((await call(base, '/logged/x?secret=never-logged')).status, 200);
    // Buffered by nginx (flush=1s), then read by authz's next pass.
    const s = await summaryWhen(adminUrl, (x) => (x.apis['air/logged']?.requests ?? 0) >= 3, 10_000);
    assert.deepEqual([s.apis['air/logged']?.requests, s.apis['air/logged']?.statusCodes], [3, { '200': 3 }], JSON.stringify(s));
    const metrics = (await call(adminUrl, '/metrics')).body;
    assert.match(metrics, /crossgate_gateway_requests_total\{api="air\/logged",client="-",code_class="2xx"\} 3/);
    assert.doesNotMatch(await readFile(logFile, 'utf8'), /never-logged/);
  });

  test('a process that reaches the socket still needs the proxy token: 401 without it', async () => {
    const check = ['x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/x', 'x-original-method', 'GET', 'x-original-host', 'localhost', 'x-api-key', key.key];
    const none = await callSocket('/v1/nginx', check);
    assert.equal(none.status, 401);
    assert.equal(none.json().detail, "Checks need the proxy's token in x-crossgate-authz.");
    assert.equal((await callSocket('/v1/nginx', ['x-crossgate-authz', 'Bearer not-the-token-0123456789', ...check])).status, 401);
    assert.equal((await callSocket('/v1/nginx', ['x-crossgate-authz', `Bearer ${TOKEN}`, ...check])).status, 200);
  });

  test('killed, authz leaves its socket behind; restarted, it replaces it and nginx checks again', async () => {
    await authz!.stop('SIGKILL');
    assert.ok((await lstat(socket)).isSocket(), 'the stale socket is still there');
    // Nothing accepts: nginx cannot check, so it refuses (500), never passes.
    assert.equal((await call(base, '/flights/FL1', ['x-api-key', key.key])).status, 500);
    authz = (await startAuthzOnSocket()).proc;
    assert.equal((await call(base, '/flights/FL1', ['x-api-key', key.key])).status, 200);
    assertProblem(await call(base, '/flights/FL1'), 401, 'missing-api-key');
  });

  test('stopped, authz removes its socket', async () => {
    await authz!.stop();
    authz = undefined;
    await assert.rejects(lstat(socket), { code: 'ENOENT' });
  });
});
