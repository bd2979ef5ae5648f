// Tenant isolation in the control plane, key Secrets and namespace ownership
// (issue 14, weaknesses 3 and 4), played by the attacker: mallory, an
// organization admin of "team" (impersonated; crossgate-edit in team's
// namespaces only). A teammate's key "ops" works at the gateway; mallory writes
// a second ApiKey naming ops' Secret, and one naming a Secret nobody made for a
// key. Neither takes anything over: the intruder reports SecretConflict naming
// the Secret, opens no Contract and contributes no hash, and the teammate's key
// keeps working, also after the intruder is gone. Then the platform drops a
// namespace from team's spec: it is no longer team's (label removed, its
// objects refused at admission and no longer served).
//
// No webhook runs while the keys are attacked: admission has no rule about
// Secret names (the webhook does not cache Secrets), so containment is the
// operator's alone. The webhook is started for the namespace part.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, condition, getJson, kubectl, rawKeyOf, startGatewayProcess, startOperator, startUpstream, startWebhook, organizationYaml, uniqueName, waitFor, waitForCondition,
  type RunningGateway, type RunningOperator, type RunningWebhookProcess, type Upstream, type OrganizationFixture,
} from './support/index.ts';

const team = uniqueName('team');
const T = { home: `${team}-home`, prod: `${team}-prod`, stage: `${team}-stage` };
const PREFIX = `/${team}`;
/** The attacker: an organization admin of team, nothing more. */
const MALLORY = { as: 'mallory', groups: [`${team}:admins`] };

/** team's Organization over `environments`, its route space under PREFIX. */
const teamYaml = (environments: OrganizationFixture['environments']) =>
  organizationYaml({ name: team, homeNamespace: T.home, environments, routes: `{pathPrefixes: ["${PREFIX}"]}` });
const BOTH_ENVIRONMENTS: OrganizationFixture['environments'] = [{ namespace: T.prod }, { name: 'staging', namespace: T.stage, type: 'sandbox' }];
const PROD_ONLY: OrganizationFixture['environments'] = [{ namespace: T.prod }];

const instanceYaml = (ns: string, name: string, basePath: string, upstream: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${ns}}
spec: {assetRef: {name: api, namespace: ${T.home}}, basePath: "${basePath}", upstream: {url: "${upstream}"}}
`;
const keyYaml = (name: string, secretName?: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: ${name}, namespace: ${T.prod}}
spec:
  apiInstanceRef: {name: rail}
  tier: gold
  clientName: ${name}${secretName ? `\n  secretName: ${secretName}` : ''}
`;

describe('key Secrets and namespace ownership (the attacker is an organization admin)', () => {
  let op: RunningOperator;
  let gw: RunningGateway;
  let up: Upstream;
  let webhook: RunningWebhookProcess | undefined;
  let platformEnv: NodeJS.ProcessEnv;
  let opsKey: string;

  const asMallory = (yaml: string) => applyYaml(yaml, { ...MALLORY, allowFail: true, serverSide: true });
  async function written(yaml: string): Promise<void> {
    const r = await asMallory(yaml);
    assert.equal(r.code, 0, `mallory's write should reach the apiserver: ${r.stderr}`);
  }
  const get = (path: string, key?: string) => fetch(`${gw.url}${path}`, { headers: key ? { 'x-api-key': key } : {}, signal: AbortSignal.timeout(10_000) });

  /** The teammate's key is served, now and for a few seconds (a takeover shows within a config write). */
  async function teammateServed(): Promise<void> {
    await waitFor(async () => (await get(`${PREFIX}/rail/x`, opsKey)).status === 200 || undefined, { what: "the teammate's key to be served", timeoutMs: 15_000 });
  }

  before(async () => {
    up = await startUpstream();
    platformEnv = { CROSSGATE_LOOPBACK_UPSTREAMS: up.hostPort };
    op = await startOperator({ env: platformEnv });
    await applyYaml(teamYaml(BOTH_ENVIRONMENTS));
    await waitForCondition(['organization', team], 'Ready', 'True');
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${T.home}}
spec: {type: http, title: API, version: 1.0.0}
`);
    await applyYaml(instanceYaml(T.prod, 'rail', `${PREFIX}/rail`, up.url));
    await applyYaml(JSON.stringify({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Policy', metadata: { name: 'rail-keys', namespace: T.prod }, spec: { type: 'api-key', targetRef: { name: 'rail' }, config: { header: 'x-api-key' } } }));
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: gold, namespace: ${T.prod}}
spec: {apiInstanceRef: {name: rail}, limits: [{requests: 1000, period: minute}], approval: automatic}
`);
    await applyYaml(keyYaml('ops'));
    await waitForCondition(['apiinstance', 'rail', '-n', T.prod], 'Ready', 'True');
    await waitFor(async () => (await getJson(['apikey', 'ops', '-n', T.prod]))?.status?.state === 'Approved', { what: "the teammate's key approved" });
    opsKey = await rawKeyOf('ops-apikey', T.prod);
    gw = await startGatewayProcess({ env: platformEnv });
    await teammateServed();
  });

  after(async () => {
    await gw?.stop();
    await webhook?.stop();
    await kubectl(['delete', 'organization', team, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', T.home, T.prod, T.stage, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await up?.close();
  });

  test("1. a second ApiKey naming a teammate's Secret takes nothing over, and its going loses nothing", async () => {
    const before = await getJson(['secret', 'ops-apikey', '-n', T.prod]);
    await written(keyYaml('thief', 'ops-apikey'));
    const thief = await waitForCondition(['apikey', 'thief', '-n', T.prod], 'Ready', 'False', { reason: 'SecretConflict' });
    assert.equal(await getJson(['contract', `${T.prod}.key.thief`, '-n', T.prod]), undefined, 'no Contract is opened for the intruder');
    assert.equal(thief.status.contract ?? null, null);
    assert.equal(thief.status.keyId ?? null, null, "the intruder's status must not show the teammate's keyId");
    assert.equal(thief.status.state, 'Pending');
    const message = condition(thief, 'Ready')!.message;
    assert.match(message, /spec\.secretName "ops-apikey": Secret "ops-apikey"/);
    assert.match(message, /belongs to ApiKey "ops"/);
    assert.match(message, /no Contract is opened/);
    // The Secret is untouched: same key, same owner, no second owner.
    const after = await getJson(['secret', 'ops-apikey', '-n', T.prod]);
    assert.equal(after.data.apiKey, before.data.apiKey);
    assert.deepEqual(after.metadata.ownerReferences.map((r: any) => r.name), ['ops']);
    await teammateServed();
    // The intruder goes: the teammate's key keeps working, its Secret stays.
    await kubectl(['delete', 'apikey', 'thief', '-n', T.prod, '--wait=true'], { ...MALLORY });
    await new Promise((r) => setTimeout(r, 3_000)); // a config write or two: an intruder's entry leaving would take the hash with it
    await teammateServed();
    assert.equal((await getJson(['secret', 'ops-apikey', '-n', T.prod])).data.apiKey, before.data.apiKey);
  });

  test('2. an ApiKey naming an existing unlabelled Secret gets a clear SecretConflict, not a retry loop', async () => {
    await kubectl(['create', 'secret', 'generic', 'plain', '-n', T.prod, '--from-literal=token=not-a-crossgate-key']);
    await written(keyYaml('squatter', 'plain'));
    const squatter = await waitForCondition(['apikey', 'squatter', '-n', T.prod], 'Ready', 'False', { reason: 'SecretConflict' });
    assert.match(condition(squatter, 'Ready')!.message, /Secret "plain" in namespace "[^"]+" already exists and was not made for this ApiKey \(it has no ownerReference to it\)/);
    assert.match(condition(squatter, 'Ready')!.message, /delete Secret "plain"/);
    assert.equal(await getJson(['contract', `${T.prod}.key.squatter`, '-n', T.prod]), undefined);
    const plain = await getJson(['secret', 'plain', '-n', T.prod]);
    assert.equal(Buffer.from(plain.data.token, 'base64').toString(), 'not-a-crossgate-key', 'the Secret is never overwritten');
    assert.equal(plain.metadata.ownerReferences, undefined);
  });

  test("3. a namespace dropped from the Organization's spec is no longer the organization's", async () => {
    webhook = await startWebhook({ env: platformEnv });
    await written(instanceYaml(T.stage, 'beta', `${PREFIX}/beta`, up.url));
    await waitForCondition(['apiinstance', 'beta', '-n', T.stage], 'Ready', 'True');
    await waitFor(async () => (await get(`${PREFIX}/beta/x`)).status === 200 || undefined, { what: 'the staging route to be served' });

    await applyYaml(teamYaml(PROD_ONLY));
    // The operator removes its labels from the namespace it no longer lists.
    await waitFor(async () => {
      const ns = await getJson(['namespace', T.stage]);
      return ns && !ns.metadata.labels?.['crossgate.dev/organization'] ? ns : undefined;
    }, { what: `the organization label to leave ${T.stage}` });
    // Its objects are no longer served (the route is omitted: nobody's namespace).
    await waitFor(async () => (await get(`${PREFIX}/beta/x`)).status === 404 || undefined, { what: 'the dropped namespace\'s route to go' });
    // Writes there are refused at admission (as cluster admin: mallory lost her RoleBinding there too).
    const r = await applyYaml(instanceYaml(T.stage, 'gamma', `${PREFIX}/gamma`, up.url), { allowFail: true, serverSide: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`namespace "${T.stage}" belongs to no Organization`));
    // A label put back by hand (the operator away, so it stays) does not make the namespace the organization's again.
    await op.proc.stop();
    try {
      await kubectl(['label', 'namespace', T.stage, `crossgate.dev/organization=${team}`, 'crossgate.dev/namespace-role=environment', 'crossgate.dev/environment=staging', '--overwrite']);
      const again = await applyYaml(instanceYaml(T.stage, 'gamma', `${PREFIX}/gamma`, up.url), { allowFail: true, serverSide: true });
      assert.notEqual(again.code, 0, "a hand-written label must not make the namespace the organization's");
      assert.match(again.stderr, new RegExp(`namespace "${T.stage}" is labeled crossgate.dev/organization=${team}, but Organization "${team}" does not list it in its spec`));
    } finally {
      op = await startOperator({ env: platformEnv });
    }
    // Back, the operator removes the stray label again and still serves nothing from the namespace.
    await waitFor(async () => {
      const ns = await getJson(['namespace', T.stage]);
      return ns && !ns.metadata.labels?.['crossgate.dev/organization'] ? ns : undefined;
    }, { what: `the hand-written label to leave ${T.stage}` });
    assert.equal((await get(`${PREFIX}/beta/x`)).status, 404);
    await teammateServed();
  });
});
