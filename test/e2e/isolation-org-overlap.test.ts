// Tenant isolation when two Organizations' specs overlap, played by the
// attacker. A race at creation (or the webhook skipped) left "victim" with the
// home namespace of the older "rogue" as its own. rogue's admin (mallory,
// impersonated) writes there, as in its own home, an OrgTrust of victim's
// "trust" in rogue and an AssetShare of victim's ApiInstance with rogue, then
// asks for a key to that instance: an organization's trust and shares count
// only from a home namespace it owns (model/ownership.ts ownHome), so the key
// is refused at admission and, with the webhook skipped, never made usable.
// Likewise an Organization naming crossgate's own namespace (the webhook
// skipped) gets no binding there: its admin cannot write in it. And a binding
// a newer Organization made in the older one's namespace before it saw it
// (both created at once) is removed, not kept for its members.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, canI, condition, getJson, kubectl, OPERATOR_NAMESPACE, organizationYaml, SkippableWebhook, startOperator, uniqueName, waitFor,
  waitForCondition, type RunningOperator,
} from './support/index.ts';

const rogue = uniqueName('rogue');
const victim = uniqueName('victim');
const squatter = uniqueName('squatter');
const holder = uniqueName('holder');
const late = uniqueName('late');
const R = { home: `${rogue}-home`, prod: `${rogue}-prod` };
const V = { prod: `${victim}-prod` };
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };
const TRUSTS_NOBODY = `Organization "${victim}" trusts nobody: its home namespace "${R.home}" belongs to Organization "${rogue}", so no OrgTrust there is its own`;

const trustYaml = (peer: string) => `apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: ${peer}, namespace: ${R.home}}
spec: {peerDomain: ${peer}}
`;
const stealYaml = `apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: steal, namespace: ${R.home}}
spec:
  targetRef: {kind: ApiInstance, name: pay, namespace: ${V.prod}}
  peers: [{domain: ${rogue}}]
`;
const keyYaml = `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: stolen, namespace: ${R.prod}}
spec: {apiInstanceRef: {name: pay, namespace: ${V.prod}}, tier: gold}
`;

describe('overlapping Organizations (the attacker is the older organization\'s admin)', () => {
  let webhook: SkippableWebhook | undefined;
  let op: RunningOperator | undefined;
  const asMallory = (yaml: string) => applyYaml(yaml, { ...MALLORY, allowFail: true, serverSide: true });

  before(async () => {
    webhook = new SkippableWebhook();
    await webhook.start();
    op = await startOperator();
    await applyYaml(organizationYaml({ name: rogue, homeNamespace: R.home, environments: [{ namespace: R.prod }], memberGroup: true }));
    await waitForCondition(['organization', rogue], 'Ready', 'True');
    await webhook.without(async () => {
      // The platform's mistake (or race): victim's home is rogue's.
      await applyYaml(organizationYaml({ name: victim, homeNamespace: R.home, environments: [{ namespace: V.prod }], memberGroup: true }));
      await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: pay, namespace: ${V.prod}}
spec: {assetRef: {name: api, namespace: ${R.home}}, basePath: /${victim}/pay, upstream: {url: "http://pay.${V.prod}.svc:8080"}}
`);
    });
    await waitForCondition(['organization', victim], 'Ready', 'False', { reason: 'NamespaceConflict' });
    await waitFor(() => canI('create', 'apikeys.crossgate.dev', R.prod, MALLORY), { what: "mallory's admin grant in rogue's environment" });
  });

  after(async () => {
    for (const o of [victim, rogue, squatter, late, holder]) await kubectl(['delete', 'organization', o, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', R.home, R.prod, V.prod, `${squatter}-home`, `${holder}-home`, `${holder}-prod`, `${late}-home`, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test("rogue's OrgTrusts and AssetShare in its own home never speak for victim: the key is refused, and with the webhook skipped it is not usable", async () => {
    await webhook!.without(async () => {
      for (const yaml of [trustYaml(victim), trustYaml(rogue), stealYaml]) {
        const r = await asMallory(yaml);
        assert.equal(r.code, 0, `mallory's write should reach the apiserver: ${r.stderr}`);
      }
    });
    const refused = await asMallory(keyYaml);
    assert.notEqual(refused.code, 0, "the webhook must refuse a key to victim's instance");
    assert.match(refused.stderr, new RegExp(`cannot call ApiInstance "pay" of organization "${victim}": ${TRUSTS_NOBODY.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    await webhook!.without(async () => {
      const r = await asMallory(keyYaml);
      assert.equal(r.code, 0, `mallory's write should reach the apiserver: ${r.stderr}`);
      const key = await waitForCondition(['apikey', 'stolen', '-n', R.prod], 'Ready', 'False');
      assert.match(condition(key, 'Ready')!.message, new RegExp(TRUSTS_NOBODY.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(await kubectl(['get', 'contract', '-n', V.prod, '-o', 'name']).then((x) => x.stdout.trim()), '', 'no Contract is opened in victim\'s namespace');
    });
  });

  test("an Organization naming crossgate's own namespace (the webhook skipped) is not Ready there and its admin gets no write in it", async () => {
    const eve = { as: 'eve', groups: [`${squatter}:admins`] };
    await webhook!.without(async () => {
      await applyYaml(organizationYaml({ name: squatter, homeNamespace: `${squatter}-home`, environments: [{ namespace: OPERATOR_NAMESPACE }] }));
    });
    const org = await waitForCondition(['organization', squatter], 'Ready', 'False', { reason: 'ReservedNamespace' });
    assert.equal(
      condition(org, 'Ready')!.message,
      `namespace "${OPERATOR_NAMESPACE}" is reserved for the system or for crossgate itself and cannot belong to an Organization`,
    );
    await waitFor(() => canI('create', 'assets.crossgate.dev', `${squatter}-home`, eve), { what: "eve's grant in the squatter's own home" });
    assert.equal(await canI('create', 'apiinstances.crossgate.dev', OPERATOR_NAMESPACE, eve), false, "no write in crossgate's namespace");
    assert.equal(await getJson(['rolebinding', 'crossgate-admins', '-n', OPERATOR_NAMESPACE]), undefined, 'no admin binding there');
    const ns = await getJson(['namespace', OPERATOR_NAMESPACE]);
    assert.notEqual(ns.metadata.labels?.['crossgate.dev/organization'], squatter, 'not labeled as the squatter\'s');
  });

  test("a newer Organization's member binding left in the older one's namespace (made before it saw the older one) is removed", async () => {
    const member = { as: 'lurker', groups: [`${late}:members`] };
    // holder lists no member groups, so nothing of its own overwrites a crossgate-members binding in its home.
    await applyYaml(organizationYaml({ name: holder, homeNamespace: `${holder}-home`, environments: [{ namespace: `${holder}-prod` }] }));
    await waitForCondition(['organization', holder], 'Ready', 'True');
    await webhook!.without(async () => {
      await applyYaml(organizationYaml({ name: late, homeNamespace: `${late}-home`, environments: [{ namespace: `${holder}-home` }], memberGroup: true }));
    });
    await waitForCondition(['organization', late], 'Ready', 'False', { reason: 'NamespaceConflict' });
    // What the race leaves: late's reconciler bound its members in holder's home before holder was in its cache.
    await applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: crossgate-members
  namespace: ${holder}-home
  labels: {crossgate.dev/organization: ${late}, app.kubernetes.io/managed-by: crossgate-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crossgate-view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "${late}:members"}]
`);
    await waitFor(async () => (await getJson(['rolebinding', 'crossgate-members', '-n', `${holder}-home`])) === undefined || undefined, {
      what: "late's binding in holder's home removed",
      timeoutMs: 15_000,
    });
    assert.equal(await canI('list', 'assets.crossgate.dev', `${holder}-home`, member), false, "late's members read nothing in holder's home");
  });
});
