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
import { CLIENT_CACHE_SIZE, ClientCache, clientOf, TokenFile } from '../../../gateway/authz.ts';
import { TrustedProxies } from '../../../gateway/client-address.ts';
import { startAuthz, type RunningAuthz } from '../../../gateway/gateway.ts';
import { checkCredentials, checkRoutes, ConfigDir, newKey, route, silent } from './fixtures.ts';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request (repeated headers allowed: `headers` is a flat name/value list). */
function call(base: string, path: string, headers: string[], method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path, method, headers: ['host', u.host, ...headers], timeout: 5000 }, (res) => {
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

describe('crossgate-authz', () => {
  let cfg: ConfigDir;
  let dir: string;
  let trusting: RunningAuthz;
  let untrusting: RunningAuthz;
  const key = newKey();
  const limited = newKey();
  const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
  const nginx = (routeId: string, uri: string, extra: string[] = [], method = 'GET'): string[] => [...auth, 'x-crossgate-route', routeId, 'x-original-uri', uri, 'x-original-method', method, ...extra];

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
    const common = {
      admin: { host: '127.0.0.1', port: 0 },
      listen: { host: '127.0.0.1', port: 0 },
      source: { kind: 'directory' as const, dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
      logger: silent(),
      configDebounceMs: 5,
      tokenFile: join(dir, 'token'),
    };
    trusting = await startAuthz({ ...common, trustedProxies: ['127.0.0.1'] });
    untrusting = await startAuthz(common);
    await Promise.all([trusting.sourceStarted, untrusting.sourceStarted]);
    for (const a of [trusting, untrusting]) {
      for (let i = 0; i < 200 && !a.loader.current; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(a.loader.current, 'config loaded');
    }
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
      [...auth, 'x-crossgate-route', 'air/flights', 'x-original-uri', 'flights/1', 'x-original-method', 'GET'],
    ]) {
      const r = await call(trusting.url, '/v1/nginx', [...h, 'x-api-key', key.key]);
      assert.equal(r.status, 400, JSON.stringify(h));
      assert.match(r.body, /bad-check/);
    }
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
    const t = await call(trusting.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/limited', 'x-forwarded-method', 'GET', 'x-forwarded-uri', '/limited/y', 'x-api-key', limited.key]);
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
    const outside = await call(trusting.url, '/v1/traefik', [...auth, 'x-crossgate-route', 'air/flights', 'x-forwarded-method', 'GET', 'x-forwarded-uri', '/flightsX/1', 'x-api-key', key.key]);
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
