// Tenant isolation of share grants, played by the attacker. "victim" runs an
// ApiInstance; "rogue" is a tenant whose admin (mallory, impersonated) trusts
// two accomplice organizations ("acc" and "s-acc", mutually trusted by rogue)
// and tries to grant them what is not rogue's to grant, or to keep grants
// alive after their share is gone. With the webhook out of the way the
// operator must still refuse (model/share-grant.ts), a sweep removes share
// Roles and RoleBindings no share grants any more, and a grant name someone
// else's object holds is never written over, nor half granted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, canI, condition, getJson, kubectl, organizationYaml, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition,
  type RunningOperator,
} from './support/index.ts';
import { shareRbacName } from '../../model/share-grant.ts';

const victim = uniqueName('victim');
const rogue = uniqueName('rogue');
const acc = uniqueName('acc');
// Chosen so that the old names collide: share "t-s" + peer acc == share "t" + peer "s-acc".
const sacc = `s-${acc}`;
const ns = (o: string) => ({ home: `${o}-home`, prod: `${o}-prod`, sandbox: `${o}-sandbox` });
const V = ns(victim);
const R = ns(rogue);
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };
const memberOf = (o: string) => ({ as: `someone-of-${o}`, groups: [`${o}:members`] });
const SHARE_UID = 'crossgate.dev/share-uid';
const SWEEP_MS = 2000;

/** `name`'s Organization over the namespaces `envs`; a namespace named after another organization is one "moved" to it. */
const orgYaml = (name: string, envs: string[]) =>
  organizationYaml({
    name,
    homeNamespace: `${name}-home`,
    environments: envs.map((n) => ({ name: `${n.split('-').pop()}${n.startsWith(name) ? '' : '-moved'}`, namespace: n })),
    memberGroup: true,
    routes: `{pathPrefixes: ["/${name}"]}`,
  });
const trustYaml = (from: string, to: string) => `apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: ${to}, namespace: ${from}-home}
spec: {peerDomain: ${to}}
`;
const assetYaml = (namespace: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${namespace}}
spec: {type: http, title: API, version: 1.0.0}
`;
const instanceYaml = (namespace: string, name: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  assetRef: {name: api, namespace: ${namespace.replace(/-(prod|sandbox)$/, '-home')}}
  basePath: /${namespace.replace(/-(prod|sandbox)$/, '')}/${name}
  upstream: {backendRef: {name: ${name}, port: 80}}
`;
const shareYaml = (name: string, target: { namespace: string; name: string }, peers: string[]) => `apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: ${name}, namespace: ${R.home}}
spec:
  targetRef: {kind: ApiInstance, name: ${target.name}, namespace: ${target.namespace}}
  peers: [${peers.map((p) => `{domain: ${p}}`).join(', ')}]
`;

/** Roles and RoleBindings in `namespace` that carry the share's uid. */
async function grantsOf(uid: string, namespace: string): Promise<string[]> {
  const r = await kubectl(['get', 'roles,rolebindings', '-n', namespace, '-l', `${SHARE_UID}=${uid}`, '-o', 'name']);
  return r.stdout.split('\n').filter(Boolean);
}

describe('share grants (the attacker is an organization admin)', () => {
  let webhook: SkippableWebhook | undefined;
  let op: RunningOperator | undefined;
  const asMallory = (yaml: string) => applyYaml(yaml, { ...MALLORY, allowFail: true, serverSide: true });
  async function written(yaml: string): Promise<void> {
    const r = await asMallory(yaml);
    assert.equal(r.code, 0, `mallory's write should reach the apiserver: ${r.stderr}`);
  }
  const startOp = () => startOperator({ env: { CROSSGATE_SHARE_SWEEP_INTERVAL_MS: String(SWEEP_MS) } });
  const uidOf = async (share: string) => (await getJson(['assetshare', share, '-n', R.home]))!.metadata.uid as string;

  before(async () => {
    webhook = new SkippableWebhook();
    await webhook.start();
    op = await startOp();
    await applyYaml(orgYaml(victim, [V.prod]));
    await applyYaml(orgYaml(rogue, [R.prod, R.sandbox]));
    await applyYaml(orgYaml(acc, [`${acc}-prod`]));
    await applyYaml(orgYaml(sacc, [`${sacc}-prod`]));
    for (const o of [victim, rogue, acc, sacc]) await waitForCondition(['organization', o], 'Ready', 'True');
    // The platform sets up rogue's mutual trust with both accomplices (and victim trusts nobody).
    for (const [a, b] of [[rogue, acc], [acc, rogue], [rogue, sacc], [sacc, rogue]] as const) await applyYaml(trustYaml(a, b));
    await applyYaml(assetYaml(V.home));
    await applyYaml(instanceYaml(V.prod, 'rail'));
    await waitFor(() => canI('create', 'assetshares.crossgate.dev', R.home, MALLORY), { what: "mallory's admin grant in rogue's home" });
    await written(assetYaml(R.home));
    for (const [n, name] of [[R.prod, 'one'], [R.prod, 'two'], [R.sandbox, 'moving']] as const) await written(instanceYaml(n, name));
  });

  after(async () => {
    for (const o of [rogue, victim, acc, sacc]) await kubectl(['delete', 'organization', o, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    const all = [victim, rogue, acc, sacc].flatMap((o) => [`${o}-home`, `${o}-prod`]).concat(R.sandbox);
    await kubectl(['delete', 'namespace', ...all, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test("1. a share of another organization's ApiInstance: refused at admission; with the webhook skipped, the operator grants nothing and says why", async () => {
    const steal = shareYaml('steal', { namespace: V.prod, name: 'rail' }, [acc]);
    const r = await asMallory(steal);
    assert.notEqual(r.code, 0, 'the webhook must refuse it');
    assert.match(r.stderr, new RegExp(`spec\\.targetRef\\.namespace "${V.prod}" belongs to Organization "${victim}"`));
    await webhook!.without(async () => {
      await written(steal);
      const share = await waitForCondition(['assetshare', 'steal', '-n', R.home], 'Ready', 'False', { reason: 'Suspended' });
      assert.equal(share.status.peers[0].reason, 'TargetNotOwned');
      assert.match(condition(share, 'Ready')!.message, new RegExp(`ApiInstance "rail" in namespace "${V.prod}", which belongs to Organization "${victim}", not to Organization "${rogue}"`));
      assert.deepEqual(await grantsOf(share.metadata.uid, V.prod), [], 'no Role or RoleBinding in the victim\'s namespace');
      assert.equal(await canI('get', 'apiinstances.crossgate.dev/rail', V.prod, memberOf(acc)), false, "the accomplice cannot read the victim's instance");
    });
  });

  test('2. a namespace moved to another Organization takes its objects out of the old grants', async () => {
    await written(shareYaml('moving', { namespace: R.sandbox, name: 'moving' }, [acc]));
    await waitForCondition(['assetshare', 'moving', '-n', R.home], 'Ready', 'True');
    await waitFor(() => canI('get', 'apiinstances.crossgate.dev/moving', R.sandbox, memberOf(acc)), { what: 'the legitimate grant' });
    const uid = await uidOf('moving');
    // The platform moves rogue's sandbox namespace to victim (rogue's spec first, then victim's).
    await applyYaml(orgYaml(rogue, [R.prod]));
    await applyYaml(orgYaml(victim, [V.prod, R.sandbox]));
    const share = await waitForCondition(['assetshare', 'moving', '-n', R.home], 'Ready', 'False', { reason: 'Suspended' });
    assert.equal(share.status.peers[0].reason, 'TargetNotOwned');
    await waitFor(async () => (await grantsOf(uid, R.sandbox)).length === 0 || undefined, { what: 'the old grant removed' });
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/moving', R.sandbox, memberOf(acc)), false);
    // Deleted by hand, it is not made again.
    await new Promise((r) => setTimeout(r, SWEEP_MS + 500));
    assert.deepEqual(await grantsOf(uid, R.sandbox), []);
  });

  test('3. two shares whose old names collide keep separate objects, each bound to its own peer', async () => {
    await written(shareYaml('t-s', { namespace: R.prod, name: 'one' }, [acc]));
    await written(shareYaml('t', { namespace: R.prod, name: 'two' }, [sacc]));
    await waitForCondition(['assetshare', 't-s', '-n', R.home], 'Ready', 'True');
    await waitForCondition(['assetshare', 't', '-n', R.home], 'Ready', 'True');
    await waitFor(async () => (await canI('get', 'apiinstances.crossgate.dev/one', R.prod, memberOf(acc))) && (await canI('get', 'apiinstances.crossgate.dev/two', R.prod, memberOf(sacc))), { what: 'both grants' });
    // Let a few reconciles and a sweep pass: neither share may take the other's objects over.
    await new Promise((r) => setTimeout(r, SWEEP_MS + 500));
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/one', R.prod, memberOf(acc)), true);
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/two', R.prod, memberOf(sacc)), true);
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/one', R.prod, memberOf(sacc)), false, "s-acc never gets share t-s's target");
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/two', R.prod, memberOf(acc)), false, "acc never gets share t's target");
    const [a, b] = [await grantsOf(await uidOf('t-s'), R.prod), await grantsOf(await uidOf('t'), R.prod)];
    assert.equal(a.length, 2);
    assert.equal(b.length, 2);
    assert.deepEqual(a.filter((x) => b.includes(x)), [], 'no object shared between the two');
  });

  test('4. a share whose finalizer was removed before deletion leaves no grant within one sweep (also across an operator restart)', async () => {
    // While the operator runs (it may put the finalizer back before the delete lands, then the finalizer
    // removes the grant; either way it must be gone).
    await written(shareYaml('ghost', { namespace: R.prod, name: 'one' }, [sacc]));
    await waitForCondition(['assetshare', 'ghost', '-n', R.home], 'Ready', 'True');
    const uid = await uidOf('ghost');
    await waitFor(async () => (await grantsOf(uid, R.prod)).length === 2 || undefined, { what: "ghost's grant" });
    await kubectl(['patch', 'assetshare', 'ghost', '-n', R.home, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], MALLORY);
    await kubectl(['delete', 'assetshare', 'ghost', '-n', R.home, '--wait=true'], MALLORY);
    await waitFor(async () => (await grantsOf(uid, R.prod)).length === 0 || undefined, { what: "ghost's grant swept", timeoutMs: SWEEP_MS * 3 });

    // While the operator is down: nobody puts the finalizer back and no delete event ever reaches the
    // operator; only the sweep at start finds the orphan (the case that fails without it).
    await written(shareYaml('ghost2', { namespace: R.prod, name: 'two' }, [acc]));
    await waitForCondition(['assetshare', 'ghost2', '-n', R.home], 'Ready', 'True');
    const uid2 = await uidOf('ghost2');
    await waitFor(() => canI('get', 'apiinstances.crossgate.dev/two', R.prod, memberOf(acc)), { what: "ghost2's grant" });
    await op!.proc.stop();
    op = undefined;
    await kubectl(['patch', 'assetshare', 'ghost2', '-n', R.home, '--type=merge', '-p', '{"metadata":{"finalizers":null}}'], MALLORY);
    await kubectl(['delete', 'assetshare', 'ghost2', '-n', R.home, '--wait=true'], MALLORY);
    assert.equal((await grantsOf(uid2, R.prod)).length, 2, 'the orphaned grant is there while the operator is down');
    op = await startOp();
    await waitFor(async () => (await grantsOf(uid2, R.prod)).length === 0 || undefined, { what: "ghost2's grant swept after the restart", timeoutMs: SWEEP_MS * 3 });
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/two', R.prod, memberOf(acc)), false);
  });

  test("5. a grant name held by someone else's RoleBinding: the peer is GrantNameTaken, told which object, and no part of the grant is written", async () => {
    // Not yet trusted, so nothing is granted while the squatter's RoleBinding is put in place.
    await webhook!.without(() => written(shareYaml('squat', { namespace: R.prod, name: 'one' }, [victim])));
    await waitForCondition(['assetshare', 'squat', '-n', R.home], 'Ready', 'False', { reason: 'Suspended' });
    const uid = await uidOf('squat');
    const name = shareRbacName({ metadata: { name: 'squat', uid } }, victim);
    await applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${name}, namespace: ${R.prod}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: []
`);
    for (const [a, b] of [[rogue, victim], [victim, rogue]] as const) await applyYaml(trustYaml(a, b));
    const share = await waitFor(
      async () => {
        const s = await getJson(['assetshare', 'squat', '-n', R.home]);
        return s?.status?.peers?.[0]?.reason === 'GrantNameTaken' ? s : undefined;
      },
      { what: 'GrantNameTaken' },
    );
    const message = `RoleBinding "${name}" in namespace "${R.prod}" already exists and does not belong to this share: nothing was granted; delete it or ask a platform admin`;
    assert.equal(share.status.peers[0].message, message);
    assert.equal(condition(share, 'Ready')!.message, `${victim}: ${message}`);
    assert.deepEqual(await grantsOf(uid, R.prod), [], 'no Role (nor RoleBinding) of the share beside the squatter\'s');
    assert.equal((await getJson(['rolebinding', name, '-n', R.prod]))!.roleRef.name, 'view', 'the squatter\'s RoleBinding is left as it was');
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/one', R.prod, memberOf(victim)), false);
  });
});

// A domain given to a new tenant (docs/security-model.md §2): "owner" trusts and shares with domain `retired`;
// that Organization is deleted and a new one ("heir", another tenant) gets its domain and declares trust back.
describe('a retired domain given to a new tenant inherits no trust (the attacker is the new holder\'s admin)', () => {
  const owner = uniqueName('owner');
  const retired = uniqueName('retired');
  const heir = uniqueName('heir');
  const O = ns(owner);
  const HEIR_ADMIN = { as: 'heidi', groups: [`${heir}:admins`] };
  // The heir's own groups and namespaces, with the retired organization's domain.
  const heirYaml = () => orgYaml(heir, [`${heir}-prod`]).replace(`domain: ${heir}`, `domain: ${retired}`);
  const ownerTrust = () => getJson(['orgtrust', retired, '-n', O.home]);
  let webhook: SkippableWebhook | undefined;
  let op: RunningOperator | undefined;

  before(async () => {
    webhook = new SkippableWebhook();
    await webhook.start();
    op = await startOperator();
    await applyYaml(orgYaml(owner, [O.prod]));
    await applyYaml(orgYaml(retired, [`${retired}-prod`]));
    for (const o of [owner, retired]) await waitForCondition(['organization', o], 'Ready', 'True');
  });

  after(async () => {
    for (const o of [owner, retired, heir]) await kubectl(['delete', 'organization', o, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    const all = [owner, retired, heir].flatMap((o) => [`${o}-home`, `${o}-prod`]);
    await kubectl(['delete', 'namespace', ...all, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('the share stays suspended (PeerReplaced), no grant and no key for the heir, until the owner re-creates its OrgTrust', async () => {
    // Mutual trust and an active share with the retired organization; the owner's OrgTrust records who it trusted.
    for (const [a, b] of [[owner, retired], [retired, owner]] as const) await applyYaml(trustYaml(a, b));
    await applyYaml(assetYaml(O.home));
    await applyYaml(instanceYaml(O.prod, 'pay'));
    await applyYaml(shareYaml('pay', { namespace: O.prod, name: 'pay' }, [retired]).replace(`namespace: ${R.home}`, `namespace: ${O.home}`));
    await waitForCondition(['assetshare', 'pay', '-n', O.home], 'Ready', 'True');
    const retiredUid = (await getJson(['organization', retired]))!.metadata.uid as string;
    await waitFor(async () => (await ownerTrust())?.status?.peerUid === retiredUid || undefined, { what: 'the peer uid recorded' });

    // The retired organization goes; a platform admin gives its domain to the heir, whose admin trusts the owner back.
    await kubectl(['delete', 'organization', retired, '--wait=true', '--timeout=60s']);
    await applyYaml(heirYaml());
    await waitForCondition(['organization', heir], 'Ready', 'True');
    await waitFor(() => canI('create', 'orgtrusts.crossgate.dev', `${heir}-home`, HEIR_ADMIN), { what: "the heir admin's grant" });
    const back = await applyYaml(trustYaml(heir, owner), { ...HEIR_ADMIN, allowFail: true, serverSide: true });
    assert.equal(back.code, 0, `the heir's trust back is its own to write: ${back.stderr}`);

    const heirUid = (await getJson(['organization', heir]))!.metadata.uid as string;
    const message =
      `OrgTrust "${retired}" of "${owner}" was made mutual with an earlier Organization of domain "${retired}" (uid ${retiredUid}); ` +
      `Organization "${heir}" (uid ${heirUid}) holds it now and does not inherit that trust: to trust it, delete and re-create OrgTrust "${retired}" in namespace "${O.home}"`;
    const trust = await waitForCondition(['orgtrust', retired, '-n', O.home], 'Mutual', 'False', { reason: 'PeerReplaced' });
    assert.equal(condition(trust, 'Mutual')!.message, message);
    assert.equal(trust.status.peerUid, retiredUid, 'the recorded peer stays');
    const heirs = await waitForCondition(['orgtrust', owner, '-n', `${heir}-home`], 'Mutual', 'False', { reason: 'PeerReplaced' });
    assert.equal(condition(heirs, 'Mutual')!.message, message, "the heir's side reads the same story");
    const share = await waitFor(async () => {
      const s = await getJson(['assetshare', 'pay', '-n', O.home]);
      return s?.status?.peers?.[0]?.reason === 'PeerReplaced' ? s : undefined;
    }, { what: 'the share suspended for PeerReplaced' });
    assert.equal(share.status.peers[0].state, 'Suspended');
    assert.equal(await getJson(['rolebinding', shareRbacName(share, retired), '-n', O.prod]), undefined, 'no RoleBinding for the heir');
    assert.equal(await canI('get', 'apiinstances.crossgate.dev/pay', O.prod, memberOf(heir)), false, "the heir's members cannot read the instance");
    // No key for the heir: refused at admission with the reason, and suspended by the operator when the webhook is skipped.
    const keyYaml = `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: inherited, namespace: ${heir}-prod}
spec: {apiInstanceRef: {name: pay, namespace: ${O.prod}}, tier: gold}
`;
    const key = await applyYaml(keyYaml, { ...HEIR_ADMIN, allowFail: true });
    assert.notEqual(key.code, 0, 'the key must be refused');
    assert.match(key.stderr, /admission webhook "[^"]+" denied the request/);
    assert.ok(key.stderr.includes(`cannot call ApiInstance "pay" of organization "${owner}": ${message}`), key.stderr);
    await webhook!.without(async () => {
      const r = await applyYaml(keyYaml, { ...HEIR_ADMIN, allowFail: true, serverSide: true });
      assert.equal(r.code, 0, `with the webhook skipped the write lands: ${r.stderr}`);
    });
    const suspended = await waitFor(async () => {
      const k = await getJson(['apikey', 'inherited', '-n', `${heir}-prod`]);
      return k?.status?.state === 'Suspended' ? k : undefined;
    }, { what: "the heir's key suspended by the operator" });
    assert.ok((suspended.status.conditions as { reason?: string; message?: string }[]).some((c) => c.reason === 'PeerReplaced' && c.message === message), JSON.stringify(suspended.status.conditions));
    await kubectl(['delete', 'apikey', 'inherited', '-n', `${heir}-prod`, '--wait=true'], HEIR_ADMIN);

    // The owner chooses to trust the new holder: it deletes and re-creates its OrgTrust.
    await kubectl(['delete', 'orgtrust', retired, '-n', O.home, '--wait=true']);
    await applyYaml(trustYaml(owner, retired));
    await waitForCondition(['orgtrust', retired, '-n', O.home], 'Mutual', 'True');
    await waitFor(async () => (await ownerTrust())?.status?.peerUid === heirUid || undefined, { what: 'the new holder recorded' });
    await waitForCondition(['assetshare', 'pay', '-n', O.home], 'Ready', 'True');
    await waitFor(() => canI('get', 'apiinstances.crossgate.dev/pay', O.prod, memberOf(heir)), { what: 'the heir granted once trusted anew' });
  });
});
