// The seed story as files: two organizations, two-way trust, the Flights EAPI
// shared view-only, guarded by the real admission webhook and judged by the
// real RBAC authorizer; withdrawal and restoration within seconds.
import { shareRbacName } from '../../model/share-grant.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ROOT, applyYaml, applyUntilAdmitted, canI, condition, getJson, kubectl, startOperator, startWebhook, uniqueName, waitFor, waitForCondition,
  type RunningOperator, type RunningWebhookProcess,
} from './support/index.ts';

const ex = (...p: string[]) => join(ROOT, 'examples', ...p);
const muleMember = { as: 'mona', groups: ['mule-united:members'] };
const maxMember = { as: 'max', groups: ['max-airlines:members'] };

async function refusedWith(yamlOrFile: string, pattern: RegExp, opts: { as?: string; groups?: string[] } = {}): Promise<void> {
  const r = await applyYaml(yamlOrFile, { ...opts, allowFail: true });
  assert.notEqual(r.code, 0, `expected a refusal, got: ${r.stdout}`);
  assert.match(r.stderr, /admission webhook "[^"]+" denied the request/);
  assert.match(r.stderr, pattern);
}

describe('trust and view-only sharing (examples/)', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;

  before(async () => {
    webhook = await startWebhook();
    op = await startOperator();
  });
  after(async () => {
    await kubectl(['delete', '-f', ex('max-airlines'), '-f', ex('mule-united'), '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('organizations become Ready', async () => {
    await applyYaml(ex('max-airlines', '00-organization.yaml'));
    await applyYaml(ex('mule-united', '00-organization.yaml'));
    await waitForCondition(['organization', 'max-airlines'], 'Ready', 'True');
    await waitForCondition(['organization', 'mule-united'], 'Ready', 'True');
  });

  test('one-sided trust is not mutual, and says who must act', async () => {
    await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
    const t = await waitForCondition(['orgtrust', 'mule-united', '-n', 'max-airlines'], 'Mutual', 'False', { reason: 'NotTrustedBack' });
    assert.equal(condition(t, 'Mutual')!.message, '"mule-united" has not declared trust in "max-airlines": it needs OrgTrust "max-airlines" in its namespace "mule-united"');
  });

  test('a share toward a peer without mutual trust is refused at admission, naming the missing OrgTrust', async () => {
    await applyYaml(ex('max-airlines', '20-asset-flights-eapi.yaml'));
    await refusedWith(ex('max-airlines', '30-assetshare-flights-eapi.yaml'), /OrgTrust "max-airlines" in namespace "mule-united" \(organization mule-united\) does not exist/);
  });

  test('trust declared back: Mutual on both sides, and the share is accepted', async () => {
    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await waitForCondition(['orgtrust', 'mule-united', '-n', 'max-airlines'], 'Mutual', 'True');
    await waitForCondition(['orgtrust', 'max-airlines', '-n', 'mule-united'], 'Mutual', 'True');
    // The GitOps retry: the same file now passes admission.
    await applyUntilAdmitted(ex('max-airlines', '30-assetshare-flights-eapi.yaml'), { what: 'the share to be admitted once trust is mutual', timeoutMs: 15_000 });
    const share = await waitForCondition(['assetshare', 'flights-eapi', '-n', 'max-airlines'], 'Ready', 'True');
    assert.equal(share.status.activePeers, 1);
    assert.equal(share.status.peers[0].domain, 'mule-united');
    assert.equal(share.status.peers[0].state, 'Active');
    assert.equal(share.status.peers[0].roleBinding, shareRbacName(share, 'mule-united'));
    assert.match(share.status.peers[0].roleBinding, /^crossgate-share-flights-eapi-[0-9a-f]{16}$/);
  });

  test("the peer's members can get the shared asset, never change or delete it, and see nothing else", async () => {
    await waitFor(() => canI('get', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember), { what: 'peer member can get the asset' });
    const got = await kubectl(['get', 'asset', 'flights-eapi', '-n', 'max-airlines', '-o', 'jsonpath={.spec.title}'], muleMember);
    assert.equal(got.stdout, 'Flights EAPI');
    assert.equal(await canI('update', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember), false);
    assert.equal(await canI('patch', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember), false);
    assert.equal(await canI('delete', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember), false);
    assert.equal(await canI('get', 'assets.crossgate.dev/another-asset', 'max-airlines', muleMember), false);
    assert.equal(await canI('get', 'orgtrusts.crossgate.dev', 'max-airlines', muleMember), false);
    const del = await kubectl(['delete', 'asset', 'flights-eapi', '-n', 'max-airlines'], { ...muleMember, allowFail: true });
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /forbidden/);
  });

  test('"shared with me" is listed on the receiving side', async () => {
    const t = await waitFor(async () => {
      const obj = await getJson(['orgtrust', 'max-airlines', '-n', 'mule-united']);
      return obj?.status?.sharedWithMeCount === 1 ? obj : undefined;
    }, { what: 'sharedWithMe on mule-united' });
    assert.deepEqual(t.status.sharedWithMe, [{ kind: 'Asset', namespace: 'max-airlines', name: 'flights-eapi', access: 'view', share: 'flights-eapi' }]);
    // Mule United's own members can read their OrgTrust and so see it.
    const table = (await kubectl(['get', 'orgtrust', '-n', 'mule-united'], muleMember)).stdout;
    assert.match(table, /PEER\s+MUTUAL\s+SHARED WITH ME/);
    assert.match(table, /max-airlines\s+max-airlines\s+True\s+1/);
  });

  test('admission refuses edit grants, self-trust, orphan objects, claimed namespaces and speaking for another organization', async () => {
    const edit = `apiVersion: crossgate.dev/v1alpha1
kind: AssetShare
metadata: {name: flights-eapi, namespace: max-airlines}
spec:
  targetRef: {kind: Asset, name: flights-eapi}
  peers: [{domain: mule-united, access: edit}]
`;
    await refusedWith(edit, /cross-organization grants are view-only/);
    await refusedWith(
      `apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: max-airlines, namespace: max-airlines}
spec: {peerDomain: max-airlines}
`,
      /own domain/,
    );
    const orphanNs = uniqueName('orphan');
    await kubectl(['create', 'namespace', orphanNs]);
    await refusedWith(
      `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: stray, namespace: ${orphanNs}}
spec: {type: http, title: Stray, version: 1.0.0}
`,
      new RegExp(`namespace "${orphanNs}" belongs to no Organization`),
    );
    await refusedWith(
      `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${uniqueName('squatter')}}
spec: {domain: squatter, displayName: Squatter, homeNamespace: squatter-home, environments: [{name: prod, namespace: max-airlines-prod}]}
`,
      /namespace "max-airlines-prod" .*Organization "max-airlines"/,
    );
    await refusedWith(
      `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${uniqueName('copycat')}}
spec: {domain: max-airlines, displayName: Copycat, homeNamespace: copycat-home, environments: [{name: prod, namespace: copycat-prod}]}
`,
      /domain "max-airlines" .*Organization "max-airlines"/,
    );
    await refusedWith(
      `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: impostor, namespace: mule-united, labels: {crossgate.dev/organization: max-airlines}}
spec: {type: http, title: Impostor, version: 1.0.0}
`,
      /max-airlines/,
    );
    await kubectl(['delete', 'namespace', orphanNs, '--wait=false']);
  });

  test('withdrawal: deleting either side\'s trust suspends the share within 5 s; declaring it again restores it', async () => {
    const stillCan = () => canI('get', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember);
    assert.equal(await stillCan(), true);

    const started = Date.now();
    await kubectl(['delete', '-f', ex('mule-united', '10-orgtrust-max-airlines.yaml')]);
    await waitFor(async () => (await stillCan()) === false, { timeoutMs: 5_000, intervalMs: 100, what: 'access withdrawn within 5 s' });
    const share = await waitForCondition(['assetshare', 'flights-eapi', '-n', 'max-airlines'], 'Ready', 'False', { timeoutMs: 5_000 });
    assert.ok(Date.now() - started < 5_000 + 1_000);
    assert.equal(share.status.peers[0].state, 'Suspended');
    assert.equal(share.status.peers[0].reason, 'NotTrustedBack');
    assert.equal(await getJson(['rolebinding', shareRbacName(share, 'mule-united'), '-n', 'max-airlines']), undefined);
    await waitForCondition(['orgtrust', 'mule-united', '-n', 'max-airlines'], 'Mutual', 'False', { timeoutMs: 5_000 });
    // Nothing else lost: the asset and the share are still there.
    assert.ok(await getJson(['asset', 'flights-eapi', '-n', 'max-airlines']));

    await applyYaml(ex('mule-united', '10-orgtrust-max-airlines.yaml'));
    await waitFor(stillCan, { timeoutMs: 5_000, intervalMs: 100, what: 'access restored within 5 s' });
    await waitForCondition(['assetshare', 'flights-eapi', '-n', 'max-airlines'], 'Ready', 'True', { timeoutMs: 5_000 });

    // The owner side withdrawing works the same way.
    await kubectl(['delete', '-f', ex('max-airlines', '10-orgtrust-mule-united.yaml')]);
    await waitFor(async () => (await stillCan()) === false, { timeoutMs: 5_000, intervalMs: 100, what: 'access withdrawn by the owner within 5 s' });
    const s2 = await waitForCondition(['assetshare', 'flights-eapi', '-n', 'max-airlines'], 'Ready', 'False', { timeoutMs: 5_000 });
    assert.equal(s2.status.peers[0].reason, 'NotTrusted');
    await applyYaml(ex('max-airlines', '10-orgtrust-mule-united.yaml'));
    await waitFor(stillCan, { timeoutMs: 5_000, intervalMs: 100, what: 'access restored within 5 s' });
  });

  test('deleting the share removes its grants', async () => {
    const share = await getJson(['assetshare', 'flights-eapi', '-n', 'max-airlines']);
    assert.ok(await getJson(['role', shareRbacName(share, 'mule-united'), '-n', 'max-airlines']), 'the grant exists before');
    await kubectl(['delete', '-f', ex('max-airlines', '30-assetshare-flights-eapi.yaml'), '--timeout=30s']);
    await waitFor(async () => (await canI('get', 'assets.crossgate.dev/flights-eapi', 'max-airlines', muleMember)) === false, { what: 'grant removed' });
    assert.equal(await getJson(['role', shareRbacName(share, 'mule-united'), '-n', 'max-airlines']), undefined);
    // The owner's own members keep reading their asset.
    assert.equal(await canI('get', 'assets.crossgate.dev/flights-eapi', 'max-airlines', maxMember), true);
  });
});
