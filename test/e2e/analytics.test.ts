// Analytics as API Manager shows them, end to end: two gateway replicas with
// short buckets (5 s × 12), traffic through both, the operator reading every
// replica (one named by a host it resolves, one by address) and writing the
// 24-hour figures, per-client latency, approved contracts and the registration
// state into ApiInstance status, shown by kubectl get.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyStory, applyYaml, canI, deleteStory, freePort, getJson, kubectl, organizationYaml, rawKeyOf, startGatewayProcess, startOperator, startUpstream, startWebhook,
  uniqueName, waitFor, type RunningGateway, type RunningOperator, type RunningWebhookProcess, type Upstream,
} from './support/index.ts';

const OWNER = 'max-airlines-prod';
const CONSUMER = 'mule-united-prod';
const BUCKET_SECONDS = 5;
// A third organization Max Airlines also shares the instance with: it reads the status, and must not learn Mule United's clients.
const SKY = uniqueName('sky');
const SKY_MEMBER = { as: `someone-of-${SKY}`, groups: [`${SKY}:members`] };
const ANALYTICS = { GATEWAY_ANALYTICS_BUCKET_SECONDS: String(BUCKET_SECONDS), GATEWAY_ANALYTICS_BUCKETS: '12' };

describe('ApiInstance analytics', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;
  let gw1: RunningGateway;
  let gw2: RunningGateway;
  let upstream: Upstream;
  // Every request the test sends: what the summed figures must say.
  const sent: Array<{ key: boolean; status: number }> = [];
  const call = async (gw: RunningGateway, key?: string) => {
    const res = await fetch(`${gw.url}/flights/v1/flights`, { headers: key ? { 'x-api-key': key } : {}, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    sent.push({ key: key !== undefined, status: res.status });
    return res.status;
  };
  const instance = (name = 'flights') => getJson(['apiinstance', name, '-n', OWNER]);

  before(async () => {
    upstream = await startUpstream();
    const [admin1, admin2] = [await freePort(), await freePort()];
    const platform = { loopbackUpstreams: [upstream.hostPort] };
    webhook = await startWebhook(platform);
    // Replica 1 by a name the operator resolves on each read (as a headless Service in a cluster), replica 2 by address.
    op = await startOperator({
      ...platform,
      env: { CROSSGATE_GATEWAY_ADMIN_URLS: `http://localhost:${admin1},http://127.0.0.1:${admin2}`, CROSSGATE_ANALYTICS_INTERVAL_MS: '1000' },
    });
    await applyStory(upstream.url);
    gw1 = await startGatewayProcess({ ...platform, adminPort: admin1, env: ANALYTICS });
    gw2 = await startGatewayProcess({ ...platform, adminPort: admin2, env: ANALYTICS });
  });
  after(async () => {
    await kubectl(['delete', 'apiinstance', 'flights-next', '-n', OWNER, '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'orgtrust', SKY, '-n', 'max-airlines', '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'orgtrust', 'max-airlines', '-n', `${SKY}-home`, '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'organization', SKY, '--ignore-not-found'], { allowFail: true });
    await gw1?.stop();
    await gw2?.stop();
    await deleteStory();
    await op?.proc.stop();
    await webhook?.stop();
    await upstream?.close();
  });

  test('traffic through two replicas: summed 24-hour figures, per-client latency, contracts and Active, in status and in kubectl get', async () => {
    const key = await rawKeyOf('gate-display-apikey', CONSUMER);
    for (const gw of [gw1, gw2]) await waitFor(async () => (await call(gw, key)) === 200, { what: 'the gold key works at each replica' });
    for (let i = 0; i < 3; i++) await call(gw1, key);
    for (let i = 0; i < 2; i++) assert.equal(await call(gw2), 401);
    const total = sent.length;
    const errors = sent.filter((s) => s.status >= 400).length;
    // The key's client is known once the key is loaded: its 200s (a refusal before that is a request without a client).
    const fromKey = sent.filter((s) => s.key && s.status === 200).length;
    assert.ok(fromKey >= 5);

    // The gateway says which routes it serves.
    const summary = (await (await fetch(`${gw1.adminUrl}/summary`)).json()) as { routes: string[] };
    assert.ok(summary.routes.includes(`${OWNER}/flights`));

    const { inst, table } = await waitFor(async () => {
      const i = await instance();
      const a = i?.status?.analytics;
      if (a?.day?.requests !== total || a?.registration?.state !== 'Active') return undefined;
      return { inst: i, table: (await kubectl(['get', 'apiinstances', '-n', OWNER])).stdout };
    }, { what: `${total} requests over both replicas and Active`, timeoutMs: 20_000 });
    const a = inst.status.analytics;
    assert.equal(a.day.bucketSeconds, BUCKET_SECONDS);
    assert.equal(a.day.windowSeconds, BUCKET_SECONDS * 12);
    assert.equal(a.day.errorPercent, Math.round((errors / total) * 1000) / 10);
    assert.ok(a.day.p50Ms > 0 && a.day.p99Ms >= a.day.p50Ms, 'p50 and p99 from the summed histogram');
    const client = a.day.clients.find((c: { name: string }) => c.name === `${CONSUMER}/gate-display`);
    assert.ok(client, `the key's client in ${JSON.stringify(a.day.clients)}`);
    assert.equal(client.requests, fromKey);
    assert.equal(client.errorPercent, 0);
    assert.ok(client.p50Ms > 0 && client.p99Ms >= client.p50Ms);
    assert.equal(a.day.clients.find((c: { name: string }) => c.name === '-')?.errorPercent, 100, 'the keyless 401s: client "-"');
    // gate-display (gold) and trial-app (trial) are approved; ops-dashboard (platinum, manual) is pending.
    assert.deepEqual(a.contracts, { approved: 2, apiKeys: 2, applications: 0 });
    assert.equal(a.registration.gateways, 2);
    assert.equal(a.registration.replicas, 2);
    assert.ok(Date.now() - Date.parse(a.registration.lastRequest) < 60_000);
    assert.match(table, /REQUESTS\/24H\s+ERRORS %\/24H\s+CONTRACTS\s+REGISTRATION/);
    assert.match(table, new RegExp(`flights\\s+/flights/v1\\s+${total}\\s+${a.day.errorPercent}\\s+2\\s+Active`));
  });

  test('no request within one bucket: Inactive, the figures stay in the window', async () => {
    const a = await waitFor(async () => {
      const x = (await instance())?.status?.analytics;
      return x?.registration?.state === 'Inactive' ? x : undefined;
    }, { what: 'Inactive after a quiet bucket', timeoutMs: 20_000 });
    assert.equal(a.day.requests, sent.length);
    assert.ok(a.registration.lastRequest);
  });

  test('a route no gateway has loaded is Unregistered', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: flights-next, namespace: ${OWNER}}
spec:
  assetRef: {name: flights-eapi, namespace: max-airlines}
  basePath: /flights/v9
  gateway: elsewhere
  upstream: {url: "${upstream.url}"}
`);
    const a = await waitFor(async () => {
      const x = (await instance('flights-next'))?.status?.analytics;
      return x?.registration?.state === 'Unregistered' ? x : undefined;
    }, { what: 'flights-next Unregistered', timeoutMs: 20_000 });
    assert.equal(a.registration.gateways, 0);
    assert.equal(a.day.requests, 0);
    assert.equal(a.contracts.approved, 0);
    const table = (await kubectl(['get', 'apiinstance', 'flights-next', '-n', OWNER])).stdout;
    assert.match(table, /flights-next\s+\/flights\/v9\s+0\s+0\s+0\s+Unregistered/);
    const summary = (await (await fetch(`${gw2.adminUrl}/summary/day`)).json()) as { routes: string[] };
    assert.ok(!summary.routes.includes(`${OWNER}/flights-next`), 'no replica of the default gateway serves it');
  });

  test('attacker: a peer the instance is also shared with reads its status and finds no other organization\'s clients', async () => {
    // Max Airlines trusts SKY and shares flights with it besides Mule United (as it may): SKY's members can read the instance.
    await applyYaml(organizationYaml({ name: SKY, homeNamespace: `${SKY}-home`, environments: [{ namespace: `${SKY}-prod` }], memberGroup: true }));
    await waitFor(async () => (await getJson(['namespace', `${SKY}-home`]))?.status?.phase === 'Active', { what: `${SKY}'s namespaces` });
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: ${SKY}, namespace: max-airlines}
spec: {peerDomain: ${SKY}}
---
apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: max-airlines, namespace: ${SKY}-home}
spec: {peerDomain: max-airlines}
`);
    await waitFor(async () => (await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: flights-api, namespace: max-airlines}
spec:
  targetRef: {kind: ApiInstance, name: flights, namespace: ${OWNER}}
  peers: [{domain: mule-united, access: view}, {domain: ${SKY}, access: view}]
`, { allowFail: true })).code === 0, { what: 'the share extended to SKY (once trust is mutual)' });
    await waitFor(() => canI('get', 'apiinstances.crossgate.dev/flights', OWNER, SKY_MEMBER), { what: `${SKY}'s members may read flights` });

    // Mule United's key calls the API; SKY reads the status.
    const key = await rawKeyOf('gate-display-apikey', CONSUMER);
    for (let i = 0; i < 3; i++) assert.equal(await call(gw1, key), 200);
    const seen = sent.length;
    const a = await waitFor(async () => {
      const r = await kubectl(['get', 'apiinstance', 'flights', '-n', OWNER, '-o', 'json'], { ...SKY_MEMBER, allowFail: true });
      const x = r.code === 0 ? JSON.parse(r.stdout)?.status?.analytics : undefined;
      return x?.day?.requests >= 3 && x?.registration?.state === 'Active' && x?.day?.clients?.some((c: { name: string }) => c.name === '_other') ? x : undefined;
    }, { what: `the status as ${SKY} reads it, after Mule United's calls`, timeoutMs: 20_000 });
    const names = a.day.clients.map((c: { name: string }) => c.name);
    assert.ok(!names.some((n: string) => n.startsWith(`${CONSUMER}/`)), `no Mule United client is named to ${SKY}: ${JSON.stringify(names)}`);
    const other = a.day.clients.find((c: { name: string }) => c.name === '_other');
    assert.ok(other.requests >= 3, 'their requests are counted, in "_other"');
    assert.ok(a.day.requests <= seen, 'the figures themselves are the instance\'s');
  });
});
