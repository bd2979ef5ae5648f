// Applications end to end on the real apiserver: one client ID and secret for
// several APIs, one Contract per access entry on the owner's side, approval
// per entry, one client-secret credential in the gateway config whose grants
// are the approved entries only, rotation with overlap, revocation, removal of
// an entry, trust withdrawal, and admission refusals naming what is missing.
// The raw client secret is found only in its Secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hashApiKey } from '../../api/credential-format.ts';
import {
  ROOT, applyYaml, applyUntilAdmitted, getJson, kubectl, readGatewayConfig, startOperator, startWebhook, waitFor, type RunningOperator, type RunningWebhookProcess,
} from './support/index.ts';
import { applicationContractName } from '../../model/contract-name.ts';

const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
const CONSUMER = 'mule-united-prod';
const OWNER = 'max-airlines-prod';
const MULE = { as: 'mo', groups: ['mule-united:admins'] };
const MAX = { as: 'olga', groups: ['max-airlines:admins'] };

const field = async (secret: string, key: string) =>
  Buffer.from((await kubectl(['get', 'secret', secret, '-n', CONSUMER, '-o', `jsonpath={.data.${key}}`])).stdout, 'base64').toString('utf8');
const app = (name: string) => getJson(['application', name, '-n', CONSUMER]);
const entryState = async (name: string, instance: string) => (await app(name))?.status?.access?.find((e: { apiInstance: string }) => e.apiInstance === `${OWNER}/${instance}`)?.state;
const waitEntry = (name: string, instance: string, state: string, timeoutMs = 15_000) =>
  waitFor(async () => (await entryState(name, instance)) === state, { what: `Application ${name} entry ${instance} ${state}`, timeoutMs });
const contractName = (name: string, instance: string) => applicationContractName(CONSUMER, name, instance);
const contract = (name: string, instance: string) => getJson(['contract', contractName(name, instance), '-n', OWNER]);
const credential = async (hash: string) => (await readGatewayConfig()).credentials.get(hash);

const appYaml = (name: string, entries: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Application
metadata: {name: ${name}, namespace: ${CONSUMER}}
spec:
  displayName: Booking site
  access:
${entries}`;
const BOTH = `  - {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: gold}
  - {apiInstanceRef: {name: crew, namespace: ${OWNER}}, tier: crew-manual}
`;

describe('Applications: client ID and secret, one Contract per access entry', () => {
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
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: crew, namespace: ${OWNER}}
spec: {assetRef: {name: flights-eapi, namespace: max-airlines}, basePath: /flights/crew/v1, upstream: {url: "http://crew.max-airlines-prod.svc:8080"}}
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: crew-manual, namespace: ${OWNER}}
spec: {apiInstanceRef: {name: crew}, limits: [{requests: 100, period: minute}], approval: manual}
`);
    await applyUntilAdmitted(ex('max-airlines', '50-assetshare-flights-api.yaml'), { what: 'flights share admitted' });
  });
  after(async () => {
    await kubectl(['delete', 'applications', '--all', '-n', CONSUMER, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'apikeys', '--all', '-n', CONSUMER, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'assetshare', 'crew-api', '-n', 'max-airlines', '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'apiinstance', 'crew', '-n', OWNER, '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'slatier', 'crew-manual', '-n', OWNER, '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('a cross-organization Application without a share, or without mutual trust, is refused at admission naming what is missing', async () => {
    const notShared = await applyYaml(appYaml('refused', BOTH), { ...MULE, allowFail: true });
    assert.notEqual(notShared.code, 0);
    assert.match(notShared.stderr, /cannot call ApiInstance "crew" of organization "max-airlines": "max-airlines" does not share ApiInstance "crew" \(namespace "max-airlines-prod"\) with "mule-united"/);
    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    const noTrust = await waitFor(async () => {
      const r = await applyYaml(appYaml('refused', `  - {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: gold}\n`), { ...MULE, allowFail: true });
      return r.code !== 0 ? r : undefined;
    }, { what: 'refusal without trust' });
    assert.match(noTrust.stderr, /"mule-united" does not trust "max-airlines": create OrgTrust "max-airlines" in namespace "mule-united"/);
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await applyUntilAdmitted(`apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: crew-api, namespace: max-airlines}
spec: {targetRef: {kind: ApiInstance, name: crew, namespace: ${OWNER}}, peers: [{domain: mule-united, access: view}]}
`, { what: 'crew share admitted' });
  });

  test('client ID and secret in the Secret only; two Contracts; automatic entry Approved, manual Pending until the owner approves; one credential with approved grants only', async () => {
    await waitFor(async () => (await applyYaml(appYaml('booking', BOTH), { ...MULE, allowFail: true })).code === 0, { what: 'booking admitted' });
    await waitEntry('booking', 'flights', 'Approved');
    await waitEntry('booking', 'crew', 'Pending');
    const a = await app('booking');
    assert.equal(a.status.secretName, 'booking-client');
    assert.equal(a.status.approved, 1);
    const clientId = await field('booking-client', 'clientId');
    const secret = await field('booking-client', 'clientSecret');
    assert.match(clientId, /^cgc_[A-Za-z0-9_-]{22}$/);
    assert.match(secret, /^cgs_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/);
    assert.equal(a.status.clientId, clientId);
    assert.ok(!JSON.stringify(a).includes(secret), 'the client secret is never in the Application');
    const s = await getJson(['secret', 'booking-client', '-n', CONSUMER]);
    assert.equal(s.type, 'Opaque');
    assert.equal(s.metadata.labels['crossgate.dev/application'], 'booking');
    assert.equal(s.metadata.ownerReferences[0].uid, a.metadata.uid);
    assert.equal(s.metadata.annotations['crossgate.dev/client-id'], clientId);
    assert.equal(s.metadata.annotations['crossgate.dev/key-sha256'], hashApiKey(secret));

    const flights = await contract('booking', 'flights');
    const crew = await contract('booking', 'crew');
    assert.notEqual(flights.metadata.name, crew.metadata.name);
    assert.deepEqual(flights.spec.consumer, { organization: 'mule-united', namespace: CONSUMER, kind: 'Application', name: 'booking', clientName: 'Booking site' });
    assert.equal(flights.spec.decision, 'Approved');
    assert.equal(crew.spec.decision, 'Pending');
    assert.equal(flights.metadata.labels['crossgate.dev/consumer-uid'], a.metadata.uid);

    const hash = hashApiKey(secret);
    const one = await waitFor(() => credential(hash), { what: 'client-secret credential' });
    assert.deepEqual(one, {
      kind: 'client-secret', client: `${CONSUMER}/booking`, clientId,
      grants: [{ routes: [`${OWNER}/flights`], contract: `${OWNER}/${flights.metadata.name}`, tier: 'gold' }],
    });
    await waitFor(async () => (await contract('booking', 'flights'))?.status?.activeKeys === 1, { what: 'flights contract activeKeys 1' });

    await kubectl(['patch', 'contract', crew.metadata.name, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], MAX);
    await waitEntry('booking', 'crew', 'Approved');
    await waitFor(async () => (await credential(hash))?.grants.length === 2, { what: 'both grants in the credential' });
    assert.deepEqual((await credential(hash))!.grants.map((g) => g.routes[0]).sort(), [`${OWNER}/crew`, `${OWNER}/flights`]);
    assert.equal((await app('booking')).status.approved, 2);
    const ready = (await app('booking')).status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.status, 'True');
    // The raw secret appears nowhere but its Secret: not in the config, events or statuses.
    const cfgText = (await kubectl(['get', 'configmaps', '-n', 'crossgate-system', '-o', 'json'])).stdout;
    assert.ok(!cfgText.includes(secret));
    const events = (await kubectl(['get', 'events', '-n', CONSUMER, '-o', 'json'])).stdout + (await kubectl(['get', 'events', '-n', OWNER, '-o', 'json'])).stdout;
    assert.ok(!events.includes(secret));
    const contracts = (await kubectl(['get', 'contracts', '-n', OWNER, '-o', 'json'])).stdout;
    assert.ok(!contracts.includes(secret));
  });

  test('rotation keeps the client ID and the previous secret until the grace ends', async () => {
    const clientId = await field('booking-client', 'clientId');
    const oldHash = hashApiKey(await field('booking-client', 'clientSecret'));
    await kubectl(['patch', 'application', 'booking', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"rotation":{"generation":1,"gracePeriod":"4s"}}}'], MULE);
    const fresh = await waitFor(async () => {
      const s = await field('booking-client', 'clientSecret');
      return hashApiKey(s) !== oldHash ? s : undefined;
    }, { what: 'a rotated client secret' });
    assert.equal(await field('booking-client', 'clientId'), clientId, 'the client ID stays');
    const newHash = hashApiKey(fresh);
    await waitFor(async () => (await credential(newHash)) !== undefined && (await credential(oldHash)) !== undefined, { what: 'both secrets during the grace period' });
    assert.ok((await credential(oldHash))!.notAfter);
    assert.equal((await credential(oldHash))!.clientId, clientId);
    assert.ok((await app('booking')).status.previousSecretValidUntil);
    await waitFor(async () => (await credential(oldHash)) === undefined, { what: 'old secret gone after the grace period', timeoutMs: 15_000 });
    assert.ok(await credential(newHash));
  });

  test('withdrawing trust suspends the application\'s entries within 5 s; trust back restores them', async () => {
    const hash = hashApiKey(await field('booking-client', 'clientSecret'));
    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    await waitEntry('booking', 'flights', 'Suspended', 5_000);
    await waitEntry('booking', 'crew', 'Suspended', 5_000);
    await waitFor(async () => (await credential(hash)) === undefined, { what: 'suspended credential removed within 5 s', timeoutMs: 5_000 });
    await waitFor(async () => (await contract('booking', 'flights'))?.status?.state === 'Suspended', { what: 'its Contract Suspended', timeoutMs: 5_000 });
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await waitEntry('booking', 'flights', 'Approved');
    await waitFor(async () => (await credential(hash))?.grants.length === 2, { what: 'credential back' });
  });

  test('removing an entry closes its Contract and drops its grant', async () => {
    const hash = hashApiKey(await field('booking-client', 'clientSecret'));
    await applyYaml(appYaml('booking', `  - {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: gold}\n`), MULE);
    await waitFor(async () => (await contract('booking', 'crew')) === undefined, { what: 'crew Contract closed' });
    await waitFor(async () => (await credential(hash))?.grants.length === 1, { what: 'one grant left' });
    assert.equal((await credential(hash))!.grants[0]!.routes[0], `${OWNER}/flights`);
  });

  test('an ApiKey and an Application of the same name get distinct Contracts', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: booking, namespace: ${CONSUMER}}
spec: {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: gold}
`, MULE);
    await waitFor(async () => (await getJson(['apikey', 'booking', '-n', CONSUMER]))?.status?.state === 'Approved', { what: 'ApiKey booking Approved' });
    const keyContract = (await getJson(['apikey', 'booking', '-n', CONSUMER])).status.contract.name;
    assert.equal(keyContract, `${CONSUMER}.key.booking`);
    assert.notEqual(keyContract, contractName('booking', 'flights'));
    assert.ok(await contract('booking', 'flights'));
    await kubectl(['delete', 'apikey', 'booking', '-n', CONSUMER]);
  });

  test('a wider endpoint scope on a manual-tier ApiKey sets its Contract back to Pending; a narrower keeps it', async () => {
    const key = (endpoints: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: scoped, namespace: ${CONSUMER}}
spec: {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: platinum, endpoints: ${endpoints}}
`;
    const name = `${CONSUMER}.key.scoped`;
    await applyYaml(key('[{path: /flights/v1/flights/*, methods: [GET]}]'), MULE);
    await waitFor(async () => (await getJson(['contract', name, '-n', OWNER]))?.spec.decision === 'Pending', { what: 'scoped Contract Pending' });
    assert.deepEqual((await getJson(['contract', name, '-n', OWNER])).spec.endpoints, [{ path: '/flights/v1/flights/*', methods: ['GET'] }]);
    await kubectl(['patch', 'contract', name, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], MAX);
    await waitFor(async () => (await getJson(['apikey', 'scoped', '-n', CONSUMER]))?.status?.state === 'Approved', { what: 'scoped key Approved' });
    await applyYaml(key('[{path: /flights/v1/flights/abc, methods: [GET]}]'), MULE);
    await waitFor(async () => (await getJson(['contract', name, '-n', OWNER]))?.spec.endpoints?.[0]?.path === '/flights/v1/flights/abc', { what: 'narrower scope copied' });
    assert.equal((await getJson(['contract', name, '-n', OWNER])).spec.decision, 'Approved', 'narrowing keeps the approval');
    await applyYaml(key('[{path: /flights/v1/**}]'), MULE);
    await waitFor(async () => (await getJson(['contract', name, '-n', OWNER]))?.spec.decision === 'Pending', { what: 'wider scope back to Pending' });
    await waitFor(async () => (await getJson(['apikey', 'scoped', '-n', CONSUMER]))?.status?.state === 'Pending', { what: 'scoped key Pending' });
    await kubectl(['delete', 'apikey', 'scoped', '-n', CONSUMER]);
  });

  test('the raw client secret exists only in its Secret: not in any ConfigMap, Event, crossgate object, operator or webhook log line', async () => {
    const raw = await field('booking-client', 'clientSecret');
    assert.match(raw, /^cgs_/);
    const everywhere = [
      (await kubectl(['get', 'configmaps', '-A', '-o', 'json'])).stdout,
      (await kubectl(['get', 'events', '-A', '-o', 'json'])).stdout,
      (await kubectl(['get', 'crossgate', '-A', '-o', 'json'])).stdout,
      op.proc.lines.join('\n'),
      webhook.proc.lines.join('\n'),
    ].join('\n');
    assert.ok(!everywhere.includes(raw), 'raw client secret found outside its Secret');
    assert.ok(!everywhere.includes(Buffer.from(raw).toString('base64')), 'base64 of the raw client secret found outside its Secret');
    const secrets = JSON.parse((await kubectl(['get', 'secrets', '-A', '-o', 'json'])).stdout) as { items: Array<{ metadata: { name: string; namespace: string }; data?: Record<string, string> }> };
    const holders = secrets.items.filter((s) => Object.values(s.data ?? {}).some((v) => Buffer.from(v, 'base64').toString('utf8') === raw));
    assert.deepEqual(holders.map((h) => `${h.metadata.namespace}/${h.metadata.name}`), [`${CONSUMER}/booking-client`], 'exactly one Secret, the application\'s, holds it');
  });

  test('revocation deletes the Secret, closes the Contracts and removes the credential within 5 s', async () => {
    const hash = hashApiKey(await field('booking-client', 'clientSecret'));
    await kubectl(['patch', 'application', 'booking', '-n', CONSUMER, '--type=merge', '-p', '{"spec":{"revoked":true}}'], MULE);
    await waitFor(async () => (await credential(hash)) === undefined, { what: 'revoked credential removed within 5 s', timeoutMs: 5_000 });
    await waitEntry('booking', 'flights', 'Revoked');
    await waitFor(async () => (await getJson(['secret', 'booking-client', '-n', CONSUMER])) === undefined, { what: 'Secret deleted' });
    await waitFor(async () => (await contract('booking', 'flights')) === undefined, { what: 'Contract closed' });
    const a = await app('booking');
    assert.equal(a.status.clientId, undefined);
    assert.equal(a.status.approved, 0);
  });
});
