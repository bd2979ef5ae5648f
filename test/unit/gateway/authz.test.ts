// crossgate-authz in process (gateway/authz.ts over decision.ts): the proxy's
// token, the route and forwarding headers only from an authenticated caller
// and only once, the client address only through trusted proxies, and the
// answers each proxy kind needs (nginx: 401/403 with the real status in a
// header; Traefik and Envoy: the real status and problem body).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CLIENT_CACHE_SIZE, ClientCache, clientOf, HOST_CACHE_SIZE, HostCache, TokenFile } from '../../../gateway/authz.ts';
import { hostOf } from '../../../gateway/compiled.ts';
import { NO_PLATFORM_SETTINGS } from '../../../api/platform.ts';
import { TrustedProxies } from '../../../gateway/client-address.ts';
import { startAuthz, type AuthzOptions, type RunningAuthz } from '../../../gateway/gateway.ts';
import type { Credential, Route } from '../../../api/gateway/config.ts';
import { checkCredentials, checkRoutes, ConfigDir, cred, newKey, policy, route, silent } from './fixtures.ts';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request (repeated headers allowed: `headers` is a flat name/value list). */
function call(base: string, path: string, headers: string[], method = 'GET', host?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path, method, headers: ['host', host ?? u.host, ...headers], timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const TOKEN = 'proxy-token-0123456789abcdef';

/** authz on free ports reading `cfg`, the token in dir/token. */
function authzOptions(cfg: ConfigDir, dir: string) {
  return {
    admin: { host: '127.0.0.1', port: 0 },
    listen: { host: '127.0.0.1', port: 0 },
    source: { kind: 'directory' as const, dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
    logger: silent(),
    configDebounceMs: 5,
    tokenFile: join(dir, 'token'),
  };
}

/** Resolves once `a` has loaded its config. */
async function loaded(a: RunningAuthz): Promise<void> {
  await a.sourceStarted;
  for (let i = 0; i < 200 && !a.loader.current; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(a.loader.current, 'config loaded');
}

/** Registers, in the calling describe(), authz over `routes` and `credentials` (with `extra` options); `authz` is set once it has loaded them. */
function authzSuite(name: string, routes: Route[], credentials: Record<string, Credential>, extra: Partial<AuthzOptions> = {}): { authz: RunningAuthz } {
  const s = {} as { authz: RunningAuthz };
  let cfg: ConfigDir | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `crossgate-${name}-`));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`);
    cfg = await ConfigDir.create(name);
    cfg.routes = routes;
    cfg.credentials = credentials;
    await cfg.write();
    s.authz = await startAuthz({ ...authzOptions(cfg, dir), ...extra });
    await loaded(s.authz);
  });
  after(async () => {
    await s.authz?.stop(0);
    await cfg?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return s;
}

describe('crossgate-authz', () => {
  let cfg: ConfigDir;
  let dir: string;
  let trusting: RunningAuthz;
  let untrusting: RunningAuthz;
  const key = newKey();
  const limited = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const nginx = (routeId: string, uri: string, extra: string[] = [], method = 'GET'): string[] => [...auth, 'x-crossgate-route', routeId, 'x-original-uri', uri, 'x-original-method', method, 'x-original-host', 'api.example', ...extra];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crossgate-authz-'));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`);
    cfg = await ConfigDir.create('authz');
    cfg.routes = [
      ...checkRoutes(),
      route('air/closed', { basePath: '/closed', withheld: { reason: 'UpstreamNotAllowed', message: 'no' } }),
    ];
    cfg.credentials = checkCredentials(key, limited);
    await cfg.write();
    const common = authzOptions(cfg, dir);
    trusting = await startAuthz({ ...common, trustedProxies: ['127.0.0.1'] });
    untrusting = await startAuthz(common);
    await Promise.all([loaded(trusting), loaded(untrusting)]);
  });

  after(async () => {
    await trusting?.stop(0);
    await untrusting?.stop(0);
    await cfg?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('health needs no token; a check without the token, or with another, is refused 401 and nothing else is read', async () => {
    assert.equal((await call(trusting.url, '/healthz', [])).status, 200);
    assert.equal((await call(trusting.url, '/readyz', [])).status, 200);
    for (const h of [[], ['x-crossgate-authz', 'Bearer wrong-token-0123456789'], ['x-crossgate-authz', TOKEN], ['x-crossgate-authz', `Bearer ${TOKEN}x`]]) {
      const r = await call(trusting.url, '/v1/nginx', [...h, 'x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/1', 'x-original-method', 'GET', 'x-api-key', key.key]);
      assert.equal(r.status, 401, JSON.stringify(h));
      assert.match(r.body, /authz-unauthenticated/);
      assert.equal(r.headers['x-crossgate-client'], undefined);
    }
    // The token twice (the client's and the proxy's) is not the proxy's word either.
    const twice = await call(trusting.url, '/v1/nginx', [...auth, ...auth, 'x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/1', 'x-original-method', 'GET']);
    assert.equal(twice.status, 401);
  });

  test('a route or forwarding header missing or sent twice is refused (400): a client cannot add its own', async () => {
    for (const h of [
      [...auth, 'x-original-uri', '/flights/1', 'x-original-method', 'GET'],
      nginx('air/flights', '/flights/1', ['x-crossgate-route', 'air/edge']),
      nginx('air/flights', '/flights/1', ['x-original-uri', '/edge/1']),
      nginx('air/flights', '/flights/1', ['x-original-method', 'POST']),
      nginx('air/flights', '/flights/1', ['x-original-host', 'evil.example']),
      [...auth, 'x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/1', 'x-original-method', 'GET'],
      [...auth, 'x-crossgate-route', 'air/flights', 'x-original-uri', 'flights/1', 'x-original-method', 'GET', 'x-original-host', 'api.example'],
    ]) {
      const r = await call(trusting.url, '/v1/nginx', [...h, 'x-api-key', key.key]);
      assert.equal(r.status, 400, JSON.stringify(h));
      assert.equal(JSON.parse(r.body).detail, 'A check names its route in x-crossgate-route and its original method, URI and host (x-original-host), each exactly once.');
    }
    // Traefik's host is its X-Forwarded-Host.
    const t = await call(trusting.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/edge', 'x-forwarded-method', 'GET', 'x-forwarded-uri', '/edge/1']);
    assert.equal(t.status, 400);
    assert.equal(JSON.parse(t.body).detail, 'A check names its route in x-crossgate-route and its original method, URI and host (x-forwarded-host), each exactly once.');
  });

  test('nginx: valid key → 200 with the client, RateLimit and injected headers to add, the key and removed headers listed', async () => {
    const r = await call(trusting.url, '/v1/nginx', nginx('air/flights', '/flights/FL1?date=2026-01-01', ['x-api-key', key.key]));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-crossgate-client'], 'buyer/portal');
    assert.equal(r.headers['x-env'], 'prod');
    assert.match(String(r.headers.ratelimit), /^"gold-60s";r=\d+;t=\d+$/);
    assert.deepEqual(String(r.headers['x-envoy-auth-headers-to-remove']).split(','), ['x-api-key', 'x-debug']);
    assert.equal(r.body, '');
  });

  test('nginx: 401 stays 401; every other refusal is a 403 carrying the real status, Retry-After and the problem', async () => {
    const none = await call(trusting.url, '/v1/nginx', nginx('air/flights', '/flights/1'));
    assert.equal(none.status, 401);
    assert.equal(none.headers['x-crossgate-status'], '401');
    assert.equal((JSON.parse(String(none.headers['x-crossgate-problem'])) as { type: string }).type, 'https://crossgate.dev/problems/missing-api-key');
    const codes: string[] = [];
    let last: Res | undefined;
    for (let i = 0; i < 3; i++) {
      last = await call(trusting.url, '/v1/nginx', nginx('air/limited', '/limited/x', ['x-api-key', limited.key]));
      codes.push(String(last.status));
    }
    assert.deepEqual(codes, ['200', '200', '403']);
    assert.equal(last!.headers['x-crossgate-status'], '429');
    assert.ok(Number(last!.headers['retry-after']) >= 1);
    assert.match(String(last!.headers.ratelimit), /"bronze-3600s";r=0/);
    const p = JSON.parse(String(last!.headers['x-crossgate-problem'])) as { type: string; status: number };
    assert.deepEqual([p.type, p.status], ['https://crossgate.dev/problems/rate-limited', 429]);
  });

  test('Traefik and Envoy get the real status and the problem body', async () => {
    const t = await call(trusting.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/limited', 'x-forwarded-method', 'GET', 'x-forwarded-uri', '/limited/y', 'x-forwarded-host', 'api.example', 'x-api-key', limited.key]);
    assert.equal(t.status, 429);
    assert.equal(t.headers['content-type'], 'application/problem+json');
    assert.equal((JSON.parse(t.body) as { status: number }).status, 429);
    assert.ok(Number(t.headers['retry-after']) >= 1);
    const e = await call(trusting.url, '/v1/envoy/flights/FL1', [...auth, 'x-crossgate-route', 'air/flights', 'x-api-key', key.key], 'DELETE');
    assert.equal(e.status, 200);
    assert.equal(e.headers['x-crossgate-client'], 'buyer/portal');
    const e401 = await call(trusting.url, '/v1/envoy/flights/FL1', [...auth, 'x-crossgate-route', 'air/flights']);
    assert.equal(e401.status, 401);
    assert.match(e401.body, /missing-api-key/);
  });

  test('the route is the proxy\'s: a path outside it, dot segments, an unknown or withheld route are refused', async () => {
    const outside = await call(trusting.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/flights', 'x-forwarded-method', 'GET', 'x-forwarded-uri', '/flightsX/1', 'x-forwarded-host', 'api.example', 'x-api-key', key.key]);
    assert.equal(outside.status, 404);
    const dots = await call(trusting.url, '/v1/nginx', nginx('air/flights', '/flights/%2e%2e/edge', ['x-api-key', key.key]));
    assert.deepEqual([dots.status, dots.headers['x-crossgate-status']], [403, '400']);
    const unknown = await call(trusting.url, '/v1/nginx', nginx('air/nope', '/flights/1', ['x-api-key', key.key]));
    assert.deepEqual([unknown.status, unknown.headers['x-crossgate-status']], [403, '404']);
    const closed = await call(trusting.url, '/v1/nginx', nginx('air/closed', '/closed/1'));
    assert.deepEqual([closed.status, closed.headers['x-crossgate-status']], [403, '503']);
  });

  test('the client address: X-Forwarded-For only from a trusted proxy, read right to left', async () => {
    // Behind a trusted proxy (127.0.0.1), the address the proxy appended counts.
    const blocked = await call(trusting.url, '/v1/nginx', nginx('air/edge', '/edge/1', ['x-forwarded-for', '203.0.113.9']));
    assert.deepEqual([blocked.status, blocked.headers['x-crossgate-status']], [403, '403']);
    // The proxy appended the client's real address: what a client wrote to the left is not believed.
    const spoofLeft = await call(trusting.url, '/v1/nginx', nginx('air/edge', '/edge/1', ['x-forwarded-for', '198.51.100.1, 203.0.113.9']));
    assert.equal(spoofLeft.status, 403);
    const allowed = await call(trusting.url, '/v1/nginx', nginx('air/edge', '/edge/1', ['x-forwarded-for', '203.0.113.9, 198.51.100.1']));
    assert.equal(allowed.status, 200);
    // A caller that is not a trusted proxy names no client: its peer address is used.
    const untrusted = await call(untrusting.url, '/v1/nginx', nginx('air/edge', '/edge/1', ['x-forwarded-for', '203.0.113.9']));
    assert.equal(untrusted.status, 200);
  });
});

// Security model row 8c: the route a proxy names must serve the request's host. A proxy configuration
// an organization writes (a Traefik Middleware, a hand-written Envoy filter) naming another organization's
// route for its own hostname gets a 421, on every check endpoint, before that route's policies run.
describe("crossgate-authz: a route named for another route's host", () => {
  const victimKey = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const MISDIRECTED = "This API is not served on this host: the proxy named a route that does not answer on the request's host.";
  const s = authzSuite(
    'authzhost',
    [
      route('victim-prod/flights', {
        hostnames: ['api.victim.example'],
        basePath: '/flights',
        tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }],
        policies: [policy('api-key', {}, 'victim-prod/key', 10), policy('header-injection', { request: { set: { 'x-upstream-auth': 'victim-upstream-secret-value' } } }, 'victim-prod/hi', 20)],
      }),
      route('victim-prod/status', { basePath: '/status' }),
      route('attacker-prod/own', { hostnames: ['api.attacker.example'], basePath: '/own' }),
    ],
    { [victimKey.hash]: cred('victim-prod/flights', { contract: 'victim-prod/c', client: 'buyer/portal' }) },
    { platform: { ...NO_PLATFORM_SETTINGS, gatewayHostnames: ['gw.example'] } },
  );

  const nginx = (routeId: string, host: string, uri: string, extra: string[] = []) => call(s.authz.url, '/v1/nginx', [...auth, 'x-crossgate-route', routeId, 'x-original-uri', uri, 'x-original-method', 'GET', 'x-original-host', host, ...extra]);
  const traefik = (routeId: string, host: string, uri: string, extra: string[] = []) => call(s.authz.url, '/v1/traefik', [...auth, 'x-crossgate-route', routeId, 'x-forwarded-uri', uri, 'x-forwarded-method', 'GET', 'x-forwarded-host', host, ...extra]);
  /** Envoy's HTTP ext_authz: the original Host is the check's own. */
  const envoy = (routeId: string, host: string, path: string, extra: string[] = []) => call(s.authz.url, `/v1/envoy${path}`, [...auth, 'x-crossgate-route', routeId, ...extra], 'GET', host);

  test("the victim's route on the attacker's host is 421 with its message on every endpoint; the victim's key, identity and injected header never come back", async () => {
    const key = ['x-api-key', victimKey.key];
    const n = await nginx('victim-prod/flights', 'api.attacker.example', '/flights/1', key);
    assert.deepEqual([n.status, n.headers['x-crossgate-status']], [403, '421']);
    assert.equal(JSON.parse(String(n.headers['x-crossgate-problem'])).detail, MISDIRECTED);
    const t = await traefik('victim-prod/flights', 'api.attacker.example', '/flights/1', key);
    assert.equal(t.status, 421);
    assert.deepEqual([JSON.parse(t.body).type, JSON.parse(t.body).detail], ['https://crossgate.dev/problems/misdirected', MISDIRECTED]);
    const e = await envoy('victim-prod/flights', 'api.attacker.example', '/flights/1', key);
    assert.equal(e.status, 421);
    for (const r of [n, t, e]) {
      assert.equal(r.headers['x-crossgate-client'], undefined);
      assert.equal(r.headers['x-upstream-auth'], undefined);
    }
    // The shared-host route: not on a host a route names, nor on one that is not the gateway's own.
    assert.equal((await traefik('victim-prod/status', 'api.attacker.example', '/status')).status, 421);
    assert.equal((await traefik('victim-prod/status', 'evil.example', '/status')).status, 421);
  });

  test("the victim's own traffic passes on its hosts (case and port as sent)", async () => {
    const n = await nginx('victim-prod/flights', 'API.victim.example:8443', '/flights/1', ['x-api-key', victimKey.key]);
    assert.equal(n.status, 200, n.body);
    assert.equal(n.headers['x-crossgate-client'], 'buyer/portal');
    assert.equal((await envoy('victim-prod/flights', 'api.victim.example', '/flights/1', ['x-api-key', victimKey.key])).status, 200);
    assert.equal((await traefik('victim-prod/status', 'gw.example', '/status/x')).status, 200);
  });
});

// nginx decodes an encoded slash before it resolves dot segments and picks the location, and forwards
// that normalized path (/flights/public/..%2Fadmin reaches the upstream as /flights/admin), while authz
// judges the raw URI. A consumer whose contract allows only /flights/public/** must not climb out of it:
// the endpoint scope reads a segment holding an encoded separator as no endpoint (model/endpoint-scope.ts).
describe('crossgate-authz: dot segments behind an encoded slash', () => {
  const scoped = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const s = authzSuite(
    'authzdots',
    [route('owner-prod/flights', { basePath: '/flights', tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', {}, 'owner-prod/key')] })],
    { [scoped.hash]: cred('owner-prod/flights', { contract: 'owner-prod/c', client: 'consumer-prod/app', endpoints: [{ path: '/flights/public/**' }] }) },
  );

  const nginx = (uri: string) => call(s.authz.url, '/v1/nginx', [...auth, 'x-crossgate-route', 'owner-prod/flights', 'x-original-uri', uri, 'x-original-method', 'GET', 'x-original-host', 'api.example', 'x-api-key', scoped.key]);

  test("a consumer's endpoint-scoped key cannot climb out of its scope with an encoded slash or a backslash: 403 endpoint-not-allowed", async () => {
    assert.equal((await nginx('/flights/public/x')).status, 200, 'inside the scope');
    assert.deepEqual([(await nginx('/flights/admin')).headers['x-crossgate-status']], ['403'], 'outside the scope');
    for (const uri of ['/flights/public/..%2Fadmin', '/flights/public/..%2fadmin/x', '/flights/public%2F..%2F..%2Fflights/admin', '/flights/public/.%2E%5Cadmin', '/flights/public/..\\admin']) {
      const r = await nginx(uri);
      assert.deepEqual([r.status, r.headers['x-crossgate-status']], [403, '403'], uri);
      assert.equal(JSON.parse(String(r.headers['x-crossgate-problem'])).type, 'https://crossgate.dev/problems/endpoint-not-allowed', uri);
    }
  });
});

// Security model row 4 (keys): a proxy that cannot drop a query parameter (Traefik, Envoy's HTTP service,
// nginx) would forward a key sent in one to the upstream; authz refuses the check instead.
describe('crossgate-authz: an API key in a query parameter on the HTTP endpoints', () => {
  const key = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const s = authzSuite(
    'authzquery',
    [route('air/q', { basePath: '/q', tiers: [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }], policies: [policy('api-key', { queryParameter: 'apikey' }, 'air/qkey')] })],
    { [key.hash]: cred('air/q', { contract: 'air/c-q', client: 'buyer/q' }) },
  );

  test('refused 400 with its message when the key came in the query; a key in the header passes', async () => {
    const traefik = (uri: string, extra: string[] = []) => call(s.authz.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/q', 'x-forwarded-method', 'GET', 'x-forwarded-uri', uri, 'x-forwarded-host', 'api.example', ...extra]);
    const q = await traefik(`/q/1?apikey=${key.key}`);
    assert.equal(q.status, 400);
    assert.equal(JSON.parse(q.body).detail, 'The credential was sent in a query parameter (apikey), which this proxy would forward upstream; send it in its header.');
    assert.equal(q.headers['x-crossgate-client'], undefined);
    const n = await call(s.authz.url, '/v1/nginx', [...auth, 'x-crossgate-route', 'air/q', 'x-original-method', 'GET', 'x-original-uri', `/q/1?apikey=${key.key}`, 'x-original-host', 'api.example']);
    assert.deepEqual([n.status, n.headers['x-crossgate-status']], [403, '400']);
    const h = await traefik('/q/1?x=1', ['x-api-key', key.key]);
    assert.equal(h.status, 200);
    assert.equal(h.headers['x-crossgate-client'], 'buyer/q');
  });
});

describe('HostCache', () => {
  test('answers hostOf for any value, asked once or again; stays bounded; long values are not kept', () => {
    const cache = new HostCache();
    fc.assert(
      fc.property(fc.oneof(fc.domain(), fc.string(), fc.constantFrom('API.Example.com:8080', '[::1]:80', 'example.com.', '')), (raw) => {
        assert.equal(cache.of(raw), hostOf(raw) ?? '');
        assert.equal(cache.of(raw), hostOf(raw) ?? '');
      }),
      { numRuns: 2000 },
    );
    const bounded = new HostCache();
    let most = 0;
    for (let i = 0; i < HOST_CACHE_SIZE * 3 + 7; i++) {
      bounded.of(`h${i}.example`);
      most = Math.max(most, bounded.size);
    }
    assert.equal(most, HOST_CACHE_SIZE);
    const before = bounded.size;
    assert.equal(bounded.of(`${'a'.repeat(300)}.example`), `${'a'.repeat(300)}.example`);
    assert.equal(bounded.size, before);
  });
});

test('TokenFile: only the exact token matches (no prefix, extension, padding or non-ASCII look-alike); a rotated file is taken', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'crossgate-token-'));
  try {
    const file = join(dir, 'token');
    const token = 'tok-0123456789abcdefghij';
    await writeFile(file, `${token}\n`);
    const t = new TokenFile(file, 0);
    assert.equal(t.matches(token, 1), true);
    for (const wrong of [undefined, '', token.slice(0, -1), `${token}x`, `${token}\0`, token.replace('j', '\u016a'), token.replace('j', 'J'), 'x'.repeat(600), `${token}${'\0'.repeat(600)}`]) {
      assert.equal(t.matches(wrong, 1), false, JSON.stringify(wrong));
    }
    // A token longer than the 512-byte pad still works, and only itself.
    const long = 'L'.repeat(700);
    await writeFile(file, long);
    const t2 = new TokenFile(file, 0);
    assert.equal(t2.matches(long, 1), true);
    assert.equal(t2.matches(long.slice(1), 1), false);
    assert.equal(t2.matches(`${long}L`, 1), false);
    // Rotation: the new token is taken when the file's mtime changes, the old one no longer matches.
    const rotated = 'rotated-token-abcdefghijklmnop';
    await writeFile(file, rotated);
    const { utimes } = await import('node:fs/promises');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(t2.matches(rotated, 2), true);
    assert.equal(t2.matches(long, 3), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('ClientCache', () => {
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);
  const addr = fc.oneof(fc.constantFrom('127.0.0.1', '10.1.2.3', '203.0.113.7', '::1', '2001:db8::5', 'junk', ''), fc.ipV4(), fc.ipV6());
  const xff = fc.option(fc.array(addr, { maxLength: 4 }).map((a) => a.join(', ')), { nil: undefined });

  test("answers exactly what clientOf answers, for the same pair asked again and for any other", () => {
    const cache = new ClientCache(trusted);
    fc.assert(
      fc.property(addr, xff, (peer, forwarded) => {
        const want = clientOf(peer, forwarded, trusted);
        assert.deepEqual(cache.of(peer, forwarded), want);
        assert.deepEqual(cache.of(peer, forwarded), want);
      }),
      { numRuns: 2000 },
    );
    // Repeated headers (not remembered) too.
    assert.deepEqual(cache.of('127.0.0.1', ['203.0.113.9', '10.0.0.1']), clientOf('127.0.0.1', ['203.0.113.9', '10.0.0.1'], trusted));
    // A peer alone is not the same pair as that peer with an empty header.
    assert.deepEqual(cache.of('127.0.0.1', ''), clientOf('127.0.0.1', '', trusted));
  });

  test('stays bounded whatever the callers send: cleared whole when full', () => {
    const cache = new ClientCache(trusted);
    let most = 0;
    for (let i = 0; i < CLIENT_CACHE_SIZE * 3 + 7; i++) {
      cache.of('127.0.0.1', `198.51.${(i >> 8) & 255}.${i & 255}`);
      most = Math.max(most, cache.size);
    }
    assert.equal(most, CLIENT_CACHE_SIZE);
    assert.ok(cache.size < CLIENT_CACHE_SIZE);
    assert.deepEqual(cache.of('127.0.0.1', '198.51.0.1'), { remoteAddress: '198.51.0.1', peerTrusted: false });
  });
});
