// ApiGroups end to end on the real apiserver and through the real gateway:
// max-airlines groups two ApiInstances (flights, crew) with an automatic group
// tier; mule-united's Application has access to the group and to one more
// instance (fares) at a manual tier. One client ID and secret reach both group
// members at once; fares answers 403 until its owner approves; the group tier's
// limit is counted once across both members; the group must be shared (an
// AssetShare of the ApiGroup) under mutual trust, or admission refuses naming
// what is missing; trust withdrawal suspends the group Contract within 5 s. An
// attacker (a mule-united admin) naming max-airlines' instance in its own group
// is refused at admission, and with the webhook out of the way the operator
// leaves the instance out (the group's status names it) and the attacker's
// application never reaches it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ROOT, SkippableWebhook, applyUntilAdmitted, applyYaml, getJson, kubectl, readGatewayConfig, startGatewayProcess, startOperator, startUpstream, waitFor,
  type RunningGateway, type RunningOperator, type Upstream,
} from './support/index.ts';
import { applicationContractName } from '../../model/contract-name.ts';

const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
const CONSUMER = 'mule-united-prod';
const CONSUMER_HOME = 'mule-united';
const OWNER = 'max-airlines-prod';
const OWNER_HOME = 'max-airlines';
const MULE = { as: 'mo', groups: ['mule-united:admins'] };
const MAX = { as: 'olga', groups: ['max-airlines:admins'] };
const GROUP_LIMIT = 10;

const instanceYaml = (name: string, basePath: string, url: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${OWNER}}
spec: {assetRef: {name: flights-eapi, namespace: ${OWNER_HOME}}, basePath: ${basePath}, upstream: {url: "${url}"}}
---
apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: ${name}-clients, namespace: ${OWNER}}
spec: {type: client-id-enforcement, targetRef: {name: ${name}}, config: {}}
`;

const groupShareYaml = `apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: travel-group, namespace: ${OWNER_HOME}}
spec: {targetRef: {kind: ApiGroup, name: travel}, peers: [{domain: mule-united, access: view}]}
`;

const bookingYaml = `apiVersion: crossgate.dev/v1alpha1
kind: Application
metadata: {name: booking, namespace: ${CONSUMER}}
spec:
  displayName: Booking site
  access:
  - {apiGroupRef: {name: travel, namespace: ${OWNER_HOME}}, tier: group-gold}
  - {apiInstanceRef: {name: fares, namespace: ${OWNER}}, tier: fares-manual}
`;

const field = async (secret: string, key: string) =>
  Buffer.from((await kubectl(['get', 'secret', secret, '-n', CONSUMER, '-o', `jsonpath={.data.${key}}`])).stdout, 'base64').toString('utf8');
const groupContractName = applicationContractName(CONSUMER, 'booking', 'travel', 'ApiGroup');
const faresContractName = applicationContractName(CONSUMER, 'booking', 'fares');
const groupContract = () => getJson(['contract', groupContractName, '-n', OWNER_HOME]);
const entry = async (app: string, key: 'apiGroup' | 'apiInstance', id: string) =>
  (await getJson(['application', app, '-n', CONSUMER]))?.status?.access?.find((e: Record<string, string>) => e[key] === id);

describe('ApiGroups: one client ID for a group of ApiInstances, one Contract and one tier count across them', () => {
  let webhook: SkippableWebhook;
  let op: RunningOperator;
  let gw: RunningGateway;
  let upstream: Upstream;
  let clientId = '';
  let secret = '';
  const call = (path: string, creds = { id: clientId, secret }) =>
    fetch(`${gw.url}${path}`, { headers: { 'x-client-id': creds.id, 'x-client-secret': creds.secret }, signal: AbortSignal.timeout(10_000) });
  /** Every 200 the booking app got on a group member: the group tier's budget is spent by these. */
  let groupServed = 0;
  const callGroup = async (path: string) => {
    const r = await call(path);
    if (r.status === 200) groupServed++;
    return r;
  };

  before(async () => {
    upstream = await startUpstream();
    const platform = { loopbackUpstreams: [upstream.hostPort] };
    webhook = new SkippableWebhook(platform);
    await webhook.start();
    op = await startOperator(platform);
    await applyYaml(ex('max-airlines', '00-organization.yaml'));
    await applyYaml(ex('mule-united', '00-organization.yaml'));
    await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await applyYaml(ex('max-airlines', '20-asset-flights-eapi.yaml'));
    await applyYaml(instanceYaml('flights', '/flights/v1', upstream.url));
    await applyYaml(instanceYaml('crew', '/flights/crew/v1', upstream.url));
    await applyYaml(instanceYaml('fares', '/flights/fares/v1', upstream.url));
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiGroup
metadata: {name: travel, namespace: ${OWNER_HOME}}
spec:
  displayName: Travel APIs
  version: v1
  instances: [{namespace: ${OWNER}, name: flights}, {namespace: ${OWNER}, name: crew}]
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: group-gold, namespace: ${OWNER_HOME}}
spec: {apiGroupRef: {name: travel}, limits: [{requests: ${GROUP_LIMIT}, period: hour}], approval: automatic}
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: fares-manual, namespace: ${OWNER}}
spec: {apiInstanceRef: {name: fares}, limits: [{requests: 100, period: minute}], approval: manual}
`, MAX);
    await applyUntilAdmitted(`apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: fares-api, namespace: ${OWNER_HOME}}
spec: {targetRef: {kind: ApiInstance, name: fares, namespace: ${OWNER}}, peers: [{domain: mule-united, access: view}]}
`, { what: 'fares share admitted' });
    gw = await startGatewayProcess(platform);
  });
  after(async () => {
    await gw?.stop();
    await kubectl(['delete', 'applications', '--all', '-n', CONSUMER, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'apigroups,slatiers', '--all', '-n', CONSUMER_HOME, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'apigroups,slatiers,assetshares', '--all', '-n', OWNER_HOME, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'applications,apiinstances,policies,slatiers', '--all', '-n', OWNER, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
    await upstream?.close();
  });

  test('the group resolves its two members; its tier is on both routes as "travel/group-gold"', async () => {
    await waitFor(async () => (await getJson(['apigroup', 'travel', '-n', OWNER_HOME]))?.status?.members === 2, { what: 'travel resolves 2 members' });
    const g = await getJson(['apigroup', 'travel', '-n', OWNER_HOME]);
    assert.equal(g.status.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'Resolved');
    assert.deepEqual(g.status.missing, []);
    await waitFor(async () => (await getJson(['apigroup', 'travel', '-n', OWNER_HOME]))?.status?.conditions?.find((c: { type: string }) => c.type === 'MembersServed')?.reason === 'AllServed', { what: 'travel: every member served' });
    assert.deepEqual((await getJson(['apigroup', 'travel', '-n', OWNER_HOME])).status.notServed, []);
    const cols = await kubectl(['get', 'apigroup', 'travel', '-n', OWNER_HOME]);
    assert.match(cols.stdout, /DISPLAY NAME\s+VERSION\s+MEMBERS\s+READY\s+REASON/);
    assert.match(cols.stdout, /Travel APIs\s+v1\s+2\s+True\s+Resolved/);
    assert.match((await kubectl(['get', 'crossgate', '-n', OWNER_HOME])).stdout, /apigroup\.crossgate\.dev\/travel/);
    await waitFor(async () => {
      const routes = (await readGatewayConfig()).routes;
      const route = (n: string) => routes.find((x) => x.id === `${OWNER}/${n}`);
      return ['flights', 'crew'].every((n) => route(n)?.tiers.some((t) => t.name === 'travel/group-gold')) &&
        route('fares') !== undefined && !route('fares')!.tiers.some((t) => t.name.startsWith('travel/'));
    }, { what: 'group tier on both member routes, not on fares' });
  });

  test('without a share of the group, or without mutual trust, the Application is refused at admission naming what is missing', async () => {
    const notShared = await applyYaml(bookingYaml, { ...MULE, allowFail: true });
    assert.notEqual(notShared.code, 0);
    assert.match(
      notShared.stderr,
      /cannot call ApiGroup "travel" of organization "max-airlines": "max-airlines" does not share ApiGroup "travel" \(namespace "max-airlines"\) with "mule-united": it needs an AssetShare of it with peer "mule-united" in namespace "max-airlines"/,
    );
    await applyUntilAdmitted(groupShareYaml, { what: 'travel group share admitted' });
    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    const noTrust = await waitFor(async () => {
      const r = await applyYaml(bookingYaml, { ...MULE, allowFail: true });
      return r.code !== 0 ? r : undefined;
    }, { what: 'refusal without trust' });
    assert.match(noTrust.stderr, /cannot call ApiGroup "travel" of organization "max-airlines": "mule-united" does not trust "max-airlines": create OrgTrust "max-airlines" in namespace "mule-united"/);
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
  });

  test('one client ID and secret: both group members 200; the manual instance 403 until the owner approves, then 200', async () => {
    await waitFor(async () => (await applyYaml(bookingYaml, { ...MULE, allowFail: true })).code === 0, { what: 'booking admitted' });
    await waitFor(async () => (await entry('booking', 'apiGroup', `${OWNER_HOME}/travel`))?.state === 'Approved', { what: 'group entry Approved' });
    await waitFor(async () => (await entry('booking', 'apiInstance', `${OWNER}/fares`))?.state === 'Pending', { what: 'fares entry Pending' });
    const c = await groupContract();
    assert.deepEqual(c.spec.apiGroupRef, { name: 'travel' });
    assert.equal(c.spec.apiInstanceRef, undefined);
    assert.equal(c.spec.decision, 'Approved');
    assert.equal(c.spec.tier, 'group-gold');
    assert.equal((await entry('booking', 'apiGroup', `${OWNER_HOME}/travel`)).contract.namespace, OWNER_HOME);
    clientId = await field('booking-client', 'clientId');
    secret = await field('booking-client', 'clientSecret');

    for (const path of ['/flights/v1/flights', '/flights/crew/v1/rosters']) {
      const r = await waitFor(async () => { const x = await callGroup(path); return x.status === 200 ? x : undefined; }, { what: `${path} served`, timeoutMs: 15_000 });
      assert.equal(((await r.json()) as { url: string }).url.startsWith('/'), true);
    }
    const cred = [...(await readGatewayConfig()).credentials.values()].find((v) => v.client === `${CONSUMER}/booking`)!;
    const grant = cred.grants.find((g) => g.contract === `${OWNER_HOME}/${groupContractName}`)!;
    assert.deepEqual([...grant.routes].sort(), [`${OWNER}/crew`, `${OWNER}/flights`]);
    assert.equal(grant.tier, 'travel/group-gold');

    assert.equal((await call('/flights/fares/v1/fares')).status, 403);
    await kubectl(['patch', 'contract', faresContractName, '-n', OWNER, '--type=merge', '-p', '{"spec":{"decision":"Approved"}}'], MAX);
    await waitFor(async () => (await call('/flights/fares/v1/fares')).status === 200, { what: 'fares served after approval', timeoutMs: 15_000 });
    await waitFor(async () => (await getJson(['slatier', 'group-gold', '-n', OWNER_HOME]))?.status?.contracts === 1, { what: 'group tier counts its contract', timeoutMs: 15_000 });
  });

  test('the group tier is one budget across both members: 429 once the group has served its limit, on either member', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < GROUP_LIMIT + 4; i++) {
      const r = await callGroup(i % 2 === 0 ? '/flights/v1/flights' : '/flights/crew/v1/rosters');
      statuses.push(r.status);
    }
    assert.equal(groupServed, GROUP_LIMIT, `the group served ${groupServed} requests in all (limit ${GROUP_LIMIT}): ${statuses.join(',')}`);
    assert.equal((await call('/flights/v1/flights')).status, 429);
    assert.equal((await call('/flights/crew/v1/rosters')).status, 429);
    // fares has its own contract and tier.
    assert.equal((await call('/flights/fares/v1/fares')).status, 200);
  });

  test('trust withdrawal suspends the group Contract within 5 s; trust back restores it', async () => {
    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    const start = Date.now();
    await waitFor(async () => (await groupContract())?.status?.state === 'Suspended', { what: 'group contract Suspended', timeoutMs: 5_000, intervalMs: 100 });
    assert.ok(Date.now() - start <= 5_000);
    await waitFor(async () => (await entry('booking', 'apiGroup', `${OWNER_HOME}/travel`))?.state === 'Suspended', { what: 'group entry Suspended' });
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await waitFor(async () => (await groupContract())?.status?.state === 'Approved', { what: 'group contract Approved again' });
  });

  test('two entries naming one ApiInstance ({name} and {name, namespace: own}): refused at admission; without the webhook the later is Duplicate, one Contract, the first unaffected', async () => {
    const dashboard = `apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: flights-silver, namespace: ${OWNER}}
spec: {apiInstanceRef: {name: flights}, limits: [{requests: 100, period: minute}], approval: automatic}
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: flights-bronze, namespace: ${OWNER}}
spec: {apiInstanceRef: {name: flights}, limits: [{requests: 10, period: minute}], approval: automatic}
---
apiVersion: crossgate.dev/v1alpha1
kind: Application
metadata: {name: dashboard, namespace: ${OWNER}}
spec:
  access:
  - {apiInstanceRef: {name: flights}, tier: flights-silver}
  - {apiInstanceRef: {name: flights, namespace: ${OWNER}}, tier: flights-bronze}
`;
    const refused = await applyYaml(dashboard, { ...MAX, allowFail: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /spec\.access\[1\] names ApiInstance "flights" in namespace "max-airlines-prod", as spec\.access\[0\] does/);
    await webhook.without(async () => {
      const r = await applyYaml(dashboard, { ...MAX, allowFail: true });
      assert.equal(r.code, 0, r.stderr);
    });
    const name = applicationContractName(OWNER, 'dashboard', 'flights');
    const app = await waitFor(async () => {
      const x = await getJson(['application', 'dashboard', '-n', OWNER]);
      return x?.status?.access?.[0]?.state === 'Approved' && x.status.access[1]?.state === 'Duplicate' ? x : undefined;
    }, { what: 'dashboard: first entry Approved, second Duplicate' });
    const [first, dup] = app.status.access;
    assert.deepEqual(first.contract, { namespace: OWNER, name });
    assert.equal(first.tier, 'flights-silver');
    assert.equal(dup.reason, 'Duplicate');
    assert.equal(dup.contract, undefined);
    assert.match(dup.message, /^spec\.access\[1\] names ApiInstance "flights" in namespace "max-airlines-prod", as spec\.access\[0\] does/);
    assert.equal(app.status.approved, 1);
    assert.equal(app.status.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'Approved');
    const contracts = (await getJson(['contracts', '-n', OWNER])).items.filter((c: { spec: { consumer: { name: string; namespace: string } } }) => c.spec.consumer.name === 'dashboard' && c.spec.consumer.namespace === OWNER);
    assert.deepEqual(contracts.map((c: { metadata: { name: string } }) => c.metadata.name), [name], 'one Contract');
    assert.equal(contracts[0].spec.tier, 'flights-silver', 'at the first entry\'s tier');
    // The gateway config grants the app once, at the first entry's tier.
    await waitFor(async () => {
      const cred = [...(await readGatewayConfig()).credentials.values()].find((v) => v.client === `${OWNER}/dashboard`);
      return cred !== undefined && cred.grants.length === 1 && cred.grants[0]!.tier === 'flights-silver' && cred.grants[0]!.contract === `${OWNER}/${name}`;
    }, { what: 'one grant for dashboard, at flights-silver' });
    await kubectl(['delete', 'application', 'dashboard', '-n', OWNER, '--ignore-not-found', '--timeout=60s']);
  });

  test('a member held closed (an invalid Policy, webhook skipped) is named in the group\'s status.notServed and MembersServed, and left out of the group grant', async () => {
    const broken = `apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: crew-broken, namespace: ${OWNER}}
spec: {type: rate-limit, order: 5, targetRef: {name: crew}, config: {limits: many}}
`;
    await webhook.without(async () => {
      const r = await applyYaml(broken, { ...MAX, allowFail: true });
      assert.equal(r.code, 0, r.stderr);
    });
    const g = await waitFor(async () => {
      const x = await getJson(['apigroup', 'travel', '-n', OWNER_HOME]);
      return x?.status?.notServed?.length === 1 ? x : undefined;
    }, { what: 'travel names crew as not served' });
    assert.deepEqual(g.status.notServed, [{ instance: `${OWNER}/crew`, reason: 'InvalidPolicy' }]);
    assert.equal(g.status.members, 2, 'still a member');
    const served = g.status.conditions.find((c: { type: string }) => c.type === 'MembersServed');
    assert.equal(served.status, 'False');
    assert.equal(served.reason, 'MemberNotServed');
    assert.match(served.message, /^1 of 2 members not served, so left out of every grant of the group until fixed \(see each ApiInstance's Ready condition\): "max-airlines-prod\/crew" \(InvalidPolicy: the gateway answers 503 on this route until the config of Policy "crew-broken" is fixed/);
    await waitFor(async () => {
      const cred = [...(await readGatewayConfig()).credentials.values()].find((v) => v.client === `${CONSUMER}/booking`);
      const grant = cred?.grants.find((x) => x.contract === `${OWNER_HOME}/${groupContractName}`);
      return grant !== undefined && grant.routes.length === 1 && grant.routes[0] === `${OWNER}/flights`;
    }, { what: 'the group grant lists flights only' });
    await kubectl(['delete', 'policy', 'crew-broken', '-n', OWNER]);
    await waitFor(async () => {
      const x = await getJson(['apigroup', 'travel', '-n', OWNER_HOME]);
      return x?.status?.notServed?.length === 0 && x.status.conditions.find((c: { type: string }) => c.type === 'MembersServed')?.reason === 'AllServed';
    }, { what: 'travel: every member served again' });
  });

  test('attack: a mule-united admin groups max-airlines\' instance; refused at admission, and without the webhook left out and never reached', async () => {
    const stolen = `apiVersion: crossgate.dev/v1alpha1
kind: ApiGroup
metadata: {name: stolen, namespace: ${CONSUMER_HOME}}
spec: {instances: [{namespace: ${OWNER}, name: flights}]}
`;
    const r = await applyYaml(stolen, { ...MULE, allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /ApiGroup "stolen" cannot list spec\.instances\[0\]: ApiInstance "flights" is named in namespace "max-airlines-prod", which belongs to Organization "max-airlines" \(domain "max-airlines"\), not to Organization "mule-united": an ApiGroup groups only its own organization's ApiInstances/,
    );
    await webhook.without(async () => {
      assert.equal((await applyYaml(stolen, { ...MULE, allowFail: true })).code, 0);
      assert.equal((await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: mine, namespace: ${CONSUMER_HOME}}
spec: {apiGroupRef: {name: stolen}, limits: [{requests: 1000000, period: second}], approval: automatic}
---
apiVersion: crossgate.dev/v1alpha1
kind: Application
metadata: {name: thief, namespace: ${CONSUMER}}
spec: {access: [{apiGroupRef: {name: stolen, namespace: ${CONSUMER_HOME}}, tier: mine}]}
`, { ...MULE, allowFail: true })).code, 0);
    });
    const g = await waitFor(async () => {
      const x = await getJson(['apigroup', 'stolen', '-n', CONSUMER_HOME]);
      return x?.status?.missing?.length === 1 ? x : undefined;
    }, { what: 'stolen group status' });
    assert.deepEqual(g.status.missing, [`${OWNER}/flights`]);
    assert.equal(g.status.members, 0);
    const ready = g.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.reason, 'ForeignMember');
    assert.match(ready.message, /namespace "max-airlines-prod", which belongs to Organization "max-airlines"/);
    await waitFor(async () => (await entry('thief', 'apiGroup', `${CONSUMER_HOME}/stolen`))?.state === 'Approved', { what: 'thief entry decided' });
    const thief = { id: await field('thief-client', 'clientId'), secret: await field('thief-client', 'clientSecret') };
    // Give the writer time to render whatever it would: then nothing of the thief reaches flights, and no tier of its group is on the route.
    await new Promise((res) => setTimeout(res, 2_000));
    const cfg = await readGatewayConfig();
    const thiefCreds = [...cfg.credentials.values()].filter((c) => c.client === `${CONSUMER}/thief`);
    assert.ok(thiefCreds.every((c) => c.grants.every((gr) => !gr.routes.includes(`${OWNER}/flights`))), JSON.stringify(thiefCreds));
    assert.ok(!cfg.routes.find((x) => x.id === `${OWNER}/flights`)!.tiers.some((t) => t.name.startsWith('stolen/')));
    const before = upstream.requests.length;
    const res = await call('/flights/v1/flights', thief);
    assert.notEqual(res.status, 200);
    assert.ok([401, 403].includes(res.status), `thief got ${res.status}`);
    assert.equal(upstream.requests.length, before, 'the thief\'s request never reached the upstream');
  });
});
