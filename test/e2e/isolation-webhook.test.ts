// Issue 14, weaknesses 5 and 6, played by the attacker: a direct client that
// reaches the webhook's port, and a hostile organization admin (impersonated:
// a user in rogue's adminGroups, nothing more) writing CORS and JWT policies.
// Each attack is refused where it is first met (the webhook's metrics, admission)
// and contained with the webhook out of the way (the operator's route verdict
// and the gateway's compile refuse the same config).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import {
  applyYaml, condition, kubectl, startGatewayProcess, organizationYaml, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition,
  type RunningGateway, type RunningOperator,
} from './support/index.ts';

const rogue = uniqueName('rogue');
const R = { home: `${rogue}-home`, prod: `${rogue}-prod` };
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };

/** A POST or GET to the webhook as any pod could send it: no client certificate, the serving certificate not checked. */
function direct(url: string, method: 'GET' | 'POST', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, rejectUnauthorized: false, agent: false, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const seriesOf = (metrics: string) => metrics.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));

describe('webhook exhaustion, CORS and JWT (the attacker reaches the webhook port, or is an organization admin)', () => {
  let webhook: SkippableWebhook | undefined;
  let op: RunningOperator;
  let gw: RunningGateway;
  let upstream: Server;
  let jwks: Server;
  let env: NodeJS.ProcessEnv;
  let priv: CryptoKey;

  const asMallory = (yaml: string) => applyYaml(yaml, { ...MALLORY, allowFail: true, serverSide: true });
  const policy = (name: string, type: string, config: unknown) =>
    JSON.stringify({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Policy', metadata: { name, namespace: R.prod }, spec: { type, targetRef: { name: name.replace(/-policy$/, '') }, config } });
  const instance = (name: string, basePath: string, port: number) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${R.prod}}
spec:
  assetRef: {name: api}
  basePath: ${basePath}
  upstream: {url: "http://127.0.0.1:${port}"}
`;

  before(async () => {
    upstream = createServer((_req, res) => res.setHeader('content-type', 'application/json').end('{"upstream":"rogue"}'));
    const keys = await generateKeyPair('RS256');
    priv = keys.privateKey;
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await Promise.all([upstream, jwks].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const portOf = (s: Server) => (s.address() as AddressInfo).port;
    env = { CROSSGATE_LOOPBACK_UPSTREAMS: `127.0.0.1:${portOf(upstream)},127.0.0.1:${portOf(jwks)}` };
    webhook = new SkippableWebhook({ env });
    await webhook.start();
    op = await startOperator({ env });
    await applyYaml(organizationYaml({ name: rogue, homeNamespace: R.home, environments: [{ namespace: R.prod }], routes: '{pathPrefixes: ["/rogue"]}' }));
    await waitForCondition(['organization', rogue], 'Ready', 'True');
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${R.home}}
spec: {type: http, title: API, version: 1.0.0}
`);
    for (const [name, path] of [['browser', '/rogue/browser'], ['tokens', '/rogue/tokens']] as const) {
      const r = await asMallory(instance(name, path, portOf(upstream)));
      assert.equal(r.code, 0, r.stderr);
    }
    const jwt = await asMallory(policy('tokens-policy', 'jwt-validation', { jwksUrl: `http://127.0.0.1:${portOf(jwks)}/jwks` }));
    assert.equal(jwt.code, 0, jwt.stderr);
    gw = await startGatewayProcess({ env });
  });

  after(async () => {
    await gw?.stop();
    await kubectl(['delete', 'organization', rogue, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', R.home, R.prod, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
    for (const s of [upstream, jwks]) if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
  });

  test('5. a client POSTing AdmissionReviews with random kinds to the webhook does not grow its metric series', async () => {
    const metricsUrl = webhook!.running!.url.replace(/\/validate$/, '/metrics');
    const review = (i: number) =>
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: `attack-${i}`, kind: { group: `g${i}.evil.test`, version: 'v1', kind: `Kind${i}` }, operation: `OP${i}`, namespace: R.prod, name: `x${i}`, object: {} },
      });
    // One of each first, so every series the attack could touch already exists.
    assert.equal((await direct(webhook!.running!.url, 'POST', review(0))).status, 200);
    const before = seriesOf((await direct(metricsUrl, 'GET')).body);
    for (let i = 1; i <= 200; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, j) => direct(webhook!.running!.url, 'POST', review(i + j))));
      for (const a of answers) assert.equal(JSON.parse(a.body).response.allowed, false);
    }
    const metrics = (await direct(metricsUrl, 'GET')).body;
    assert.deepEqual(seriesOf(metrics), before, 'no new series');
    assert.doesNotMatch(metrics, /Kind1\d|OP1\d|evil\.test/);
    assert.match(metrics, /crossgate_webhook_admission_requests_total\{kind="other",operation="other",allowed="false"\} 201/);
  });

  test('6a. CORS "*" with credentials is refused at admission; written anyway, the route is held closed and no origin is echoed', async () => {
    const bad = policy('browser-policy', 'cors', { allowOrigins: ['*'], allowCredentials: true });
    const r = await asMallory(bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /admission webhook "[^"]+" denied the request/);
    assert.match(r.stderr, /\/spec\/config\/allowCredentials/);
    assert.match(r.stderr, /allowCredentials: true cannot be combined with allowOrigins "\*"/);
    const nullOrigin = await asMallory(policy('browser-policy', 'cors', { allowOrigins: ['null'] }));
    assert.notEqual(nullOrigin.code, 0);
    assert.match(nullOrigin.stderr, /origin "null" is never allowed/);
    await webhook!.without(async () => {
      const w = await asMallory(bad);
      assert.equal(w.code, 0, w.stderr);
      const i = await waitForCondition(['apiinstance', 'browser', '-n', R.prod], 'Ready', 'False', { reason: 'InvalidPolicy' });
      assert.match(condition(i, 'Ready')!.message, /browser-policy/);
    });
    const res = await waitFor(async () => {
      const x = await fetch(`${gw.url}/rogue/browser/me`, { headers: { origin: 'https://evil.test', cookie: 'session=victim' } });
      return x.status === 503 ? x : undefined;
    }, { what: 'the route with "*" and credentials held closed' });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    const nul = await fetch(`${gw.url}/rogue/browser/me`, { headers: { origin: 'null' } });
    assert.equal(nul.headers.get('access-control-allow-origin'), null);
  });

  test('6b. a JWT without exp is refused at the gateway (requireExpiry defaults to true)', async () => {
    const noExp = await new SignJWT({ sub: 'forever' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt().sign(priv);
    const withExp = await new SignJWT({ sub: 'today' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt().setExpirationTime('5m').sign(priv);
    await waitFor(async () => (await fetch(`${gw.url}/rogue/tokens/x`, { headers: { authorization: `Bearer ${withExp}` } })).status === 200, { what: 'a token with exp served' });
    const res = await fetch(`${gw.url}/rogue/tokens/x`, { headers: { authorization: `Bearer ${noExp}` } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { detail: string }).detail, 'The bearer token was refused: token has no expiry (exp claim); this API accepts only tokens that expire.');
  });
});
