// The operator's output proven at a real HTTP boundary: the examples applied,
// the gateway reading the config the operator wrote (through the Kubernetes
// API, as the crossgate-gateway ServiceAccount), requests through it to a real
// upstream on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hashApiKey } from '../../api/apikey-format.ts';
import {
  ROOT, applyYaml, rawKeyOf, getJson, kubectl, readGatewayConfig, startGatewayProcess, startOperator, startUpstream, startWebhook, waitFor,
  type RunningGateway, type RunningOperator, type RunningWebhookProcess, type Upstream,
} from './support/index.ts';

const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
const CONSUMER = 'mule-united-prod';
const OWNER = 'max-airlines-prod';

const rawKey = (secret: string) => rawKeyOf(secret, CONSUMER);

describe('through the gateway', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;
  let gw: RunningGateway;
  let upstream: Upstream;
  const call = (path: string, init: RequestInit = {}) => fetch(`${gw.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const withKey = (key: string, path = '/flights/v1/flights') => call(path, { headers: { 'x-api-key': key } });

  before(async () => {
    upstream = await startUpstream();
    webhook = await startWebhook();
    op = await startOperator();
    await applyYaml(ex('max-airlines', '00-organization.yaml'));
    await applyYaml(ex('mule-united', '00-organization.yaml'));
    await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    for (const f of ['20-asset-flights-eapi.yaml', '40-apiinstance-flights.yaml', '41-policies.yaml', '42-slatiers.yaml']) await applyYaml(ex('max-airlines', f));
    await kubectl(['patch', 'apiinstance', 'flights', '-n', OWNER, '--type=merge', '-p', JSON.stringify({ spec: { upstream: { url: upstream.url } } })]);
    await waitFor(async () => (await applyYaml(ex('max-airlines', '50-assetshare-flights-api.yaml'), { allowFail: true })).code === 0, { what: 'share admitted' });
    await waitFor(async () => (await applyYaml(ex('mule-united', '20-apikeys.yaml'), { allowFail: true })).code === 0, { what: 'keys admitted' });
    await waitFor(async () => (await getJson(['apikey', 'gate-display', '-n', CONSUMER]))?.status?.state === 'Approved', { what: 'gold key approved' });
    await waitFor(async () => (await getJson(['apikey', 'trial-app', '-n', CONSUMER]))?.status?.state === 'Approved', { what: 'trial key approved' });
    gw = await startGatewayProcess();
  });
  after(async () => {
    await gw?.stop();
    await kubectl(['delete', '-f', ex('mule-united', '20-apikeys.yaml'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
    await upstream?.close();
  });

  test('no key → 401 problem details', async () => {
    const res = await call('/flights/v1/flights');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const body = (await res.json()) as { status: number; title: string };
    assert.equal(body.status, 401);
  });

  test('a valid key → 200 from the real upstream, with the injected headers', async () => {
    const key = await rawKey('gate-display-apikey');
    const res = await waitFor(async () => {
      const r = await withKey(key);
      return r.status === 200 ? r : undefined;
    }, { what: 'the gold key to work at the gateway' });
    const echo = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(echo.url, '/flights');
    assert.equal(echo.headers['x-served-by'], 'crossgate');
    assert.equal(res.headers.get('x-api-owner'), 'max-airlines');
    assert.equal(res.headers.get('server'), null, 'response header removed by policy');
    assert.equal((await withKey('cgk_' + 'A'.repeat(43) + '_00000000')).status, 401, 'an unknown key is refused');
  });

  test('over the tier → 429 with Retry-After', async () => {
    const key = await rawKey('trial-app-apikey');
    await waitFor(async () => (await withKey(key)).status === 200, { what: 'trial key works' });
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await withKey(key);
      if (last.status === 429) break;
    }
    assert.equal(last!.status, 429);
    assert.ok(Number(last!.headers.get('retry-after')) > 0, 'Retry-After in seconds');
    assert.match(last!.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  test('CORS preflight is answered by the gateway', async () => {
    const res = await call('/flights/v1/flights', {
      method: 'OPTIONS',
      headers: { origin: 'https://portal.mule-united.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
    });
    assert.ok(res.status === 204 || res.status === 200, `preflight status ${res.status}`);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://portal.mule-united.example');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /GET/);
  });

  test('a blocked IP → 403', async () => {
    const key = await rawKey('gate-display-apikey');
    await kubectl(['patch', 'policy', 'partner-networks', '-n', OWNER, '--type=merge', '-p', '{"spec":{"config":{"cidrs":["10.0.0.0/8"]}}}']);
    try {
      await waitFor(async () => (await withKey(key)).status === 403, { what: '403 once loopback is no longer allowed' });
    } finally {
      await applyYaml(ex('max-airlines', '41-policies.yaml'));
    }
    await waitFor(async () => (await withKey(key)).status === 200, { what: 'allowed again' });
  });

  test('rotation: the old key works during the grace period and not after', async () => {
    const old = await rawKey('gate-display-apikey');
    await kubectl(['patch', 'apikey', 'gate-display', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"rotation":{"generation":1,"gracePeriod":"5s"}}}']);
    const fresh = await waitFor(async () => {
      const k = await rawKey('gate-display-apikey');
      return k !== old ? k : undefined;
    }, { what: 'rotated key' });
    await waitFor(async () => (await withKey(fresh)).status === 200, { what: 'new key works' });
    assert.equal((await withKey(old)).status, 200, 'old key still works during the grace period');
    await waitFor(async () => (await withKey(old)).status === 401, { what: 'old key refused after the grace period', timeoutMs: 15_000 });
    assert.equal((await withKey(fresh)).status, 200);
  });

  test('a revoked key → 401 within 5 s of the revocation', async () => {
    const key = await rawKey('gate-display-apikey');
    assert.equal((await withKey(key)).status, 200);
    const started = Date.now();
    await kubectl(['patch', 'apikey', 'gate-display', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitFor(async () => (await withKey(key)).status === 401, { what: 'revoked key refused', timeoutMs: 5_000, intervalMs: 100 });
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await readGatewayConfig()).credentials.has(hashApiKey(key)), false);
  });

  test('gateway metrics count requests per API, client and status class', async () => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(text, /crossgate_gateway_requests_total\{[^}]*api="max-airlines-prod\/flights"[^}]*\} \d+/);
    assert.match(text, /code_class="2xx"/);
    assert.match(text, /code_class="4xx"/);
  });
});
