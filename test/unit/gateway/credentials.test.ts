// The credential policies beyond api-key alone: client-id-enforcement, the
// endpoint scope of a grant (both policies), a contract's tier counted across
// its routes, and a route with both policies accepting either credential.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { CredentialIndex, compileCredential, type CompiledCredential } from '../../../gateway/compiled.ts';
import { shardOf } from '../../../api/gateway/checksum.ts';
import { validatePolicyConfig } from '../../../api/policies.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileApiKey } from '../../../gateway/policies/api-key.ts';
import { checkClientCredential, compileClientIdEnforcement, extractClientCredentials, parseBasic } from '../../../gateway/policies/client-id-enforcement.ts';
import { compileRoute } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { compileTier, tierCounterKey } from '../../../gateway/policies/sla-tier.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { newContext, type Outcome, type PolicyContext, type PolicyDeps, type PolicyHandler } from '../../../gateway/policies/types.ts';
import { basic, clientCred, cred, newClient, newKey, policy, route, silent } from './fixtures.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function index(entries: Record<string, CompiledCredential>): CredentialIndex {
  const maps = Array.from({ length: 64 }, () => new Map<string, CompiledCredential>());
  for (const [h, c] of Object.entries(entries)) maps[shardOf(h, 64)]!.set(h, c);
  return new CredentialIndex(64, maps);
}

function ctx(credentials: CredentialIndex, over: { headers?: IncomingHttpHeaders; now?: number; route?: string; method?: string; path?: string } = {}): PolicyContext {
  return newContext({
    method: over.method ?? 'GET',
    headers: over.headers ?? {},
    path: over.path ?? '/flights/1',
    query: '',
    remoteAddress: '127.0.0.1',
    now: over.now ?? T0,
    routeId: over.route ?? 'ns/flights',
    credentials,
  });
}

function deps(over: Partial<PolicyDeps> = {}): PolicyDeps {
  return { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent(), ...over };
}

const run = async (p: PolicyHandler, c: PolicyContext): Promise<Outcome> => await p.onRequest(c);
const gold = compileTier({ name: 'gold', limits: [{ requests: 3, periodSeconds: 60 }] });
const tiers = new Map([['gold', gold]]);

describe('client-id-enforcement config', () => {
  test('defaults and bounds: header names are header tokens; the two headers differ', () => {
    assert.deepEqual(validatePolicyConfig('client-id-enforcement', {}), []);
    assert.deepEqual(validatePolicyConfig('client-id-enforcement', { clientIdHeader: 'X-App-Id', clientSecretHeader: 'X-App-Secret', allowBasicAuth: false }), []);
    assert.equal(validatePolicyConfig('client-id-enforcement', { clientIdHeader: 'bad header' })[0]?.path, '/spec/config/clientIdHeader');
    assert.equal(validatePolicyConfig('client-id-enforcement', { allowBasicAuth: 'yes' })[0]?.path, '/spec/config/allowBasicAuth');
    assert.equal(validatePolicyConfig('client-id-enforcement', { other: 1 }).length, 1);
    assert.match(validatePolicyConfig('client-id-enforcement', { clientIdHeader: 'X-Client-Secret' })[0]!.message, /same header/);
  });
});

describe('client-id-enforcement', () => {
  const app = newClient();
  const expired = newClient();
  const elsewhere = newClient();
  const key = newKey();
  const creds = index({
    [app.hash]: compileCredential(clientCred(app.id, [{ routes: ['ns/flights'], contract: 'ns/c-app', tier: 'gold' }])),
    [expired.hash]: compileCredential(clientCred(expired.id, [{ routes: ['ns/flights'], contract: 'ns/c-exp', tier: 'gold' }], { notAfter: '2025-12-31T00:00:00Z' })),
    [elsewhere.hash]: compileCredential(clientCred(elsewhere.id, [{ routes: ['ns/hotels'], contract: 'ns/c-h', tier: 'gold' }])),
    [key.hash]: compileCredential(cred('ns/flights')),
  });

  test('checkClientCredential (pure): unknown, kind, client id, validity window, then the grant', () => {
    const c = compileCredential(clientCred('cgc_x', [{ routes: ['ns/a'], contract: 'ns/c', tier: 'gold' }], { notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-01-02T00:00:00Z' }));
    assert.equal(checkClientCredential(undefined, 'cgc_x', 'ns/a', T0), 'unknown');
    assert.equal(checkClientCredential(compileCredential(cred('ns/a')), 'cgc_x', 'ns/a', T0), 'not-a-client-secret');
    assert.equal(checkClientCredential(c, 'cgc_y', 'ns/a', T0), 'client-id-mismatch');
    assert.equal(checkClientCredential(c, 'cgc_x', 'ns/a', T0 - 1), 'not-yet-valid');
    assert.equal(checkClientCredential(c, 'cgc_x', 'ns/a', T0 + 86_400_000), 'expired');
    assert.equal(checkClientCredential(c, 'cgc_y', 'ns/b', T0), 'client-id-mismatch', 'a wrong id is invalid before any grant is looked at');
    assert.equal(checkClientCredential(c, 'cgc_x', 'ns/b', T0), 'no-contract');
    assert.equal(checkClientCredential(c, 'cgc_x', 'ns/a', T0), 'ok');
  });

  test('extraction: both headers, else Basic (when allowed); one header alone is missing; broken Basic is malformed', () => {
    assert.deepEqual(extractClientCredentials({ 'x-client-id': 'i', 'x-client-secret': 's' }, 'x-client-id', 'x-client-secret', true), { id: 'i', secret: 's', from: 'headers' });
    assert.deepEqual(extractClientCredentials({ authorization: basic('i', 's:with:colons') }, 'x-client-id', 'x-client-secret', true), { id: 'i', secret: 's:with:colons', from: 'basic' });
    assert.equal(extractClientCredentials({ authorization: basic('i', 's') }, 'x-client-id', 'x-client-secret', false), undefined);
    assert.equal(extractClientCredentials({ 'x-client-id': 'i' }, 'x-client-id', 'x-client-secret', true), undefined);
    assert.equal(extractClientCredentials({ authorization: 'Bearer abc' }, 'x-client-id', 'x-client-secret', true), undefined);
    assert.equal(parseBasic('basic !!!'), 'malformed');
    assert.equal(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), 'malformed');
    assert.equal(parseBasic(`Basic ${Buffer.from(':s').toString('base64')}`), 'malformed');
  });

  test('valid id + secret in headers or Basic: client, contract, tier recorded; both headers and Basic Authorization stripped', async () => {
    const p = compileClientIdEnforcement('ns/cid', {}, tiers, deps());
    const h = ctx(creds, { headers: { 'x-client-id': app.id, 'x-client-secret': app.secret } });
    assert.equal(await run(p, h), undefined);
    assert.equal(h.client, 'consumer/portal');
    assert.equal(h.contract, 'ns/c-app');
    assert.equal(h.tier, 'gold');
    assert.deepEqual(h.stripHeaders, ['x-client-id', 'x-client-secret']);
    const b = ctx(creds, { headers: { authorization: basic(app.id, app.secret) } });
    assert.equal(await run(p, b), undefined);
    assert.deepEqual(b.stripHeaders, ['x-client-id', 'x-client-secret', 'authorization']);
    const bearer = ctx(creds, { headers: { 'x-client-id': app.id, 'x-client-secret': app.secret, authorization: 'Bearer t' } });
    assert.equal(await run(p, bearer), undefined);
    assert.ok(!bearer.stripHeaders!.includes('authorization'), 'a non-Basic Authorization is not ours to drop');
    const custom = compileClientIdEnforcement('ns/cid', { clientIdHeader: 'X-App', clientSecretHeader: 'X-App-Secret', allowBasicAuth: false }, tiers, deps());
    const cb = ctx(creds, { headers: { authorization: basic(app.id, app.secret) } });
    assert.equal((await run(custom, cb))?.slug, 'missing-client-credentials');
    assert.ok(!cb.stripHeaders!.includes('authorization'), 'Basic is not read, so not stripped, when not allowed');
    assert.equal(await run(custom, ctx(creds, { headers: { 'x-app': app.id, 'x-app-secret': app.secret } })), undefined);
  });

  test('missing → 401 missing-client-credentials with WWW-Authenticate Basic; every invalid case → one identical 401; no contract → 403', async () => {
    const p = compileClientIdEnforcement('ns/cid', {}, tiers, deps());
    const missing = await run(p, ctx(creds));
    assert.equal(missing?.status, 401);
    assert.equal(missing?.slug, 'missing-client-credentials');
    assert.match(missing!.headers!['www-authenticate']!, /^Basic /);
    assert.equal((await run(p, ctx(creds, { headers: { 'x-client-id': app.id } })))?.slug, 'missing-client-credentials');
    const invalid: Outcome[] = [];
    for (const headers of [
      { 'x-client-id': app.id, 'x-client-secret': newClient().secret }, // unknown secret
      { 'x-client-id': newClient().id, 'x-client-secret': app.secret }, // id mismatch
      { 'x-client-id': expired.id, 'x-client-secret': expired.secret }, // expired
      { 'x-client-id': app.id, 'x-client-secret': key.key }, // an API key is not a client secret
      { authorization: 'Basic %%%' },
    ] as IncomingHttpHeaders[]) {
      const c = ctx(creds, { headers });
      invalid.push(await run(p, c));
      assert.equal(c.client, undefined);
    }
    for (const o of invalid) assert.deepEqual(o, invalid[0]);
    assert.equal(invalid[0]?.status, 401);
    assert.equal(invalid[0]?.slug, 'invalid-client-credentials');
    const nc = await run(p, ctx(creds, { headers: { 'x-client-id': elsewhere.id, 'x-client-secret': elsewhere.secret } }));
    assert.equal(nc?.status, 403);
    assert.equal(nc?.slug, 'no-contract');
    assert.match(nc!.detail, /no approved contract for this API/);
  });

  test('the raw secret never reaches the log (debug on), a refusal body or the context', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
    const logger = pino({ level: 'debug' }, sink);
    const p = compileClientIdEnforcement('ns/cid', {}, new Map(), deps({ logger }));
    const outcomes: Outcome[] = [];
    const ctxs: PolicyContext[] = [];
    for (const headers of [
      { 'x-client-id': app.id, 'x-client-secret': app.secret }, // tier missing on the route: warned
      { 'x-client-id': 'cgc_other', 'x-client-secret': app.secret },
      { authorization: basic(elsewhere.id, elsewhere.secret) },
    ]) {
      const c = ctx(creds, { headers });
      outcomes.push(await run(p, c));
      ctxs.push(c);
    }
    assert.ok(lines.length >= 2, 'refusals are logged');
    const all = lines.join('\n') + JSON.stringify(outcomes) + JSON.stringify(ctxs.map(({ headers: _h, ...rest }) => rest));
    for (const s of [app.secret, elsewhere.secret, basic(elsewhere.id, elsewhere.secret)]) assert.ok(!all.includes(s), 'secret leaked');
    assert.match(lines.join('\n'), /"keyId":"[0-9a-f]{12}"/);
  });
});

describe('endpoint scope of a grant (both credential policies)', () => {
  const app = newClient();
  const key = newKey();
  const endpoints = [{ methods: ['GET'], path: '/flights/*' }];
  const creds = index({
    [app.hash]: compileCredential(clientCred(app.id, [{ routes: ['ns/flights'], contract: 'ns/c-app', tier: 'gold', endpoints }])),
    [key.hash]: compileCredential(cred('ns/flights', { contract: 'ns/c-key', endpoints })),
  });
  const cases: Array<[string, string, boolean]> = [
    ['GET', '/flights/1', true],
    ['POST', '/flights/1', false],
    ['GET', '/flights/1/seats', false],
    ['GET', '/flights', false],
    ['GET', '/flights/a%2F..%2Fadmin', false],
    ['GET', '/flights/..;', false],
    ['GET', '/flights/;x', false],
  ];

  for (const [type, make, headersOf] of [
    ['api-key', () => compileApiKey('ns/key', {}, tiers, deps()), (): IncomingHttpHeaders => ({ 'x-api-key': key.key })],
    ['client-id-enforcement', () => compileClientIdEnforcement('ns/cid', {}, tiers, deps()), (): IncomingHttpHeaders => ({ 'x-client-id': app.id, 'x-client-secret': app.secret })],
  ] as const) {
    test(`${type}: inside the scope → admitted; outside → 403 endpoint-not-allowed, not counted against the tier`, async () => {
      const p = make();
      for (const [method, path, ok] of cases) {
        const o = await run(p, ctx(creds, { headers: headersOf(), method, path }));
        if (ok) assert.equal(o, undefined, `${method} ${path}`);
        else {
          assert.equal(o?.status, 403, `${method} ${path}`);
          assert.equal(o?.slug, 'endpoint-not-allowed');
          assert.equal(o?.policy, type);
        }
      }
      // 1 of 3 used by the admitted case above; the refusals used none.
      assert.equal(await run(p, ctx(creds, { headers: headersOf() })), undefined);
      assert.equal(await run(p, ctx(creds, { headers: headersOf() })), undefined);
      assert.equal((await run(p, ctx(creds, { headers: headersOf() })))?.status, 429);
    });
  }
});

describe('tier windows per contract across routes', () => {
  test('tierCounterKey names the contract only', () => {
    assert.equal(tierCounterKey('ns/c1'), 't|ns/c1');
  });

  test('one grant opening two routes: the two routes share one budget; another contract has its own', async () => {
    const app = newClient();
    const other = newClient();
    const k = newKey();
    const creds = index({
      [app.hash]: compileCredential(clientCred(app.id, [{ routes: ['ns/flights', 'ns/hotels'], contract: 'ns/group', tier: 'gold' }])),
      [other.hash]: compileCredential(clientCred(other.id, [{ routes: ['ns/flights', 'ns/hotels'], contract: 'ns/group-2', tier: 'gold' }])),
      [k.hash]: { ...compileCredential(cred('ns/flights', { contract: 'ns/group-k' })), grants: [{ routes: ['ns/flights', 'ns/hotels'], contract: 'ns/group-k', tier: 'gold', endpoints: undefined, scope: undefined }] },
    });
    const d = deps();
    const flights = compileClientIdEnforcement('ns/cid', {}, tiers, d);
    const hotels = compileClientIdEnforcement('ns/cid', {}, tiers, d);
    const h = (c: { id: string; secret: string }) => ({ 'x-client-id': c.id, 'x-client-secret': c.secret });
    assert.equal(await run(flights, ctx(creds, { headers: h(app), route: 'ns/flights' })), undefined);
    assert.equal(await run(hotels, ctx(creds, { headers: h(app), route: 'ns/hotels', path: '/hotels/1' })), undefined);
    assert.equal(await run(flights, ctx(creds, { headers: h(app), route: 'ns/flights' })), undefined);
    const refused = await run(hotels, ctx(creds, { headers: h(app), route: 'ns/hotels', path: '/hotels/1' }));
    assert.equal(refused?.status, 429, 'the fourth request of the contract, whichever route');
    assert.equal(await run(hotels, ctx(creds, { headers: h(other), route: 'ns/hotels', path: '/hotels/1' })), undefined, 'another contract counts apart');
    // The same for API keys.
    const kf = compileApiKey('ns/key', {}, tiers, d);
    for (const r of ['ns/flights', 'ns/hotels', 'ns/flights']) assert.equal(await run(kf, ctx(creds, { headers: { 'x-api-key': k.key }, route: r })), undefined);
    assert.equal((await run(kf, ctx(creds, { headers: { 'x-api-key': k.key }, route: 'ns/hotels' })))?.status, 429);
  });
});

describe('either credential: a route with api-key and client-id-enforcement', () => {
  const app = newClient();
  const key = newKey();
  const creds = index({
    [app.hash]: compileCredential(clientCred(app.id, [{ routes: ['ns/both'], contract: 'ns/c-app', tier: 'gold' }])),
    [key.hash]: compileCredential(cred('ns/both', { contract: 'ns/c-key' })),
  });
  const compiled = compileRoute(
    route('ns/both', {
      tiers: [{ name: 'gold', limits: [{ requests: 100, periodSeconds: 60 }] }],
      policies: [policy('rate-limit', { limits: [{ requests: 100, period: 'minute' }] }, 'ns/rl', 1), policy('client-id-enforcement', {}, 'ns/cid', 5), policy('api-key', {}, 'ns/key', 10)],
    }),
    deps(),
  );
  const runAll = async (headers: IncomingHttpHeaders): Promise<{ o: Outcome; c: PolicyContext }> => {
    const c = ctx(creds, { headers, route: 'ns/both', path: '/both/1' });
    for (const h of compiled.policies) {
      const o = await h.onRequest(c);
      if (o) return { o, c };
    }
    return { o: undefined, c };
  };

  test('compiled into one credential handler at the place of the first of the two', () => {
    assert.deepEqual(
      compiled.policies.map((p) => [p.type, p.name]),
      [
        ['rate-limit', 'ns/rl'],
        ['client-id-enforcement', 'ns/key|ns/cid'],
      ],
    );
  });

  test('an API key alone or client credentials alone pass; each credential stripped either way', async () => {
    const k = await runAll({ 'x-api-key': key.key });
    assert.equal(k.o, undefined);
    assert.equal(k.c.contract, 'ns/c-key');
    const a = await runAll({ authorization: basic(app.id, app.secret) });
    assert.equal(a.o, undefined);
    assert.equal(a.c.contract, 'ns/c-app');
    for (const c of [k.c, a.c]) for (const h of ['x-api-key', 'x-client-id', 'x-client-secret']) assert.ok(c.stripHeaders!.includes(h), h);
    assert.ok(a.c.stripHeaders!.includes('authorization'));
  });

  test('the credential carried decides: a bad key is judged by api-key even with good client credentials; none → one 401 naming both', async () => {
    const bad = await runAll({ 'x-api-key': newKey().key, 'x-client-id': app.id, 'x-client-secret': app.secret });
    assert.equal(bad.o?.slug, 'invalid-api-key');
    const badClient = await runAll({ 'x-client-id': app.id, 'x-client-secret': newClient().secret });
    assert.equal(badClient.o?.slug, 'invalid-client-credentials');
    const none = await runAll({});
    assert.equal(none.o?.status, 401);
    assert.equal(none.o?.slug, 'missing-credentials');
    assert.match(none.o!.detail, /x-api-key/);
    assert.match(none.o!.detail, /x-client-id and x-client-secret/);
  });

  test('a route with only one of the two keeps its own handler and 401', async () => {
    const only = compileRoute(route('ns/only', { tiers: [{ name: 'gold', limits: [] }], policies: [policy('client-id-enforcement', {}, 'ns/cid')] }), deps());
    assert.deepEqual(only.policies.map((p) => p.name), ['ns/cid']);
    const o = await only.policies[0]!.onRequest(ctx(creds, { route: 'ns/only' }));
    assert.equal(o?.slug, 'missing-client-credentials');
  });
});

// security-model row 8h: another organization's Applications, valid but without a contract for the victim's API,
// must not be counted as the victim's clients (its day figures name 20 per hour, its metric labels 1000 per owner).
describe('client-id-enforcement: a refused application is no client of the API it was refused on', () => {
  const VICTIM_ROUTE = 'max-prod/flights';
  const consumer = newClient();
  const attackers = Array.from({ length: 25 }, () => newClient());
  const creds = index({
    [consumer.hash]: compileCredential(clientCred(consumer.id, [{ routes: [VICTIM_ROUTE], contract: 'max-prod/c-portal', tier: 'gold' }], { client: 'partner-prod/portal' })),
    ...Object.fromEntries(attackers.map((a, i) => [a.hash, compileCredential(clientCred(a.id, [{ routes: ['mallory-prod/own'], contract: `mallory-prod/c-${i}`, tier: 'gold' }], { client: `mallory-prod/app-${i}` }))])),
  });

  test('25 of the attacker\'s applications refused (403 no-contract) leave the victim\'s day figures and labels to its consumers', async () => {
    const p = compileClientIdEnforcement('max-prod/cid', {}, tiers, deps());
    const metrics = new GatewayMetrics({ maxClients: 10, day: { maxClients: 20 } });
    for (const a of attackers) {
      const c = ctx(creds, { route: VICTIM_ROUTE, headers: { 'x-client-id': a.id, 'x-client-secret': a.secret } });
      const o = await run(p, c);
      assert.equal(o?.slug, 'no-contract');
      assert.equal(c.client, undefined, 'the refused application is not attributed');
      // What gateway/server.ts records for every answered request.
      metrics.observe(VICTIM_ROUTE, c.client, o!.status, 0.001, T0);
    }
    const ok = ctx(creds, { route: VICTIM_ROUTE, headers: { 'x-client-id': consumer.id, 'x-client-secret': consumer.secret } });
    assert.equal(await run(p, ok), undefined);
    metrics.observe(VICTIM_ROUTE, ok.client, 200, 0.001, T0);
    const day = metrics.day.summary(T0, [VICTIM_ROUTE]).apis[VICTIM_ROUTE]!;
    assert.equal(day.clients['partner-prod/portal']?.requests, 1, 'the victim\'s consumer keeps its name');
    assert.equal(day.clients['-']?.requests, 25, 'the refusals count, anonymously');
    assert.deepEqual(Object.keys(day.clients).filter((k) => k.startsWith('mallory-prod/')), []);
    assert.equal(metrics.clientLabel('partner-prod/portal', VICTIM_ROUTE), 'partner-prod/portal');
  });
});
