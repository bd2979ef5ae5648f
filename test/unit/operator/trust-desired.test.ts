import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotFrom } from '../../../model/snapshot.ts';
import type { AssetShare, Organization, OrgTrust } from '../../../api/v1alpha1/index.ts';
import { shareRbacName } from '../../../model/share-grant.ts';
import { desiredShareRbac, peerState, sharedWith, affectedByTrust } from '../../../operator/controllers/trust-desired.ts';

const org = (name: string, t: string, groups: string[] = [`${name}:members`]): Organization =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: t as unknown as Date },
    spec: { domain: name, displayName: name, homeNamespace: name, environments: [{ name: 'prod', namespace: `${name}-prod` }], memberGroups: groups },
  }) as Organization;
const trust = (ns: string, peer: string, deleting = false): OrgTrust =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: peer, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { peerDomain: peer } }) as OrgTrust;
const share = (ns: string, target: string, peers: Array<{ domain: string; access?: 'view' | 'edit' }>): AssetShare =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'AssetShare', metadata: { name: target, namespace: ns, uid: 'share-uid' }, spec: { targetRef: { kind: 'Asset', name: target }, peers } }) as AssetShare;
const asset = (ns: string, name: string) => ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name, namespace: ns }, spec: { type: 'http', title: name, version: '1.0.0' } }) as never;

const max = org('max-airlines', '2026-01-01T00:00:00Z');
const mule = org('mule-united', '2026-01-02T00:00:00Z');

// Mutual trust itself: test/unit/model/trust.test.ts.

test('peer state: Active only with mutual trust, view access and an existing target', () => {
  const trusts = [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines')];
  const s = share('max-airlines', 'flights', [{ domain: 'mule-united' }]);
  const snap = snapshotFrom({ organizations: [max, mule], orgTrusts: trusts, assets: [asset('max-airlines', 'flights')], assetShares: [s] });
  assert.equal(peerState(snap, max, s, { domain: 'mule-united' }).state, 'Active');
  assert.equal(peerState(snap, max, s, { domain: 'mule-united', access: 'edit' }).reason, 'AccessNotAllowed');
  const noTarget = snapshotFrom({ organizations: [max, mule], orgTrusts: trusts });
  assert.deepEqual(
    { ...peerState(noTarget, max, s, { domain: 'mule-united' }) },
    { domain: 'mule-united', state: 'Suspended', reason: 'TargetNotFound', message: 'Asset "flights" does not exist in namespace "max-airlines"' },
  );
  assert.equal(peerState(snapshotFrom({ organizations: [max, mule], orgTrusts: [trusts[0]!], assets: [asset('max-airlines', 'flights')] }), max, s, { domain: 'mule-united' }).reason, 'NotTrustedBack');
});

test('sharedWith lists what the peer shares view-only, only while trust is mutual', () => {
  const trusts = [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines')];
  const shares = [share('max-airlines', 'flights', [{ domain: 'mule-united' }]), share('max-airlines', 'secret', [{ domain: 'someone' }])];
  const assets = [asset('max-airlines', 'flights'), asset('max-airlines', 'secret')];
  const snap = snapshotFrom({ organizations: [max, mule], orgTrusts: trusts, assetShares: shares, assets });
  assert.deepEqual(sharedWith(snap, mule, max), [{ kind: 'Asset', namespace: 'max-airlines', name: 'flights', access: 'view', share: 'flights' }]);
  assert.deepEqual(sharedWith(snapshotFrom({ organizations: [max, mule], orgTrusts: [trusts[0]!], assetShares: shares, assets }), mule, max), []);
});

test('share RBAC: get/list/watch on exactly the shared object, bound to the peer member groups', () => {
  const s = share('max-airlines', 'flights', [{ domain: 'mule-united' }]);
  const { role, binding } = desiredShareRbac(s, mule);
  assert.deepEqual(role.rules, [{ apiGroups: ['crossgate.dev'], resources: ['assets'], resourceNames: ['flights'], verbs: ['get', 'list', 'watch'] }]);
  assert.equal(role.metadata!.namespace, 'max-airlines');
  assert.deepEqual(binding.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'mule-united:members' }]);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: shareRbacName(s, 'mule-united') });
  assert.match(role.metadata!.name!, /^crossgate-share-flights-[0-9a-f]{16}$/);
  assert.equal(role.metadata!.ownerReferences![0]!.kind, 'AssetShare');
});

test('a share of an ApiGroup: its Role covers the group object only, none of its members', () => {
  const base = share('max-airlines', 'travel', [{ domain: 'mule-united' }]);
  const s = { ...base, spec: { ...base.spec, targetRef: { kind: 'ApiGroup', name: 'travel' } } } as AssetShare;
  const { role } = desiredShareRbac(s, mule);
  assert.deepEqual(role.rules, [{ apiGroups: ['crossgate.dev'], resources: ['apigroups'], resourceNames: ['travel'], verbs: ['get', 'list', 'watch'] }]);
  assert.equal(role.metadata!.namespace, 'max-airlines');
});

test('a trust change revisits shares in both directions and the reverse trust', () => {
  const shares = [share('max-airlines', 'flights', [{ domain: 'mule-united' }]), share('mule-united', 'gates', [{ domain: 'max-airlines' }])];
  const snap = snapshotFrom({ organizations: [max, mule], assetShares: shares });
  assert.deepEqual(affectedByTrust(snap, trust('mule-united', 'max-airlines')), {
    shares: ['mule-united/gates', 'max-airlines/flights'],
    trusts: ['max-airlines/mule-united'],
  });
});
