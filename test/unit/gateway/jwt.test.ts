// jwt-validation against a JWKS served on 127.0.0.1, tokens signed with jose.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { CredentialIndex } from '../../../gateway/compiled.ts';
import { DEFAULT_JWKS_MAX_ENTRIES, JwksCache, bearerToken, compileJwtValidation, describeJwtError } from '../../../gateway/policies/jwt-validation.ts';
import { newContext, type PolicyContext } from '../../../gateway/policies/types.ts';
import { upstreamRequestHeaders } from '../../../gateway/proxy.ts';
import type { IncomingMessage } from 'node:http';

function ctx(authorization?: string, now = Date.now(), header = 'authorization'): PolicyContext {
  return newContext({
    method: 'GET',
    headers: authorization === undefined ? {} : { [header]: authorization },
    path: '/',
    query: '',
    remoteAddress: '127.0.0.1',
    now,
    routeId: 'ns/r',
    credentials: CredentialIndex.empty(),
  });
}

describe('jwt-validation', () => {
  let server: Server;
  let jwksUrl: string;
  let fetches = 0;
  let priv: CryptoKey;
  let otherPriv: CryptoKey;
  let esPriv: CryptoKey;

  before(async () => {
    const rs = await generateKeyPair('RS256');
    const other = await generateKeyPair('RS256');
    const es = await generateKeyPair('ES256');
    priv = rs.privateKey;
    otherPriv = other.privateKey;
    esPriv = es.privateKey;
    const jwk = (k: CryptoKey, kid: string, alg: string) => exportJWK(k).then((j: JWK) => ({ ...j, kid, alg, use: 'sig' }));
    const keys = [await jwk(rs.publicKey, 'rs-1', 'RS256'), await jwk(es.publicKey, 'es-1', 'ES256')];
    server = createServer((req, res) => {
      if (req.url === '/jwks') {
        fetches++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });

  after(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  });

  const sign = (key: CryptoKey, kid: string, over: { iss?: string; aud?: string; exp?: number; alg?: string; nbf?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: over.alg ?? 'RS256', kid })
      .setIssuer(over.iss ?? 'https://issuer.test')
      .setAudience(over.aud ?? 'flights')
      .setIssuedAt(now)
      .setExpirationTime(over.exp ?? now + 300);
    if (over.nbf !== undefined) jwt.setNotBefore(over.nbf);
    return jwt.sign(key);
  };

  test('bearerToken parsing', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer   abc.def.ghi  '), 'abc.def.ghi');
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });

  test('valid token accepted; expired, wrong signature, unknown key, issuer, audience, algorithm refused with a reason', async () => {
    const jwks = new JwksCache();
    const p = compileJwtValidation('ns/jwt', { jwksUrl, issuer: 'https://issuer.test', audiences: ['flights'] }, jwks);
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await p.onRequest(ctx(`Bearer ${await sign(priv, 'rs-1')}`)), undefined);

    const cases: Array<[string, string, RegExp]> = [
      ['expired', await sign(priv, 'rs-1', { exp: now - 60 }), /token expired/],
      ['other key, same kid', await sign(otherPriv, 'rs-1'), /signature verification failed/],
      ['unknown kid', await sign(otherPriv, 'nope'), /no key in the JWKS matches/],
      ['issuer', await sign(priv, 'rs-1', { iss: 'https://evil.test' }), /claim "iss" does not match/],
      ['audience', await sign(priv, 'rs-1', { aud: 'hotels' }), /claim "aud" does not match/],
      ['malformed', 'a.b.c', /malformed token/],
    ];
    for (const [what, token, reason] of cases) {
      const o = await p.onRequest(ctx(`Bearer ${token}`));
      assert.equal(o?.status, 401, what);
      assert.equal(o?.slug, 'invalid-token', what);
      assert.match(o!.detail, reason, what);
      assert.match(o!.headers!['www-authenticate']!, /^Bearer error="invalid_token", error_description="/, what);
    }
    const missing = await p.onRequest(ctx());
    assert.equal(missing?.status, 401);
    assert.equal(missing?.slug, 'missing-token');
    assert.equal(missing?.headers?.['www-authenticate'], 'Bearer');
  });

  test('the checked token header reaches the upstream only with forwardToken: true', async () => {
    const jwks = new JwksCache();
    for (const [forwardToken, header] of [[undefined, 'authorization'], [false, 'authorization'], [true, 'authorization'], [undefined, 'x-token'], [true, 'x-token']] as const) {
      const p = compileJwtValidation('ns/jwt', { jwksUrl, header, ...(forwardToken === undefined ? {} : { forwardToken }) }, jwks);
      const value = `Bearer ${await sign(priv, 'rs-1')}`;
      const c = ctx(value, Date.now(), header);
      assert.equal(await p.onRequest(c), undefined);
      const sent = upstreamRequestHeaders({ headers: { [header]: value, accept: '*/*' } } as unknown as IncomingMessage, c, false);
      assert.equal(sent[header], forwardToken === true ? value : undefined, `${header}, forwardToken ${String(forwardToken)}`);
      assert.equal(sent.accept, '*/*');
    }
    // A refused request is never forwarded, but the header is marked all the same.
    const refused = ctx('Bearer a.b.c');
    await compileJwtValidation('ns/jwt', { jwksUrl }, jwks).onRequest(refused);
    assert.deepEqual(refused.stripHeaders, ['authorization']);
  });

  test('algorithms: ES256 accepted by default, refused when only RS256 is allowed', async () => {
    const jwks = new JwksCache();
    const dflt = compileJwtValidation('ns/jwt', { jwksUrl }, jwks);
    const es = await sign(esPriv, 'es-1', { alg: 'ES256' });
    assert.equal(await dflt.onRequest(ctx(`Bearer ${es}`)), undefined);
    const rsOnly = compileJwtValidation('ns/jwt', { jwksUrl, algorithms: ['RS256'] }, jwks);
    const o = await rsOnly.onRequest(ctx(`Bearer ${es}`));
    assert.equal(o?.status, 401);
    assert.match(o!.detail, /algorithm not allowed/);
  });

  test('clock tolerance and a custom header', async () => {
    const jwks = new JwksCache();
    const now = Math.floor(Date.now() / 1000);
    const justExpired = await sign(priv, 'rs-1', { exp: now - 5 });
    const strict = compileJwtValidation('ns/jwt', { jwksUrl }, jwks);
    assert.equal((await strict.onRequest(ctx(`Bearer ${justExpired}`)))?.status, 401);
    const tolerant = compileJwtValidation('ns/jwt', { jwksUrl, clockToleranceSeconds: 30, header: 'X-Token' }, jwks);
    assert.equal(await tolerant.onRequest(ctx(`Bearer ${justExpired}`, Date.now(), 'x-token')), undefined);
  });

  test('the JWKS is fetched once per URL and shared across compiled policies (config swaps)', async () => {
    const jwks = new JwksCache();
    const before = fetches;
    const token = `Bearer ${await sign(priv, 'rs-1')}`;
    for (let i = 0; i < 3; i++) {
      const p = compileJwtValidation(`ns/jwt-${i}`, { jwksUrl }, jwks);
      assert.equal(await p.onRequest(ctx(token)), undefined);
    }
    assert.equal(fetches - before, 1);
    assert.equal(jwks.size(), 1);
  });

  test('a token without exp is refused unless the policy sets requireExpiry: false', async () => {
    const jwks = new JwksCache();
    const noExp = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'RS256', kid: 'rs-1' }).setIssuedAt().sign(priv);
    for (const cfg of [{ jwksUrl }, { jwksUrl, requireExpiry: true }]) {
      const o = await compileJwtValidation('ns/jwt', cfg, jwks).onRequest(ctx(`Bearer ${noExp}`));
      assert.equal(o?.status, 401);
      assert.equal(o?.slug, 'invalid-token');
      assert.equal(o?.detail, 'The bearer token was refused: token has no expiry (exp claim); this API accepts only tokens that expire.');
      assert.equal(o?.headers?.['www-authenticate'], 'Bearer error="invalid_token", error_description="token has no expiry (exp claim); this API accepts only tokens that expire"');
    }
    assert.equal(await compileJwtValidation('ns/jwt', { jwksUrl, requireExpiry: false }, jwks).onRequest(ctx(`Bearer ${noExp}`)), undefined);
    // A token with exp is fine either way.
    assert.equal(await compileJwtValidation('ns/jwt', { jwksUrl, requireExpiry: false }, jwks).onRequest(ctx(`Bearer ${await sign(priv, 'rs-1')}`)), undefined);
  });

  test('the JWKS cache holds at most maxEntries URLs, least recently used out first', () => {
    const jwks = new JwksCache({ maxEntries: 3 });
    // A URL still held answers with the same key set; one evicted gets a new one.
    const [a, b, c] = ['a', 'b', 'c'].map((u) => jwks.get(`https://idp.test/${u}`));
    jwks.get('https://idp.test/a'); // a is now the most recent
    jwks.get('https://idp.test/d'); // b goes
    assert.equal(jwks.size(), 3);
    assert.equal(jwks.get('https://idp.test/c'), c); // order now a, d, c
    assert.equal(jwks.get('https://idp.test/a'), a); // d, c, a
    assert.notEqual(jwks.get('https://idp.test/b'), b, 'b was evicted'); // d goes
    for (let i = 0; i < 1000; i++) jwks.get(`https://idp.test/many-${i}`);
    assert.equal(jwks.size(), 3);
  });

  // Security model row 14: the cache is shared by every organization's routes on one gateway or authz.
  test("another namespace's many key set URLs never evict a namespace's own: each namespace has its own LRU (16 URLs)", async () => {
    const jwks = new JwksCache();
    const token = `Bearer ${await sign(priv, 'rs-1')}`;
    const victim = compileJwtValidation('victim-prod/jwt', { jwksUrl }, jwks);
    assert.equal(await victim.onRequest(ctx(token)), undefined);
    const before = fetches;
    // The attacker's namespace cycles through 300 key set URLs (a Service of its own answers them all; here: 404s).
    for (let i = 0; i < 300; i++) await compileJwtValidation(`attacker-prod/jwt-${i}`, { jwksUrl: `${jwksUrl}/${i}` }, jwks).onRequest(ctx(token));
    assert.equal(await victim.onRequest(ctx(token)), undefined);
    assert.equal(fetches - before, 0, "the victim's key set was not fetched again");
    assert.equal(jwks.size(), 1 + DEFAULT_JWKS_MAX_ENTRIES, "the attacker's namespace holds its own 16, no more");
  });

  test('the JWKS cache drops a URL unused for idleMs, and refetches its keys on next use', async () => {
    let t = 1_000_000;
    const jwks = new JwksCache({ idleMs: 60_000, now: () => t });
    const token = `Bearer ${await sign(priv, 'rs-1')}`;
    const p = compileJwtValidation('ns/jwt', { jwksUrl }, jwks);
    const before = fetches;
    assert.equal(await p.onRequest(ctx(token)), undefined);
    jwks.get('https://idp.test/other');
    t += 30_000;
    assert.equal(await p.onRequest(ctx(token)), undefined); // used again: stays
    assert.equal(fetches - before, 1);
    t += 45_000; // the other URL has been idle 75 s, ours 45 s
    assert.equal(jwks.size(), 1, 'the other URL is gone, ours stays');
    t += 61_000;
    assert.equal(jwks.size(), 0);
    assert.equal(await p.onRequest(ctx(token)), undefined); // a compiled policy keeps working: the set is made again
    assert.equal(fetches - before, 2);
  });

  test('an unreachable JWKS → 503 (the gateway cannot decide)', async () => {
    const jwks = new JwksCache({ timeoutMs: 500 });
    const dead = `http://127.0.0.1:9/jwks`;
    const p = compileJwtValidation('ns/jwt', { jwksUrl: dead }, jwks);
    const o = await p.onRequest(ctx(`Bearer ${await sign(priv, 'rs-1')}`));
    assert.equal(o?.status, 503);
    assert.equal(o?.slug, 'jwks-unavailable');
    assert.equal(describeJwtError(new TypeError('fetch failed')).status, 503);
  });
});
