// crossgate-authz's check port on a unix domain socket (nginx beside it in
// one pod): the flag and its refusals, the socket file (mode 0660, a stale one
// replaced, anything else at the path refused, removed at close), the peer
// reported as loopback so trusted proxies and IP lists work as over
// 127.0.0.1, and the same token rule as over TCP.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as undiciRequest } from 'undici';
import { authzListen, grpcOptions, parseListen } from '../../../gateway/main.ts';
import { startAuthz, type RunningAuthz } from '../../../gateway/gateway.ts';
import { bind, UNIX_PATH_MAX, unixSocketPath } from '../../../kube/listen.ts';
import { checkRoutes, ConfigDir, cred, newKey, silent } from './fixtures.ts';

const TOKEN = 'proxy-token-0123456789abcdef';
const BAD_PATH = /expected unix:\/absolute\/path of letters, digits, "\.", "_", "-" and "\/", no "\." or "\.\." segment, at most 107 bytes/;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agents = new Map<string, Agent>();

/** A request over the unix socket at `path` (a flat name/value header list), with undici: one keep-alive agent per socket, as nginx keeps its connections. */
async function call(path: string, target: string, headers: string[] = []): Promise<Res> {
  let agent = agents.get(path);
  if (!agent) agents.set(path, (agent = new Agent({ connect: { socketPath: path } })));
  const r = await undiciRequest(`http://authz${target}`, { dispatcher: agent, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** What a connection to the socket at `path` reads until the server closes it. */
function readAll(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = connect({ path });
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('the check port flag: --listen unix:/path, for authz only', () => {
  test('authz: unix:/absolute/path is a socket (no port); host:port as before', () => {
    assert.deepEqual(authzListen('unix:/run/crossgate/authz.sock'), { host: 'unix:/run/crossgate/authz.sock', port: 0 });
    assert.deepEqual(authzListen('0.0.0.0:9191'), { host: '0.0.0.0', port: 9191 });
    assert.deepEqual(authzListen('9191'), { host: '127.0.0.1', port: 9191 });
  });

  test('a relative, hostile or too long socket path is refused with the rule', () => {
    const long = `/${'a'.repeat(UNIX_PATH_MAX)}`;
    for (const v of ['unix:', 'unix:authz.sock', 'unix:./authz.sock', 'unix:/run/a b.sock', 'unix:/run/a;b', 'unix:/run/{x}', 'unix:/run/"x"', "unix:/run/'x'", 'unix:/run/$x', 'unix:/run/#x', 'unix:/run/a\nb', 'unix:/run/../etc/x', 'unix:/run/./x', 'unix:/run//x', 'unix:/run/x/', `unix:${long}`]) {
      assert.throws(() => authzListen(v), (err: Error) => BAD_PATH.test(err.message) && err.message.startsWith(`unix socket ${JSON.stringify(v)}:`), v);
    }
    assert.equal(unixSocketPath(`unix:${long.slice(0, UNIX_PATH_MAX)}`).length, UNIX_PATH_MAX);
  });

  test('every other listener (the gateway, admin, gRPC, access log) refuses a unix socket, saying where it is allowed', () => {
    const msg = /listen address "unix:\/run\/x\.sock": a unix socket is served only on authz's check port \(--mode=authz --listen\)/;
    assert.throws(() => parseListen('unix:/run/x.sock', '127.0.0.1'), msg);
    assert.throws(() => grpcOptions({ 'grpc-listen': 'unix:/run/x.sock' }, {}), msg);
  });
});

describe('kube/listen.ts: binding a unix socket', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crossgate-unix-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the socket is 0660, its peers are reported as loopback, and closing removes the file', async () => {
    const path = join(dir, 'a.sock');
    const server = createServer((s) => s.end(`${s.remoteAddress} ${s.remoteFamily}`));
    const b = await bind(server, { host: `unix:${path}` }, 9191);
    try {
      assert.deepEqual([b.url, b.port, b.host], [`unix:${path}`, 0, `unix:${path}`]);
      const st = lstatSync(path);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(await readAll(path), '127.0.0.1 IPv4');
    } finally {
      await close(server);
    }
    assert.equal(existsSync(path), false);
  });

  test('a stale socket of an earlier run (killed: nobody accepts on it) is replaced', async () => {
    const path = join(dir, 'stale.sock');
    // A process that dies by SIGKILL while listening leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(lstatSync(path).isSocket(), 'the stale socket is there');
    const server = createServer((s) => s.end('new'));
    await bind(server, { host: `unix:${path}` }, 9191);
    assert.equal(await readAll(path), 'new');
    await close(server);
  });

  test('a socket another process still accepts on is not taken over', async () => {
    const path = join(dir, 'live.sock');
    // The probe connects and hangs up at once: its answer may meet a reset.
    const live = createServer((s) => s.on('error', () => undefined).end('live'));
    await new Promise<void>((r) => live.listen(path, () => r()));
    const intruder = createServer();
    await assert.rejects(bind(intruder, { host: `unix:${path}` }, 9191), { message: `unix socket ${path}: another process is listening on it; not removed` });
    assert.equal(await readAll(path), 'live');
    await close(live);
  });

  test('a file, a directory or a symlink at the path is refused and left as it was', async () => {
    const file = join(dir, 'file.sock');
    await writeFile(file, 'keep me');
    const link = join(dir, 'link.sock');
    await symlink(file, link);
    for (const path of [file, link, dir]) {
      await assert.rejects(bind(createServer(), { host: `unix:${path}` }, 9191), {
        message: `unix socket ${path}: the path exists and is not a socket; not removed (remove it or choose another path)`,
      });
    }
    assert.equal(await readFile(file, 'utf8'), 'keep me');
    assert.ok(lstatSync(link).isSymbolicLink());
  });

  test('a directory that does not exist is refused, naming it', async () => {
    const missing = join(dir, 'missing');
    await assert.rejects(bind(createServer(), { host: `unix:${join(missing, 'a.sock')}` }, 9191), { message: `unix socket ${join(missing, 'a.sock')}: ${missing} is not a directory (mount the shared volume there)` });
  });
});

describe('crossgate-authz on a unix socket', () => {
  let cfg: ConfigDir;
  let dir: string;
  let trusting: RunningAuthz;
  let untrusting: RunningAuthz;
  let nodeServer: RunningAuthz;
  const key = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const nginx = (routeId: string, uri: string, extra: string[] = []): string[] => [...auth, 'x-crossgate-route', routeId, 'x-original-uri', uri, 'x-original-method', 'GET', 'x-original-host', 'api.example', ...extra];
  const sock = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crossgate-authz-unix-'));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`);
    cfg = await ConfigDir.create('authz-unix');
    cfg.routes = checkRoutes();
    cfg.credentials = { [key.hash]: cred('air/flights', { contract: 'air/c-main', client: 'buyer/portal' }) };
    await cfg.write();
    const common = {
      admin: { host: '127.0.0.1', port: 0 },
      source: { kind: 'directory' as const, dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
      logger: silent(),
      configDebounceMs: 5,
      tokenFile: join(dir, 'token'),
    };
    trusting = await startAuthz({ ...common, listen: authzListen(`unix:${sock('trusting.sock')}`), trustedProxies: ['127.0.0.1'] });
    untrusting = await startAuthz({ ...common, listen: authzListen(`unix:${sock('untrusting.sock')}`) });
    nodeServer = await startAuthz({ ...common, listen: authzListen(`unix:${sock('node.sock')}`), checkServer: 'node' });
    for (const a of [trusting, untrusting, nodeServer]) {
      await a.sourceStarted;
      for (let i = 0; i < 200 && !a.loader.current; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(a.loader.current, 'config loaded');
    }
  });

  after(async () => {
    await trusting?.stop(0);
    await untrusting?.stop(0);
    await nodeServer?.stop(0);
    await Promise.all([...agents.values()].map((a) => a.close()));
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('its url names the socket; health answers without the token', async () => {
    assert.equal(trusting.url, `unix:${sock('trusting.sock')}`);
    assert.equal((await call(sock('trusting.sock'), '/healthz')).status, 200);
    assert.equal((await call(sock('trusting.sock'), '/readyz')).status, 200);
  });

  test('the proxy token is still required: none or a wrong one → 401 and nothing else is read', async () => {
    for (const path of [sock('trusting.sock'), sock('node.sock')]) {
      for (const h of [[], ['x-crossgate-authz', 'Bearer wrong-token-0123456789']]) {
        const r = await call(path, '/v1/nginx', [...h, 'x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/1', 'x-original-method', 'GET', 'x-api-key', key.key]);
        assert.equal(r.status, 401, `${path} ${JSON.stringify(h)}`);
        assert.equal(JSON.parse(r.body).detail, "Checks need the proxy's token in x-crossgate-authz.");
        assert.equal(r.headers['x-crossgate-client'], undefined);
      }
    }
  });

  test('no key → 401 missing-api-key; a valid key → 200 naming the client (both check servers)', async () => {
    for (const path of [sock('trusting.sock'), sock('node.sock')]) {
      const none = await call(path, '/v1/nginx', nginx('air/flights', '/flights/FL1'));
      assert.deepEqual([none.status, JSON.parse(none.body).type], [401, 'https://crossgate.dev/problems/missing-api-key'], path);
      const ok = await call(path, '/v1/nginx', nginx('air/flights', '/flights/FL1', ['x-api-key', key.key]));
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.headers['x-crossgate-client'], 'buyer/portal');
    }
  });

  test('the peer is loopback: with 127.0.0.1 a trusted proxy, X-Forwarded-For names the client the IP list judges', async () => {
    const blocked = await call(sock('trusting.sock'), '/v1/nginx', nginx('air/edge', '/edge/x', ['x-forwarded-for', '203.0.113.9']));
    assert.deepEqual([blocked.status, blocked.headers['x-crossgate-status']], [403, '403']);
    // Judged by its address, not refused for having none ("could not be determined").
    assert.equal(JSON.parse(String(blocked.headers['x-crossgate-problem'])).detail, 'Requests from this address are not allowed.');
    assert.equal((await call(sock('trusting.sock'), '/v1/nginx', nginx('air/edge', '/edge/x', ['x-forwarded-for', '198.51.100.7']))).status, 200);
  });

  test('without trusted proxies the socket peer (127.0.0.1) is the client and X-Forwarded-For is not read', async () => {
    assert.equal((await call(sock('untrusting.sock'), '/v1/nginx', nginx('air/edge', '/edge/x', ['x-forwarded-for', '203.0.113.9']))).status, 200);
  });

  test('stopping removes the socket file', async () => {
    const path = join(dir, 'stopped.sock');
    const a = await startAuthz({
      admin: { host: '127.0.0.1', port: 0 },
      listen: authzListen(`unix:${path}`),
      source: { kind: 'directory', dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
      logger: silent(),
      tokenFile: join(dir, 'token'),
    });
    assert.ok(lstatSync(path).isSocket());
    await a.stop(0);
    assert.equal(existsSync(path), false);
  });
});
