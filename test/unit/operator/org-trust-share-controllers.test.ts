// The Organization, OrgTrust and AssetShare controllers wired into one
// Manager over the in-memory API (memory-api.ts): each writes its status with
// server-side apply as its own field manager, owns exactly its fields, and a
// field or entry it stops setting goes; a share whose grant name another
// object holds writes neither of its objects (GrantNameTaken). The real apiserver:
// test/e2e/organization.test.ts, trust-sharing.test.ts, isolation-shares.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { ORGANIZATION_MANAGER, registerOrganizationController } from '../../../operator/controllers/organization.ts';
import { ORGTRUST_MANAGER, registerOrgTrustController } from '../../../operator/controllers/orgtrust.ts';
import { ASSETSHARE_MANAGER, registerAssetShareController } from '../../../operator/controllers/assetshare.ts';
import { shareRbacName } from '../../../model/share-grant.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn, type Obj } from './memory-api.ts';
import { delay, eventually } from './helpers.ts';

const V = 'crossgate.dev/v1alpha1';
const t0 = Date.parse('2026-01-01T00:00:00Z');
let clock = 0;
const created = () => new Date(t0 + ++clock * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const organization = (name: string, envs: Array<{ name: string; namespace: string }>, generation = 1): Obj => ({
  apiVersion: V,
  kind: 'Organization',
  metadata: { name, generation, creationTimestamp: created() },
  spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: envs.map((e) => ({ ...e, type: 'production' })), memberGroups: [`${name}-devs`] },
});
const trust = (namespace: string, peer: string): Obj => ({ apiVersion: V, kind: 'OrgTrust', metadata: { name: peer, namespace, generation: 1 }, spec: { peerDomain: peer } });

describe('Organization, OrgTrust and AssetShare controllers (in-memory API): status applies, one field manager each', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  const events: CoreV1Event[] = [];
  let mgr: Manager;
  const status = (plural: string, key: string) => api.get(plural, key)?.status as Record<string, any> | undefined;
  const condition = (plural: string, key: string, type = 'Ready') => (status(plural, key)?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === type);
  /** Every status write to `plural` was an apply by `manager`. */
  const appliedBy = (plural: string, manager: string) => {
    const writes = ownership.writes.filter((w) => w.key.startsWith(`${plural}/`));
    assert.ok(writes.length > 0, `${plural} written`);
    assert.deepEqual(writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== manager), [], `every ${plural} status write is an apply by ${manager}`);
  };

  before(async () => {
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const recorder = new EventRecorder({ client: { createNamespacedEvent: async (p) => (events.push(p.body), p.body), patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api, ownership) }), events: recorder };
    registerOrganizationController(mgr, deps);
    registerOrgTrustController(mgr, deps);
    registerAssetShareController(mgr, { ...deps, sweepIntervalMs: 60_000 });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('Organization: applied as crossgate-organization; an environment dropped from the spec leaves status.environments', async () => {
    api.upsert('organizations', organization('max', [{ name: 'prod', namespace: 'max-prod' }, { name: 'test', namespace: 'max-test' }]));
    await eventually(() => condition('organizations', 'max')?.status === 'True' && status('organizations', 'max')?.environmentCount === 2, 'max Ready with two environments');
    assert.equal(ORGANIZATION_MANAGER, 'crossgate-organization');
    appliedBy('organizations', ORGANIZATION_MANAGER);
    assert.deepEqual(ownership.owners('organizations/max'), {
      'crossgate-organization': ['conditions/Ready', 'conditions/RouteClaims', 'environmentCount', 'environments', 'observedGeneration', 'routeClaims'],
    });

    const max = api.get('organizations', 'max')!;
    api.upsert('organizations', { ...organization('max', [{ name: 'prod', namespace: 'max-prod' }], 2), metadata: { ...max.metadata, generation: 2 } });
    await eventually(() => status('organizations', 'max')?.observedGeneration === 2, 'generation 2 observed');
    assert.deepEqual(status('organizations', 'max')!.environments, [{ name: 'prod', namespace: 'max-prod', type: 'production', ready: true }]);
    assert.equal(status('organizations', 'max')!.environmentCount, 1);
  });

  test('OrgTrust and AssetShare: applied as crossgate-orgtrust and crossgate-assetshare; a peer gone takes peerOrganization and the roleBinding with it', async () => {
    api.upsert('organizations', organization('mule', [{ name: 'prod', namespace: 'mule-prod' }]));
    api.upsert('orgtrusts', trust('max-home', 'mule'));
    api.upsert('orgtrusts', trust('mule-home', 'max'));
    api.upsert('assets', { apiVersion: V, kind: 'Asset', metadata: { name: 'flights-eapi', namespace: 'max-home' }, spec: { type: 'http', title: 'Flights', version: '1.0.0' } });
    api.upsert('assetshares', { apiVersion: V, kind: 'AssetShare', metadata: { name: 'flights', namespace: 'max-home', generation: 1 }, spec: { targetRef: { kind: 'Asset', name: 'flights-eapi' }, peers: [{ domain: 'mule' }] } });

    await eventually(() => condition('orgtrusts', 'max-home/mule', 'Mutual')?.status === 'True', 'trust mutual');
    await eventually(() => status('orgtrusts', 'mule-home/max')?.sharedWithMeCount === 1, 'mule sees what max shares');
    await eventually(() => condition('assetshares', 'max-home/flights')?.reason === 'Shared', 'share active');
    assert.equal(status('orgtrusts', 'max-home/mule')!.peerOrganization, 'mule');
    const muleUid = (api.get('organizations', 'mule')!.metadata as { uid?: string }).uid;
    assert.ok(muleUid);
    assert.equal(status('orgtrusts', 'max-home/mule')!.peerUid, muleUid, 'the peer trusted is recorded when trust becomes mutual');
    const peer = (status('assetshares', 'max-home/flights')!.peers as Array<Record<string, unknown>>)[0]!;
    assert.equal(peer.state, 'Active');
    assert.match(String(peer.roleBinding), /^crossgate-share-flights-[0-9a-f]{16}$/);
    assert.ok(api.get('rolebindings', `max-home/${peer.roleBinding}`), 'the grant exists');

    assert.equal(ORGTRUST_MANAGER, 'crossgate-orgtrust');
    assert.equal(ASSETSHARE_MANAGER, 'crossgate-assetshare');
    appliedBy('orgtrusts', ORGTRUST_MANAGER);
    appliedBy('assetshares', ASSETSHARE_MANAGER);
    assert.deepEqual(ownership.owners('orgtrusts/max-home/mule'), {
      'crossgate-orgtrust': ['conditions/Mutual', 'mutual', 'observedGeneration', 'peerOrganization', 'peerUid', 'sharedWithMe', 'sharedWithMeCount'],
    });
    assert.deepEqual(ownership.owners('assetshares/max-home/flights'), { 'crossgate-assetshare': ['activePeers', 'conditions/Ready', 'observedGeneration', 'peers'] });

    // mule withdraws its trust: the share is suspended, its peer entry loses the roleBinding, the grant goes.
    api.remove('orgtrusts', 'mule-home/max');
    await eventually(() => condition('assetshares', 'max-home/flights')?.reason === 'Suspended', 'share suspended');
    const suspended = (status('assetshares', 'max-home/flights')!.peers as Array<Record<string, unknown>>)[0]!;
    assert.equal(suspended.reason, 'NotTrustedBack');
    assert.equal('roleBinding' in suspended, false);
    await eventually(() => api.get('rolebindings', `max-home/${peer.roleBinding}`) === undefined, 'grant removed');
    await eventually(() => condition('orgtrusts', 'max-home/mule', 'Mutual')?.reason === 'NotTrustedBack', 'trust no longer mutual');
    assert.equal(status('orgtrusts', 'max-home/mule')!.peerOrganization, 'mule', 'the peer still exists');

    // The peer Organization goes (its finalizer releases its namespaces first): peerOrganization, which the reconciler no longer sets, is removed.
    await api.request('DELETE', `/apis/crossgate.dev/v1alpha1/organizations/mule`);
    await eventually(() => condition('orgtrusts', 'max-home/mule', 'Mutual')?.reason === 'PeerNotFound', 'peer not found');
    await eventually(() => api.get('organizations', 'mule') === undefined, 'mule deleted once its finalizer is done');
    assert.equal(status('orgtrusts', 'max-home/mule')!.peerOrganization, undefined);
    assert.equal(status('orgtrusts', 'max-home/mule')!.mutual, false);
    assert.equal(status('orgtrusts', 'max-home/mule')!.peerUid, muleUid, 'the recorded peer outlives it: a new holder of the domain is PeerReplaced');
  });
});

describe('AssetShare: a grant name held by an object that is not the share\'s (GrantNameTaken)', () => {
  const api = new MemoryApi();
  let mgr: Manager;
  const status = (name: string) => api.get('assetshares', `max-home/${name}`)?.status as Record<string, any> | undefined;
  /** The share `name` (uid `uid-<name>`) of Asset flights-eapi with mule. */
  const share = (name: string, generation = 1): Obj => ({
    apiVersion: V,
    kind: 'AssetShare',
    metadata: { name, namespace: 'max-home', uid: `uid-${name}`, generation },
    spec: { targetRef: { kind: 'Asset', name: 'flights-eapi' }, peers: [{ domain: 'mule' }] },
  });
  const grantName = (name: string) => shareRbacName({ metadata: { name, uid: `uid-${name}` } }, 'mule');
  /** Someone's object of that name: no crossgate labels, so not in the operator's caches. */
  const foreign = (kind: 'Role' | 'RoleBinding', name: string): Obj => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name, namespace: 'max-home' },
    ...(kind === 'Role' ? { rules: [] } : { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [] }),
  });
  const posted = (plural: string, name: string) => api.writes.filter((w) => w.startsWith(`POST /apis/rbac.authorization.k8s.io/v1/namespaces/max-home/${plural}`)).length > 0 && api.get(plural, `max-home/${name}`)?.metadata.labels !== undefined;

  before(async () => {
    api.upsert('organizations', organization('max', [{ name: 'prod', namespace: 'max-prod' }]));
    api.upsert('organizations', organization('mule', [{ name: 'prod', namespace: 'mule-prod' }]));
    api.upsert('orgtrusts', trust('max-home', 'mule'));
    api.upsert('orgtrusts', trust('mule-home', 'max'));
    api.upsert('assets', { apiVersion: V, kind: 'Asset', metadata: { name: 'flights-eapi', namespace: 'max-home' }, spec: { type: 'http', title: 'Flights', version: '1.0.0' } });
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    registerAssetShareController(mgr, { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api) }), events, sweepIntervalMs: 60_000 });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('a RoleBinding of the name that is someone else\'s: Suspended, the user is told which object and what to do, and no Role is written either', async () => {
    const name = grantName('by-binding');
    api.upsert('rolebindings', foreign('RoleBinding', name));
    api.upsert('assetshares', share('by-binding'));
    await eventually(() => status('by-binding')?.conditions?.[0]?.reason === 'Suspended', 'suspended');
    const message = `RoleBinding "${name}" in namespace "max-home" already exists and does not belong to this share: nothing was granted; delete it or ask a platform admin`;
    assert.deepEqual(status('by-binding')!.conditions[0], {
      type: 'Ready', status: 'False', reason: 'Suspended', message: `mule: ${message}`, lastTransitionTime: status('by-binding')!.conditions[0].lastTransitionTime, observedGeneration: 1,
    });
    const peer = status('by-binding')!.peers[0];
    assert.equal(peer.state, 'Suspended');
    assert.equal(peer.reason, 'GrantNameTaken');
    assert.equal(peer.message, message);
    assert.equal('roleBinding' in peer, false);
    assert.equal(status('by-binding')!.activePeers, 0);
    // Checked before anything was written: no Role beside the other's RoleBinding, which is left as it was.
    assert.equal(api.get('roles', `max-home/${name}`), undefined, 'no Role written');
    assert.deepEqual(api.writes.filter((w) => w.includes(name) || w.endsWith('/roles') || w.endsWith('/rolebindings')), []);
    assert.deepEqual(api.get('rolebindings', `max-home/${name}`)!.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' });
    // Looked up with a list by name: the operator may list Roles and RoleBindings, not get them (api/rbac.ts).
    assert.deepEqual(api.reads.filter((r) => r.startsWith('roles ') || r.startsWith('rolebindings ')), []);

    // Once the name is free, the next reconcile (here: a spec edit) grants.
    api.remove('rolebindings', `max-home/${name}`);
    const current = api.get('assetshares', 'max-home/by-binding')!;
    api.upsert('assetshares', { ...share('by-binding', 2), metadata: { ...current.metadata, generation: 2 } });
    await eventually(() => status('by-binding')?.peers?.[0]?.state === 'Active', 'active once the name is free');
    assert.ok(posted('roles', name) && posted('rolebindings', name), 'both written');
  });

  test('a Role of the name that is someone else\'s: Suspended naming the Role, and no RoleBinding is written', async () => {
    const name = grantName('by-role');
    api.upsert('roles', foreign('Role', name));
    api.upsert('assetshares', share('by-role'));
    await eventually(() => status('by-role')?.peers?.[0]?.reason === 'GrantNameTaken', 'GrantNameTaken');
    assert.equal(
      status('by-role')!.peers[0].message,
      `Role "${name}" in namespace "max-home" already exists and does not belong to this share: nothing was granted; delete it or ask a platform admin`,
    );
    assert.equal(api.get('rolebindings', `max-home/${name}`), undefined, 'no RoleBinding written');
    assert.deepEqual(api.get('roles', `max-home/${name}`)!.rules, [], 'the other\'s Role is left as it was');
  });
});

describe('OrgTrust: sharedWithMe follows a shared target appearing and going (no share status change needed)', () => {
  // Only the OrgTrust controller runs: no AssetShare reconciler whose status change would wake the trust, so what
  // moves sharedWithMe here is the trust's own watch of the share's target (ApiGroup, ApiInstance).
  const api = new MemoryApi();
  let mgr: Manager;
  const shared = () => (api.get('orgtrusts', 'mule-home/max')?.status as { sharedWithMe?: Array<Record<string, string>> } | undefined)?.sharedWithMe;
  const names = () => (shared() ?? []).map((e) => `${e.kind} ${e.namespace}/${e.name}`);
  const groupShare = (name: string, targetRef: Record<string, string>): Obj => ({ apiVersion: V, kind: 'AssetShare', metadata: { name, namespace: 'max-home', generation: 1 }, spec: { targetRef, peers: [{ domain: 'mule' }] } });

  before(async () => {
    api.upsert('organizations', organization('max', [{ name: 'prod', namespace: 'max-prod' }]));
    api.upsert('organizations', organization('mule', [{ name: 'prod', namespace: 'mule-prod' }]));
    api.upsert('orgtrusts', trust('max-home', 'mule'));
    api.upsert('orgtrusts', trust('mule-home', 'max'));
    // Shared before their targets exist: listed once they do.
    api.upsert('assetshares', groupShare('travel', { kind: 'ApiGroup', name: 'travel' }));
    api.upsert('assetshares', groupShare('flights', { kind: 'ApiInstance', name: 'flights', namespace: 'max-prod' }));
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    registerOrgTrustController(mgr, { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api) }), events });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('an ApiGroup (and an ApiInstance) created after its share appears in the peer\'s sharedWithMe, and leaves it when deleted', async () => {
    await eventually(() => condition('mule-home/max')?.status === 'True' && shared() !== undefined, 'trust mutual, status written');
    assert.deepEqual(names(), [], 'nothing listed while the targets do not exist');
    await delay(200); // the trust's own status writes settle: nothing else wakes it

    api.upsert('apigroups', { apiVersion: V, kind: 'ApiGroup', metadata: { name: 'travel', namespace: 'max-home', generation: 1 }, spec: { instances: [{ namespace: 'max-prod', name: 'flights' }] } });
    await eventually(() => names().includes('ApiGroup max-home/travel'), 'the group listed once it exists');
    assert.deepEqual(shared(), [{ kind: 'ApiGroup', namespace: 'max-home', name: 'travel', access: 'view', share: 'travel' }]);
    assert.equal((api.get('orgtrusts', 'mule-home/max')!.status as { sharedWithMeCount: number }).sharedWithMeCount, 1);

    api.upsert('apiinstances', { apiVersion: V, kind: 'ApiInstance', metadata: { name: 'flights', namespace: 'max-prod', generation: 1 }, spec: { assetRef: { name: 'flights-eapi' }, basePath: '/flights', upstream: { url: 'http://flights:8080' } } });
    await eventually(() => names().length === 2, 'the instance listed once it exists');
    assert.deepEqual(names(), ['ApiGroup max-home/travel', 'ApiInstance max-prod/flights']);

    api.remove('apigroups', 'max-home/travel');
    await eventually(() => !names().includes('ApiGroup max-home/travel'), 'the group gone from sharedWithMe');
    assert.deepEqual(names(), ['ApiInstance max-prod/flights']);
    // The trust in the other direction lists nothing: mule shares nothing with max.
    assert.deepEqual((api.get('orgtrusts', 'max-home/mule')!.status as { sharedWithMe: unknown[] }).sharedWithMe, []);
  });

  const condition = (key: string) => ((api.get('orgtrusts', key)?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).find((c) => c.type === 'Mutual');
});
