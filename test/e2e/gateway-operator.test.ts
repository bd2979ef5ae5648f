// The operator's output proven at a real HTTP boundary: the examples applied,
// the gateway reading the config the operator wrote (through the Kubernetes
// API, as the crossgate-gateway ServiceAccount), requests through it to a real
// upstream on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashApiKey } from '../../api/credential-format.ts';
import {
  applyStory, applyYaml, deleteStory, ex, rawKeyOf, getJson, kubectl, readGatewayConfig, startGatewayProcess, startOperator, startUpstream, startWebhook, waitFor,
  type RunningGateway, type RunningOperator, type RunningWebhookProcess, type Upstream,
} from './support/index.ts';

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
    // The platform allows exactly this loopback upstream (CROSSGATE_LOOPBACK_UPSTREAMS).
    const platform = { loopbackUpstreams: [upstream.hostPort] };
    webhook = await startWebhook(platform);
    op = await startOperator(platform);
    await applyStory(upstream.url);
    gw = await startGatewayProcess(platform);
  });
  after(async () => {
    await gw?.stop();
    await deleteStory();
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
