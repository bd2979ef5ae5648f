// Each enforcement module on its own: api-key (+ SLA tier), rate-limit,
// spike-control, IP lists, CORS, header injection, the RateLimit headers,
// and the in-memory counters.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { CredentialIndex, compileCredential, type CompiledCredential } from '../../../gateway/compiled.ts';
import { shardOf } from '../../../api/gateway/checksum.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { checkCredential, compileApiKey, extractKey, queryParam } from '../../../gateway/policies/api-key.ts';
import { actualRequestHeaders, compileCors, evaluatePreflight, isPreflight } from '../../../gateway/policies/cors.ts';
import { applyOps, compileHeaderInjection, compileOps } from '../../../gateway/policies/header-injection.ts';
import { clientAddressKey, compileIpList, decideIp, parseAddress, parseCidrs } from '../../../gateway/policies/ip-list.ts';
import { NO_TRUSTED_PROXIES, TrustedProxies } from '../../../gateway/client-address.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { rateLimitHeaders } from '../../../gateway/policies/limits.ts';
import { compileRateLimit, rateLimitSubject } from '../../../gateway/policies/rate-limit.ts';
import { compileTier } from '../../../gateway/policies/sla-tier.ts';
import { SlidingWindow, compileSpikeControl } from '../../../gateway/policies/spike-control.ts';
import { newContext, type Outcome, type PolicyContext, type PolicyDeps } from '../../../gateway/policies/types.ts';
import { cred, newKey, silent } from './fixtures.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function index(entries: Record<string, CompiledCredential>): CredentialIndex {
  const maps = Array.from({ length: 64 }, () => new Map<string, CompiledCredential>());
  for (const [h, c] of Object.entries(entries)) maps[shardOf(h, 64)]!.set(h, c);
  return new CredentialIndex(64, maps);
}

function ctx(over: { headers?: IncomingHttpHeaders; query?: string; remote?: string; now?: number; route?: string; credentials?: CredentialIndex; method?: string } = {}): PolicyContext {
  return newContext({
    method: over.method ?? 'GET',
    headers: over.headers ?? {},
    path: '/flights/1',
    query: over.query ?? '',
    remoteAddress: over.remote ?? '127.0.0.1',
    now: over.now ?? T0,
    routeId: over.route ?? 'ns/flights',
    credentials: over.credentials ?? CredentialIndex.empty(),
  });
}

function deps(): PolicyDeps {
  return { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent() };
}

async function run(p: { onRequest(c: PolicyContext): Outcome | Promise<Outcome> }, c: PolicyContext): Promise<Outcome> {
  return await p.onRequest(c);
}

describe('api-key', () => {
  const k = newKey();
  const rotatedOld = newKey();
  const future = newKey();
  const other = newKey();
  const creds = index({
    [k.hash]: compileCredential(cred('ns/flights', { contract: 'ns/c1', client: 'consumer/app' })),
    [rotatedOld.hash]: compileCredential(cred('ns/flights', { contract: 'ns/c1', client: 'consumer/app', notAfter: '2026-01-01T00:00:10Z' })),
    [future.hash]: compileCredential(cred('ns/flights', { notBefore: '2026-01-01T00:01:00Z' })),
    [other.hash]: compileCredential(cred('ns/hotels')),
  });
  const tiers = new Map([['gold', compileTier({ name: 'gold', limits: [{ requests: 2, periodSeconds: 60 }, { requests: 100, periodSeconds: 3600 }] })]]);

  test('checkCredential: route, notBefore, notAfter (pure)', () => {
    const c = compileCredential(cred('ns/flights', { notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-01-02T00:00:00Z' }));
    assert.equal(checkCredential(undefined, 'ns/flights', T0), 'unknown');
    assert.equal(checkCredential(c, 'ns/hotels', T0), 'wrong-route');
    assert.equal(checkCredential(c, 'ns/flights', T0 - 1), 'not-yet-valid');
    assert.equal(checkCredential(c, 'ns/flights', T0), 'ok');
    assert.equal(checkCredential(c, 'ns/flights', T0 + 86_400_000 - 1), 'ok');
    assert.equal(checkCredential(c, 'ns/flights', T0 + 86_400_000), 'expired', 'notAfter is exclusive');
  });

  test('extractKey: header first, then the configured query parameter (decoded)', () => {
    assert.deepEqual(extractKey({ headers: { 'x-api-key': ' abc ' }, query: '' }, 'x-api-key', undefined), { key: 'abc', from: 'header' });
    assert.deepEqual(extractKey({ headers: {}, query: 'x=1&apikey=a%2Bb' }, 'x-api-key', 'apikey'), { key: 'a+b', from: 'query' });
    assert.equal(extractKey({ headers: {}, query: 'apikey=abc' }, 'x-api-key', undefined), undefined, 'query only when configured');
    assert.equal(queryParam('a=1&b', 'b'), '');
    assert.equal(queryParam('a=%ZZ', 'a'), '%ZZ');
  });

  test('missing key → 401 missing-api-key; unknown, wrong route, expired and not yet valid → the same 401', async () => {
    const p = compileApiKey('ns/key', { queryParameter: 'apikey' }, tiers, deps());
    const missing = await run(p, ctx({ credentials: creds }));
    assert.equal(missing?.status, 401);
    assert.equal(missing?.slug, 'missing-api-key');
    assert.match(missing!.detail, /x-api-key header or the apikey query parameter/);
    const refusals = [];
    for (const [key, now] of [
      [newKey().key, T0],
      [other.key, T0],
      [rotatedOld.key, T0 + 10_000],
      [future.key, T0],
    ] as const) {
      const c = ctx({ headers: { 'x-api-key': key }, credentials: creds, now });
      const o = await run(p, c);
      assert.equal(c.client, undefined, 'no client recorded for a refused key');
      assert.match(c.keyId!, /^[0-9a-f]{12}$/);
      refusals.push(o);
    }
    for (const o of refusals) assert.deepEqual(o, refusals[0], 'indistinguishable refusals');
    assert.equal(refusals[0]?.status, 401);
    assert.equal(refusals[0]?.slug, 'invalid-api-key');
  });

  test('valid key: client, contract and tier recorded, key header and parameter not forwarded; rotated key works until notAfter', async () => {
    const p = compileApiKey('ns/key', { header: 'X-Key', queryParameter: 'apikey' }, tiers, deps());
    const c = ctx({ headers: { 'x-key': k.key }, credentials: creds });
    assert.equal(await run(p, c), undefined);
    assert.equal(c.client, 'consumer/app');
    assert.equal(c.contract, 'ns/c1');
    assert.equal(c.tier, 'gold');
    assert.deepEqual(c.stripHeaders, ['x-key']);
    assert.deepEqual(c.stripQuery, ['apikey']);
    const q = ctx({ query: `apikey=${encodeURIComponent(rotatedOld.key)}`, credentials: creds, now: T0 + 9_999 });
    assert.equal(await run(p, q), undefined, 'old key inside its grace period');
  });

  test('tier windows per contract: the third request in the minute → 429 with Retry-After and RateLimit; old and new key share the budget', async () => {
    const p = compileApiKey('ns/key', {}, tiers, deps());
    const send = (key: string, now: number) => {
      const c = ctx({ headers: { 'x-api-key': key }, credentials: creds, now });
      return Promise.resolve(p.onRequest(c)).then((o) => ({ o, c }));
    };
    const a = await send(k.key, T0 + 1000);
    assert.equal(a.o, undefined);
    assert.deepEqual(a.c.rateLimits?.map((w) => [w.name, w.limit, w.remaining]), [
      ['gold-60s', 2, 1],
      ['gold-3600s', 100, 99],
    ]);
    assert.equal((await send(rotatedOld.key, T0 + 2000)).o, undefined, 'same contract, other key');
    const refused = await send(k.key, T0 + 3000);
    assert.equal(refused.o?.status, 429);
    assert.equal(refused.o?.policy, 'sla-tier');
    assert.equal(refused.o?.headers?.['retry-after'], '57');
    assert.equal(refused.o?.headers?.['ratelimit-policy'], '"gold-60s";q=2;w=60, "gold-3600s";q=100;w=3600');
    assert.equal(refused.o?.headers?.ratelimit, '"gold-60s";r=0;t=57, "gold-3600s";r=98;t=3597');
    // A refused request did not use up the hourly window; the next minute is open again.
    const next = await send(k.key, T0 + 60_000);
    assert.equal(next.o, undefined);
    assert.equal(next.c.rateLimits?.[1]?.remaining, 97);
  });

  test('a credential naming a tier the route lacks is refused like an unknown key', async () => {
    const p = compileApiKey('ns/key', {}, new Map(), deps());
    const o = await run(p, ctx({ headers: { 'x-api-key': k.key }, credentials: creds }));
    assert.equal(o?.slug, 'invalid-api-key');
  });

  test('a tier without limits is unlimited', async () => {
    const p = compileApiKey('ns/key', {}, new Map([['gold', compileTier({ name: 'gold', limits: [] })]]), deps());
    for (let i = 0; i < 50; i++) assert.equal(await run(p, ctx({ headers: { 'x-api-key': k.key }, credentials: creds })), undefined);
  });
});

describe('rate-limit', () => {
  test('per api, per client, per ip (the header through a trusted proxy, right to left), each its own counter', async () => {
    // Issue 13 changed this: the header is read only when the peer (127.0.0.1 here) is a trusted proxy, and its
    // right-most untrusted entry is the client (it used to be the left-most entry, from any peer).
    const d = { ...deps(), trustedProxies: new TrustedProxies(['127.0.0.1']) };
    const api = compileRateLimit('ns/rl', { limits: [{ requests: 1, period: 'minute' }] }, d, undefined);
    assert.equal(await run(api, ctx({ remote: '10.0.0.1' })), undefined);
    const r = await run(api, ctx({ remote: '10.0.0.2' }));
    assert.equal(r?.status, 429);
    assert.equal(r?.policy, 'rate-limit');
    assert.equal(r?.headers?.['retry-after'], '60');

    const perIp = compileRateLimit('ns/rl-ip', { limits: [{ requests: 1, period: 'second' }], per: 'ip' }, d, 'x-forwarded-for');
    assert.equal(await run(perIp, ctx({ headers: { 'x-forwarded-for': '203.0.113.5, 10.0.0.1' } })), undefined);
    assert.equal((await run(perIp, ctx({ headers: { 'x-forwarded-for': '10.0.0.1' } })))?.status, 429, 'the right-most untrusted entry was counted');
    assert.equal(await run(perIp, ctx({ headers: { 'x-forwarded-for': '203.0.113.6' } })), undefined);
    assert.equal((await run(perIp, ctx({ headers: { 'x-forwarded-for': '0000:0000::ffff:10.0.0.1' } })))?.status, 429, 'another spelling of the same address, the same counter');

    const untrusted = compileRateLimit('ns/rl-ip2', { limits: [{ requests: 1, period: 'second' }], per: 'ip' }, deps(), 'x-forwarded-for');
    assert.equal(await run(untrusted, ctx({ remote: '198.51.100.7', headers: { 'x-forwarded-for': '203.0.113.1' } })), undefined);
    assert.equal((await run(untrusted, ctx({ remote: '198.51.100.7', headers: { 'x-forwarded-for': '203.0.113.2' } })))?.status, 429, 'no trusted proxy: a new header value is not a new counter');

    const perClient = compileRateLimit('ns/rl-client', { limits: [{ requests: 1, period: 'hour' }], per: 'client' }, d, undefined);
    const c1 = ctx();
    c1.client = 'a/one';
    const c2 = ctx();
    c2.client = 'a/two';
    assert.equal(await run(perClient, c1), undefined);
    assert.equal(await run(perClient, c2), undefined);
    const again = ctx();
    again.client = 'a/one';
    assert.equal((await run(perClient, again))?.status, 429);
  });

  test('subject: no client known → counted by address; IPv4-mapped addresses normalised', () => {
    assert.equal(rateLimitSubject('client', ctx({ remote: '::ffff:10.1.2.3' }), undefined), 'ip:10.1.2.3');
    assert.equal(rateLimitSubject('api', ctx(), undefined), 'api');
    const local = new TrustedProxies(['127.0.0.0/8']);
    assert.equal(clientAddressKey({ 'x-real-ip': '[2001:db8::1]:443' }, '127.0.0.1', 'x-real-ip', local), '2001:db8::1');
    assert.equal(clientAddressKey({ 'x-real-ip': '[2001:db8::1]:443' }, '127.0.0.1', 'x-real-ip', NO_TRUSTED_PROXIES), '127.0.0.1', 'no trusted proxy: the peer');
    assert.equal(rateLimitSubject('ip', ctx({ remote: '' }), undefined), 'ip:unknown', 'no address at all: one shared counter');
  });

  test('per ip: the memory store caps per-address counters per route and refuses new addresses beyond the cap (fail closed)', async () => {
    const counters = new MemoryCounterStore({ sweepMs: 0, maxBounded: 2 });
    const perIp = compileRateLimit('ns/rl-ip', { limits: [{ requests: 5, period: 'minute' }], per: 'ip' }, { ...deps(), counters }, undefined);
    assert.equal(await run(perIp, ctx({ remote: '198.51.100.1' })), undefined);
    assert.equal(await run(perIp, ctx({ remote: '198.51.100.2' })), undefined);
    const third = await run(perIp, ctx({ remote: '198.51.100.3' }));
    assert.equal(third?.status, 429);
    assert.equal(third?.detail, 'Too many client addresses are being counted on this API; try again when the current window ends.');
    assert.equal(third?.headers?.['retry-after'], '60');
    assert.equal(await run(perIp, ctx({ remote: '198.51.100.1' })), undefined, 'an address already counted keeps its counter');
    assert.equal(counters.boundedSize(), 2);
    assert.equal(counters.saturatedRefusals, 1);
    // Per-api counters are not capped (their keys come from the config).
    const api = compileRateLimit('ns/rl-api', { limits: [{ requests: 5, period: 'minute' }] }, { ...deps(), counters }, undefined);
    assert.equal(await run(api, ctx({ remote: '198.51.100.9' })), undefined);
    // Another route's addresses have a cap of their own: one tenant filling its cap refuses nobody else.
    assert.equal(await run(perIp, ctx({ remote: '198.51.100.3', route: 'other-ns/other' })), undefined);
    assert.equal(counters.boundedSize('other-ns/other'), 1);
    // Once the windows end, new addresses are counted again.
    assert.equal(await run(perIp, ctx({ remote: '198.51.100.3', now: T0 + 60_000 })), undefined);
  });
});

describe('per-address counters: bounded per organization too', () => {
  // Security model row 7: one organization with many routes, each with a per-ip rate limit, and clients
  // from many addresses (an IPv6 /64) must not grow the shared process's memory without end: the routes of
  // one namespace share a cap as well (maxBoundedPerOwner), and other namespaces' routes keep theirs.
  test("one namespace's many routes stop at its own cap; another namespace's route still counts new addresses", async () => {
    const counters = new MemoryCounterStore({ sweepMs: 0, maxBounded: 10, maxBoundedPerOwner: 25 });
    const limits = { limits: [{ requests: 5, period: 'minute' as const }], per: 'ip' as const };
    const perIp = compileRateLimit('attacker-prod/rl-ip', limits, { ...deps(), counters }, undefined);
    let refused = 0;
    for (let r = 0; r < 10; r++) {
      for (let a = 0; a < 10; a++) {
        const o = await run(perIp, ctx({ remote: `2001:db8::${r}:${a}`, route: `attacker-prod/r${r}` }));
        if (o?.status === 429) {
          refused++;
          assert.equal(o.detail, 'Too many client addresses are being counted on this API; try again when the current window ends.');
        }
      }
    }
    assert.equal(counters.boundedSize(), 25, "the attacker's namespace holds 25 counters, not 100");
    assert.equal(refused, 75);
    const victim = compileRateLimit('victim-prod/rl-ip', limits, { ...deps(), counters }, undefined);
    for (let a = 0; a < 10; a++) assert.equal(await run(victim, ctx({ remote: `198.51.100.${a}`, route: 'victim-prod/api' })), undefined);
    assert.equal(counters.boundedSize('victim-prod/api'), 10);
    // Once the windows end, the attacker's namespace counts again, within its cap.
    assert.equal(await run(perIp, ctx({ remote: '2001:db8::ff', route: 'attacker-prod/r0', now: T0 + 60_000 })), undefined);
  });

  test("and in all: past maxBoundedTotal new addresses are refused everywhere (429), never the process's memory", async () => {
    const counters = new MemoryCounterStore({ sweepMs: 0, maxBounded: 10, maxBoundedPerOwner: 25, maxBoundedTotal: 30 });
    const perIp = compileRateLimit('ns/rl-ip', { limits: [{ requests: 5, period: 'minute' }], per: 'ip' }, { ...deps(), counters }, undefined);
    for (let n = 0; n < 4; n++) for (let a = 0; a < 10; a++) await run(perIp, ctx({ remote: `2001:db8::${n}:${a}`, route: `ns${n}/r` }));
    assert.equal(counters.boundedSize(), 30);
    assert.equal((await run(perIp, ctx({ remote: '198.51.100.77', route: 'fresh/r' })))?.status, 429);
  });
});

describe('spike-control', () => {
  test('sliding window: a burst across a window edge cannot pass 2× max', () => {
    const w = new SlidingWindow(10, 1000);
    let ok = 0;
    for (let i = 0; i < 10; i++) if (w.tryAcquire(T0 + 900).ok) ok++;
    for (let i = 0; i < 10; i++) if (w.tryAcquire(T0 + 1000).ok) ok++;
    assert.equal(ok, 10, 'the previous window still weighs fully right after the edge');
    // Half a window later, half of the previous window's weight is left.
    let later = 0;
    for (let i = 0; i < 10; i++) if (w.tryAcquire(T0 + 1500).ok) later++;
    assert.equal(later, 5);
    const refused = w.tryAcquire(T0 + 1500);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.retryMs > 0 && refused.retryMs <= 500);
  });

  test('policy: 429 with Retry-After ≥ 1 s', async () => {
    const p = compileSpikeControl('ns/spike', { maxRequests: 2, windowMs: 200 });
    assert.equal(await run(p, ctx({ now: T0 })), undefined);
    assert.equal(await run(p, ctx({ now: T0 + 1 })), undefined);
    const o = await run(p, ctx({ now: T0 + 2 }));
    assert.equal(o?.status, 429);
    assert.equal(o?.policy, 'spike-control');
    assert.equal(o?.headers?.['retry-after'], '1');
  });
});

describe('ip lists', () => {
  test('IPv4 and IPv6 CIDRs, single addresses, IPv4-mapped addresses', () => {
    const set = parseCidrs(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', '::ffff:172.16.0.0/108']);
    const allow = (a: string) => decideIp('ip-allowlist', set, a);
    assert.equal(allow('10.200.3.4'), 'allow');
    assert.equal(allow('11.0.0.1'), 'deny');
    assert.equal(allow('192.168.1.7'), 'allow');
    assert.equal(allow('192.168.1.8'), 'deny');
    assert.equal(allow('2001:db8:abcd::1'), 'allow');
    assert.equal(allow('2001:db9::1'), 'deny');
    assert.equal(allow('::1'), 'allow');
    assert.equal(allow('::ffff:10.1.1.1'), 'allow', 'mapped IPv4 matched as IPv4');
    assert.equal(allow('172.16.5.5'), 'allow', 'mapped CIDR turned into 172.16.0.0/12');
    assert.equal(allow('172.32.0.1'), 'deny');
    assert.equal(allow('not-an-ip'), 'unparseable');
    assert.equal(decideIp('ip-blocklist', set, '10.0.0.1'), 'deny');
    assert.equal(decideIp('ip-blocklist', set, '8.8.8.8'), 'allow');
    assert.equal(decideIp('ip-blocklist', parseCidrs(['0.0.0.0/0']), '1.2.3.4'), 'deny', '/0 matches everything');
  });

  test('parseAddress: ports and brackets', () => {
    assert.equal(parseAddress('1.2.3.4:5678')?.toString(), '1.2.3.4');
    assert.equal(parseAddress('[2001:db8::1]:443')?.toString(), '2001:db8::1');
    assert.equal(parseAddress('2001:db8::1')?.toString(), '2001:db8::1');
    assert.equal(parseAddress(''), undefined);
  });

  test('clientIpHeader only when configured and the peer is a trusted proxy; right to left; junk → the peer', async () => {
    // Issue 13 changed this: the header used to be read from any peer, left-most entry first.
    const local = new TrustedProxies(['127.0.0.1', '10.0.0.0/8']);
    const plain = compileIpList('ip-blocklist', 'ns/block', { cidrs: ['203.0.113.0/24'] }, local);
    const spoof = ctx({ remote: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(await run(plain, spoof), undefined, 'the header is ignored without clientIpHeader');
    const trusted = compileIpList('ip-blocklist', 'ns/block', { cidrs: ['203.0.113.0/24', '2001:db8::/32'], clientIpHeader: 'X-Forwarded-For' }, local);
    const blocked = await run(trusted, ctx({ headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' } }));
    assert.equal(blocked?.status, 403, 'trusted hop 10.0.0.1 skipped, 203.0.113.9 is the client');
    assert.equal(blocked?.slug, 'ip-not-allowed');
    assert.equal(blocked?.policy, 'ip-blocklist');
    assert.equal(blocked?.detail, 'Requests from this address are not allowed.');
    assert.equal((await run(trusted, ctx({ headers: { 'x-forwarded-for': '2001:db8::5' } })))?.status, 403);
    assert.equal(await run(trusted, ctx({ headers: { 'x-forwarded-for': '198.51.100.1' } })), undefined);
    assert.equal(await run(trusted, ctx({ headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' } })), undefined, 'left of the first untrusted address is the client\'s own text');
    assert.equal(await run(trusted, ctx({ remote: '198.51.100.1' })), undefined, 'no header: the socket address');
    assert.equal(await run(trusted, ctx({ remote: '198.51.100.1', headers: { 'x-forwarded-for': '203.0.113.9' } })), undefined, 'an untrusted peer\'s header is ignored');
    assert.equal(await run(trusted, ctx({ headers: { 'x-forwarded-for': '203.0.113.9, unknown' } })), undefined, 'junk stops the walk: the peer (127.0.0.1) is used');
    const none = await run(trusted, ctx({ remote: '' }));
    assert.equal(none?.status, 403);
    assert.equal(none?.detail, 'The client address could not be determined.');

    const allow = compileIpList('ip-allowlist', 'ns/allow', { cidrs: ['10.1.2.3/32'], clientIpHeader: 'x-forwarded-for' }, NO_TRUSTED_PROXIES);
    assert.equal((await run(allow, ctx({ remote: '198.51.100.1', headers: { 'x-forwarded-for': '10.1.2.3' } })))?.status, 403, 'attack 7: a spoofed header from anywhere is not believed');
    assert.equal((await run(allow, ctx({ remote: '127.0.0.1' })))?.status, 403);
    assert.equal(await run(allow, ctx({ remote: '::ffff:10.1.2.3' })), undefined);
  });
});

describe('cors', () => {
  const c = compileCors('ns/cors', {
    allowOrigins: ['https://app.example.com'],
    allowMethods: ['GET', 'PUT'],
    allowHeaders: ['X-Api-Key', 'Content-Type'],
    exposeHeaders: ['RateLimit'],
    maxAgeSeconds: 600,
  });

  test('isPreflight needs OPTIONS, Origin and Access-Control-Request-Method', () => {
    assert.equal(isPreflight('OPTIONS', 'https://a', 'GET'), true);
    assert.equal(isPreflight('OPTIONS', undefined, 'GET'), false);
    assert.equal(isPreflight('OPTIONS', 'https://a', undefined), false);
    assert.equal(isPreflight('GET', 'https://a', 'GET'), false);
  });

  test('preflight allowed: the right headers', () => {
    const d = evaluatePreflight(c, 'https://app.example.com', 'PUT', 'x-api-key, content-type');
    assert.equal(d.ok, true);
    assert.deepEqual(d.ok && d.headers, {
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'x-api-key, content-type',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    });
  });

  test('preflight refused: origin, method, header', () => {
    assert.deepEqual(evaluatePreflight(c, 'https://evil.example.com', 'GET', undefined), { ok: false, reason: 'origin https://evil.example.com is not allowed' });
    assert.deepEqual(evaluatePreflight(c, 'https://app.example.com', 'DELETE', undefined), { ok: false, reason: 'method DELETE is not allowed' });
    assert.deepEqual(evaluatePreflight(c, 'https://app.example.com', 'GET', 'x-other'), { ok: false, reason: 'header x-other is not allowed' });
  });

  // Issue 14 changed this: "*" with credentials used to echo any origin; it is refused at admission now, and if compiled all the same it echoes none.
  test('"*" without credentials answers "*"; "*" with credentials echoes no unlisted origin; headers reflected when not listed', () => {
    const any = compileCors('ns/any', { allowOrigins: ['*'] });
    const d = evaluatePreflight(any, 'https://x.test', 'POST', 'X-Custom');
    assert.ok(d.ok);
    assert.equal(d.headers['access-control-allow-origin'], '*');
    assert.equal(d.headers['access-control-allow-headers'], 'x-custom');
    const cred = compileCors('ns/cred', { allowOrigins: ['*', 'https://app.test'], allowCredentials: true });
    assert.deepEqual(evaluatePreflight(cred, 'https://x.test', 'GET', undefined), { ok: false, reason: 'origin https://x.test is not allowed' });
    assert.equal(actualRequestHeaders(cred, 'https://x.test'), undefined);
    const e = evaluatePreflight(cred, 'https://app.test', 'GET', undefined);
    assert.ok(e.ok);
    assert.equal(e.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(e.headers['access-control-allow-credentials'], 'true');
  });

  test('the opaque origin "null" is never echoed: listed, with "*" and credentials, any case', () => {
    for (const cfg of [{ allowOrigins: ['null', 'https://app.test'] }, { allowOrigins: ['null'], allowCredentials: true }, { allowOrigins: ['*'], allowCredentials: true }]) {
      const c = compileCors('ns/null', cfg);
      for (const origin of ['null', 'NULL', ' null']) {
        assert.equal(actualRequestHeaders(c, origin), undefined, `${JSON.stringify(cfg)} ${origin}`);
        assert.deepEqual(evaluatePreflight(c, origin, 'GET', undefined), { ok: false, reason: `origin ${origin} is not allowed` });
      }
    }
    // "*" without credentials answers the literal "*" (public data), never the origin itself.
    assert.deepEqual(actualRequestHeaders(compileCors('ns/any', { allowOrigins: ['*'] }), 'null'), { 'access-control-allow-origin': '*' });
  });

  test('actual requests: headers only for an allowed origin', () => {
    assert.deepEqual(actualRequestHeaders(c, 'https://APP.example.com'), {
      'access-control-allow-origin': 'https://APP.example.com',
      vary: 'Origin',
      'access-control-expose-headers': 'RateLimit',
    });
    assert.equal(actualRequestHeaders(c, 'https://evil.example.com'), undefined);
    assert.equal(actualRequestHeaders(c, undefined), undefined);
  });
});

describe('header-injection', () => {
  test('request and response ops recorded; removals then sets; framing headers protected', async () => {
    const p = compileHeaderInjection('ns/h', { request: { set: { 'X-Env': 'prod', Host: 'evil' }, remove: ['Cookie'] }, response: { set: { 'X-Frame-Options': 'DENY' }, remove: ['Server'] } });
    const c = ctx();
    assert.equal(await run(p, c), undefined);
    const req: Record<string, string> = { cookie: 'a=b', host: 'h', 'x-env': 'dev' };
    applyOps(req, c.requestOps);
    assert.deepEqual(req, { host: 'h', 'x-env': 'prod' });
    const res: Record<string, string> = { server: 'up', 'content-type': 'text/plain' };
    applyOps(res, c.responseOps);
    assert.deepEqual(res, { 'content-type': 'text/plain', 'x-frame-options': 'DENY' });
    assert.equal(compileOps({ set: { 'Content-Length': '1' } }), undefined);
  });
});

describe('RateLimit headers and memory counters', () => {
  test('structured-field form, names quoted and escaped', () => {
    assert.deepEqual(rateLimitHeaders([{ name: 'a"b', limit: 10, remaining: 3, resetMs: 1500, windowMs: 60_000 }]), {
      'ratelimit-policy': '"a\\"b";q=10;w=60',
      ratelimit: '"a\\"b";r=3;t=2',
    });
  });

  test('all-or-nothing across windows, windows aligned to the epoch, sweep drops ended windows', () => {
    const s = new MemoryCounterStore({ sweepMs: 0 });
    const windows = [
      { name: 's', limit: 2, windowMs: 1000 },
      { name: 'm', limit: 3, windowMs: 60_000 },
    ];
    assert.equal(s.consume('k', windows, T0 + 100).allowed, true);
    assert.equal(s.consume('k', windows, T0 + 200).allowed, true);
    const r = s.consume('k', windows, T0 + 300);
    assert.equal(r.allowed, false);
    assert.deepEqual(r.windows.map((w) => [w.exceeded, w.remaining, w.resetMs]), [
      [true, 0, 700],
      [false, 1, 59_700],
    ]);
    assert.equal(s.consume('k', windows, T0 + 1000).allowed, true, 'new second');
    assert.equal(s.consume('k', windows, T0 + 2000).allowed, false, 'minute full (3)');
    assert.equal(s.consume('other', windows, T0 + 2000).allowed, true, 'keys are independent');
    s.sweep(T0 + 61_000);
    assert.equal(s.size(), 0);
  });
});
