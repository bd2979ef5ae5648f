// API keys end to end on the real apiserver: generated into the consumer's
// Secret, a Contract on the owner's side, approval, rotation with overlap,
// expiry, revocation, trust withdrawal — and the gateway config carrying only
// hashes. The raw key is searched for everywhere and found only in its Secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hashApiKey } from '../../api/credential-format.ts';
import {
  ROOT, applyYaml, applyUntilAdmitted, rawKeyOf, getJson, kubectl, readGatewayConfig, startOperator, startWebhook, waitFor, type RunningOperator, type RunningWebhookProcess,
} from './support/index.ts';

const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
const CONSUMER = 'mule-united-prod';
const OWNER = 'max-airlines-prod';

const rawKey = (secret: string) => rawKeyOf(secret, CONSUMER);
async function keyState(name: string): Promise<string | undefined> {
  return (await getJson(['apikey', name, '-n', CONSUMER]))?.status?.state;
}
const waitState = (name: string, state: string, timeoutMs = 15_000) =>
  waitFor(async () => (await keyState(name)) === state, { what: `ApiKey ${name} state ${state}`, timeoutMs });
const inConfig = async (hash: string) => (await readGatewayConfig()).credentials.has(hash);

describe('API keys and contracts', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;

  before(async () => {
    webhook = await startWebhook();
    op = await startOperator();
    for (const f of ['00-organization.yaml']) {
      await applyYaml(ex('max-airlines', f));
      await applyYaml(ex('mule-united', f));
    }
    await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    for (const f of ['20-asset-flights-eapi.yaml', '40-apiinstance-flights.yaml', '41-policies.yaml', '42-slatiers.yaml']) await applyYaml(ex('max-airlines', f));
    // The share is admitted once both trusts are in the webhook's cache.
    await applyUntilAdmitted(ex('max-airlines', '50-assetshare-flights-api.yaml'), { what: 'ApiInstance share admitted' });
    await applyUntilAdmitted(ex('mule-united', '20-apikeys.yaml'), { what: 'ApiKeys admitted' });
  });
  after(async () => {
    await kubectl(['delete', '-f', ex('mule-united', '20-apikeys.yaml'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('each ApiKey gets a Secret and a Contract; automatic tiers are approved at once, manual ones wait', async () => {
    await waitState('gate-display', 'Approved');
    await waitState('trial-app', 'Approved');
    await waitState('ops-dashboard', 'Pending');
    const key = await getJson(['apikey', 'gate-display', '-n', CONSUMER]);
    assert.equal(key.status.secretName, 'gate-display-apikey');
    assert.deepEqual(key.status.contract, { namespace: OWNER, name: `${CONSUMER}.key.gate-display` });
    const raw = await rawKey('gate-display-apikey');
    assert.match(raw, /^cgk_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/);
    assert.equal(key.status.keyId, hashApiKey(raw).slice(0, 12));

    const keys = (await kubectl(['get', 'apikeys', '-n', CONSUMER])).stdout;
    assert.match(keys, /NAME\s+API\s+TIER\s+STATE\s+SECRET\s+AGE/);
    assert.match(keys, /gate-display\s+flights\s+gold\s+Approved\s+gate-display-apikey/);
    assert.match(keys, /ops-dashboard\s+flights\s+platinum\s+Pending\s+ops-dashboard-apikey/);
    const contracts = (await kubectl(['get', 'contracts', '-n', OWNER])).stdout;
    assert.match(contracts, /NAME\s+CONSUMER\s+KIND\s+CLIENT\s+API\s+GROUP\s+TIER\s+STATE\s+AGE/);
    assert.match(contracts, new RegExp(`${CONSUMER}\\.key\\.ops-dashboard\\s+mule-united\\s+ApiKey\\s+ops-dashboard\\s+flights\\s+platinum\\s+Pending`));
    // Issuing is one story told in one Event: the Secret, the Contract opened, the state reached.
    const issued = await waitFor(async () => {
      // By uid: earlier files' gate-display keys (the same examples) leave their Events behind for an hour.
      const list = await getJson(['events', '-n', CONSUMER, '--field-selector', `involvedObject.kind=ApiKey,involvedObject.uid=${key.metadata.uid}`]);
      return list?.items?.length ? list.items : undefined;
    }, { what: 'the Event of issuing gate-display' });
    assert.deepEqual(issued.map((e: { reason: string }) => e.reason), ['KeyIssued']);
    assert.match(issued[0].message, new RegExp(`^key ${key.status.keyId} written to Secret gate-display-apikey; Contract ${CONSUMER}\\.key\\.gate-display opened in namespace ${OWNER} \\(Approved\\); Approved: approved`));
    const pending = await getJson(['apikey', 'ops-dashboard', '-n', CONSUMER]);
    assert.match(pending.status.conditions[0].message, /waiting for the API owner to approve Contract "mule-united-prod.key.ops-dashboard" in namespace "max-airlines-prod"/);
  });

  test('the gateway config carries the route, its policies in order, its tiers, and only hashes of approved keys', async () => {
    const gold = hashApiKey(await rawKey('gate-display-apikey'));
    const platinum = hashApiKey(await rawKey('ops-dashboard-apikey'));
    await waitFor(() => inConfig(gold), { what: 'gold key hash in the gateway config' });
    const cfg = await readGatewayConfig();
    const route = cfg.routes.find((r) => r.id === `${OWNER}/flights`);
    assert.ok(route, 'route of the ApiInstance');
    assert.equal(route.basePath, '/flights/v1');
    assert.deepEqual(route.policies.map((p) => p.name), [`${OWNER}/partner-networks`, `${OWNER}/partner-cors`, `${OWNER}/flights-api-key`, `${OWNER}/flights-client-id`, `${OWNER}/flights-headers`]);
    assert.deepEqual(route.tiers.map((t) => t.name), ['gold', 'platinum', 'trial']);
    assert.deepEqual(route.tiers.find((t) => t.name === 'gold')!.limits, [{ requests: 1000, periodSeconds: 60 }]);
    assert.deepEqual(cfg.credentials.get(gold), { kind: 'api-key', client: `${CONSUMER}/gate-display`, grants: [{ routes: [`${OWNER}/flights`], contract: `${OWNER}/${CONSUMER}.key.gate-display`, tier: 'gold' }] });
    assert.equal(cfg.credentials.has(platinum), false, 'a pending contract has no credential');
    for (const [name, size] of cfg.sizes) assert.ok(size < 1024 * 1024, `${name} under 1 MiB`);
  });

  test('the raw key exists only in the consumer Secret: not in any ConfigMap, Event, status or operator log line', async () => {
    const raws = [await rawKey('gate-display-apikey'), await rawKey('trial-app-apikey'), await rawKey('ops-dashboard-apikey')];
    const everywhere = [
      (await kubectl(['get', 'configmaps', '-A', '-o', 'json'])).stdout,
      (await kubectl(['get', 'events', '-A', '-o', 'json'])).stdout,
      (await kubectl(['get', 'crossgate', '-A', '-o', 'json'])).stdout,
      op.proc.lines.join('\n'),
      webhook.proc.lines.join('\n'),
    ].join('\n');
    const secrets = JSON.parse((await kubectl(['get', 'secrets', '-A', '-o', 'json'])).stdout) as { items: Array<{ metadata: { name: string; namespace: string }; data?: Record<string, string> }> };
    for (const raw of raws) {
      assert.ok(!everywhere.includes(raw), 'raw key found outside its Secret');
      assert.ok(!everywhere.includes(Buffer.from(raw).toString('base64')), 'base64 of the raw key found outside its Secret');
      const holders = secrets.items.filter((s) => Object.values(s.data ?? {}).some((v) => Buffer.from(v, 'base64').toString('utf8') === raw));
      assert.equal(holders.length, 1, 'exactly one Secret holds the key');
      assert.equal(holders[0]!.metadata.namespace, CONSUMER);
    }
  });

  test('a gateway part the manifest does not list (a shard of a larger count) is deleted; a ConfigMap crossgate did not write is left alone', async () => {
    const stray = (name: string, labels: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: crossgate-system
  labels: {${labels}}
data:
  config.json: '{}'
`;
    await applyYaml(stray('crossgate-gw-default-keys-200', '"crossgate.dev/gateway": default, "app.kubernetes.io/managed-by": crossgate-operator'));
    await applyYaml(stray('crossgate-gw-default-notes', '"crossgate.dev/gateway": default'));
    try {
      // A key event makes the writer reconcile the gateway.
      await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: shard-cleanup, namespace: ${CONSUMER}}
spec:
  apiInstanceRef: {name: flights, namespace: ${OWNER}}
  tier: trial
  clientName: Shard cleanup check
`);
      await waitFor(async () => (await getJson(['configmap', 'crossgate-gw-default-keys-200', '-n', 'crossgate-system'])) === undefined, { what: 'the unlisted shard deleted' });
      assert.ok(await getJson(['configmap', 'crossgate-gw-default-notes', '-n', 'crossgate-system']), 'a ConfigMap without the managed-by label stays');
      const cfg = await readGatewayConfig();
      assert.ok(!cfg.manifest.parts.some((p) => p.name === 'crossgate-gw-default-keys-200'));
    } finally {
      await kubectl(['delete', 'apikey', 'shard-cleanup', '-n', CONSUMER, '--ignore-not-found'], { allowFail: true });
      await kubectl(['delete', 'configmap', 'crossgate-gw-default-notes', 'crossgate-gw-default-keys-200', '-n', 'crossgate-system', '--ignore-not-found'], { allowFail: true });
    }
  });

  test('manual approval through the Contract makes the key usable', async () => {
    const hash = hashApiKey(await rawKey('ops-dashboard-apikey'));
    await kubectl(['patch', 'contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], { as: 'olga', groups: ['max-airlines:admins'] });
    await waitState('ops-dashboard', 'Approved');
    await waitFor(() => inConfig(hash), { what: 'approved key hash in config' });
    const contract = await getJson(['contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER]);
    await waitFor(async () => (await getJson(['contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER]))?.status?.activeKeys === 1, { what: 'contract activeKeys' });
    assert.equal(contract.spec.decision, 'Approved');
    // The consumer cannot approve its own contract: Contracts live on the owner's side.
    const self = await kubectl(['patch', 'contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], {
      as: 'mo',
      groups: ['mule-united:admins'],
      allowFail: true,
    });
    assert.match(self.stderr, /forbidden/);
  });

  test('rotation: a new key at once, the old one honoured for the grace period, then gone', async () => {
    const oldHash = hashApiKey(await rawKey('gate-display-apikey'));
    await kubectl(['patch', 'apikey', 'gate-display', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"rotation":{"generation":1,"gracePeriod":"4s"}}}']);
    const newRaw = await waitFor(async () => {
      const r = await rawKey('gate-display-apikey');
      return hashApiKey(r) !== oldHash ? r : undefined;
    }, { what: 'a rotated key in the Secret' });
    const newHash = hashApiKey(newRaw);
    await waitFor(async () => (await inConfig(newHash)) && (await inConfig(oldHash)), { what: 'both keys during the grace period' });
    const cfg = await readGatewayConfig();
    assert.ok(cfg.credentials.get(oldHash)!.notAfter, 'the old key carries its end of validity');
    const status = (await getJson(['apikey', 'gate-display', '-n', CONSUMER])).status;
    assert.equal(status.rotatedGeneration, 1);
    assert.ok(status.previousKeyValidUntil);
    await waitFor(async () => !(await inConfig(oldHash)), { what: 'old key gone after the grace period', timeoutMs: 15_000 });
    assert.ok(await inConfig(newHash));
  });

  test('expiry: the key leaves the config at expiresAt and the ApiKey says Expired', async () => {
    const hash = hashApiKey(await rawKey('trial-app-apikey'));
    const at = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await kubectl(['patch', 'apikey', 'trial-app', '-n', CONSUMER, '--type=merge', '-p', JSON.stringify({ spec: { expiresAt: at } })]);
    await waitFor(async () => (await readGatewayConfig()).credentials.get(hash)?.notAfter === at, { what: 'notAfter on the credential' });
    await waitState('trial-app', 'Expired', 20_000);
    await waitFor(async () => !(await inConfig(hash)), { what: 'expired key removed' });
  });

  test('revocation by the owner on the Contract, and by the consumer on the ApiKey, removes the hash', async () => {
    const ops = hashApiKey(await rawKey('ops-dashboard-apikey'));
    await kubectl(['patch', 'contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Revoked"}}']);
    await waitState('ops-dashboard', 'Revoked');
    await waitFor(async () => !(await inConfig(ops)), { what: 'owner-revoked key removed' });
    const reopen = await kubectl(['patch', 'contract', `${CONSUMER}.key.ops-dashboard`, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], { allowFail: true });
    assert.match(reopen.stderr, /a revoked contract cannot be reopened/);

    const gold = hashApiKey(await rawKey('gate-display-apikey'));
    await kubectl(['patch', 'apikey', 'gate-display', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitState('gate-display', 'Revoked');
    await waitFor(async () => !(await inConfig(gold)), { what: 'consumer-revoked key removed' });
    await waitFor(async () => (await getJson(['secret', 'gate-display-apikey', '-n', CONSUMER])) === undefined, { what: 'revoked key Secret deleted' });
  });

  test('cross-organization keys need a share and mutual trust, else admission says what is missing; withdrawal suspends issued keys', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: crew, namespace: ${OWNER}}
spec: {assetRef: {name: flights-eapi, namespace: max-airlines}, basePath: /flights/crew/v1, upstream: {url: "http://crew.max-airlines-prod.svc:8080"}}
`);
    const keyTo = (name: string, instance: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: ${name}, namespace: ${CONSUMER}}
spec: {apiInstanceRef: {name: ${instance}, namespace: ${OWNER}}, tier: gold}
`;
    const notShared = await applyYaml(keyTo('crew-key', 'crew'), { allowFail: true });
    assert.notEqual(notShared.code, 0);
    assert.match(notShared.stderr, /"max-airlines" does not share ApiInstance "crew" \(namespace "max-airlines-prod"\) with "mule-united": it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines"/);

    await applyYaml(keyTo('second-key', 'flights'));
    await waitState('second-key', 'Approved');
    const second = hashApiKey(await rawKey('second-key-apikey'));
    await waitFor(() => inConfig(second), { what: 'second key in config' });

    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    await waitState('second-key', 'Suspended', 5_000);
    await waitFor(async () => !(await inConfig(second)), { what: 'suspended key removed within 5 s', timeoutMs: 5_000 });
    const noTrust = await applyYaml(keyTo('third-key', 'flights'), { allowFail: true });
    assert.match(noTrust.stderr, /"mule-united" does not trust "max-airlines": create OrgTrust "max-airlines" in namespace "mule-united"/);

    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await waitState('second-key', 'Approved', 5_000);
    await waitFor(() => inConfig(second), { what: 'restored key back in config', timeoutMs: 5_000 });
    await kubectl(['delete', 'apikey', 'second-key', '-n', CONSUMER, '--timeout=30s']);
    await waitFor(async () => !(await inConfig(second)), { what: 'deleted key removed' });
    await waitFor(async () => (await getJson(['contract', `${CONSUMER}.key.second-key`, '-n', OWNER])) === undefined, { what: 'its contract closed', timeoutMs: 10_000 });
    await kubectl(['delete', 'apiinstance', 'crew', '-n', OWNER]);
  });

  test('no finalizer holds an ApiKey; its Contract is closed when it goes, also while the operator was away, and a key made again never inherits an approval', async () => {
    const manual = (name: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: ${name}, namespace: ${CONSUMER}}
spec: {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: platinum}
`;
    const contractOf = (name: string) => getJson(['contract', `${CONSUMER}.key.${name}`, '-n', OWNER]);
    const approve = (name: string) => kubectl(['patch', 'contract', `${CONSUMER}.key.${name}`, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}']);
    for (const name of ['again-key', 'gone-key']) {
      await applyUntilAdmitted(manual(name), { what: `ApiKey ${name} admitted` });
      await waitState(name, 'Pending');
      await approve(name);
      await waitState(name, 'Approved');
    }
    const first = await getJson(['apikey', 'again-key', '-n', CONSUMER]);
    assert.deepEqual(first.metadata.finalizers ?? [], [], 'the operator puts no finalizer on a key');
    assert.equal((await contractOf('again-key')).metadata.labels['crossgate.dev/consumer-uid'], first.metadata.uid, 'the Contract names the uid of its key');

    // While the operator is away: one key deleted for good, one deleted and made again under the same name.
    await op.proc.stop();
    await kubectl(['delete', 'apikey', 'again-key', 'gone-key', '-n', CONSUMER, '--timeout=10s']);
    await applyYaml(manual('again-key'));
    const second = await getJson(['apikey', 'again-key', '-n', CONSUMER]);
    assert.notEqual(second.metadata.uid, first.metadata.uid);
    assert.equal((await contractOf('again-key')).spec.decision, 'Approved', 'the earlier key\'s approved Contract is still there');
    op = await startOperator();

    await waitFor(async () => (await contractOf('gone-key')) === undefined, { what: 'the Contract of the key deleted meanwhile closed', timeoutMs: 15_000 });
    await waitFor(async () => (await contractOf('again-key'))?.metadata.labels['crossgate.dev/consumer-uid'] === second.metadata.uid, { what: 'a Contract of its own for the key made again', timeoutMs: 15_000 });
    const fresh = await contractOf('again-key');
    assert.equal(fresh.spec.decision, 'Pending', 'a manual tier asks the owner again');
    await waitState('again-key', 'Pending');
    const hash = hashApiKey(await rawKey('again-key-apikey'));
    assert.equal(await inConfig(hash), false, 'the new key is not honoured before the owner approves');
    await kubectl(['delete', 'apikey', 'again-key', '-n', CONSUMER]);
    await waitFor(async () => (await contractOf('again-key')) === undefined, { what: 'its Contract closed', timeoutMs: 10_000 });
  });
});
