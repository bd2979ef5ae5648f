// model/trust.ts: mutual trust (both OrgTrusts, none being deleted) with the
// message each missing side gets and the gaps the webhook names; the property
// that it is symmetric and needs exactly the two live OrgTrusts; and which
// access reasons mean trust is gone (refused at admission, suspended later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { accessPair, mutualTrust, trustGone, trustPairs } from '../../../model/trust.ts';
import { accessToInstance } from '../../../model/access.ts';
import type { ApiInstance, AssetShare, Organization, OrgTrust } from '../../../api/v1alpha1/index.ts';

const org = (name: string, t: string): Organization =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: t as unknown as Date },
    spec: { domain: name, displayName: name, homeNamespace: name, environments: [{ name: 'prod', namespace: `${name}-prod` }], memberGroups: [`${name}:members`] },
  }) as Organization;
const trust = (ns: string, peer: string, deleting = false): OrgTrust =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: peer, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { peerDomain: peer } }) as OrgTrust;

/** ApiInstance "pay" in `namespace`, and an AssetShare `name` of it in `home` with `peer`. */
const payIn = (namespace: string): ApiInstance =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'pay', namespace }, spec: {} }) as unknown as ApiInstance;
const shareOfPay = (name: string, home: string, namespace: string, peer: string): AssetShare =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'AssetShare',
    metadata: { name, namespace: home },
    spec: { targetRef: { kind: 'ApiInstance', name: 'pay', namespace }, peers: [{ domain: peer }] },
  }) as unknown as AssetShare;

const max = org('max-airlines', '2026-01-01T00:00:00Z');
const mule = org('mule-united', '2026-01-02T00:00:00Z');

test('mutual trust needs both OrgTrusts; each missing side is named with what to create', () => {
  const none = snapshotFrom({ organizations: [max, mule] });
  assert.deepEqual(mutualTrust(none, max, 'mule-united'), {
    ok: false,
    reason: 'NotTrusted',
    message: '"max-airlines" does not trust "mule-united": create OrgTrust "mule-united" in namespace "max-airlines"',
    gaps: [
      { side: 'own', organization: 'max-airlines', namespace: 'max-airlines', peerDomain: 'mule-united', state: 'does not exist' },
      { side: 'peer', organization: 'mule-united', namespace: 'mule-united', peerDomain: 'max-airlines', state: 'does not exist' },
    ],
  });
  const oneSided = snapshotFrom({ organizations: [max, mule], orgTrusts: [trust('max-airlines', 'mule-united')] });
  const v = mutualTrust(oneSided, max, 'mule-united');
  assert.equal(v.reason, 'NotTrustedBack');
  assert.equal(v.peer, mule);
  assert.equal(v.message, '"mule-united" has not declared trust in "max-airlines": it needs OrgTrust "max-airlines" in its namespace "mule-united"');
  const both = snapshotFrom({ organizations: [max, mule], orgTrusts: [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines')] });
  assert.deepEqual(mutualTrust(both, max, 'mule-united'), { ok: true, peer: mule, reason: 'Mutual', message: '"max-airlines" and "mule-united" trust each other', gaps: [] });
  const unknown = snapshotFrom({ organizations: [max], orgTrusts: [trust('max-airlines', 'nobody')] });
  const nobody = mutualTrust(unknown, max, 'nobody');
  assert.equal(nobody.reason, 'PeerNotFound');
  assert.equal(nobody.message, 'no Organization has domain "nobody"; trust becomes mutual once it exists and trusts "max-airlines" back');
  const leaving = snapshotFrom({ organizations: [max, mule], orgTrusts: [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines', true)] });
  const gone = mutualTrust(leaving, max, 'mule-united');
  assert.equal(gone.ok, false, 'a trust being deleted no longer counts');
  assert.deepEqual(gone.gaps, [{ side: 'peer', organization: 'mule-united', namespace: 'mule-united', peerDomain: 'max-airlines', state: 'is being deleted' }]);
});

test('the peer may be given as an Organization: the one that owns the namespace, not the older holder of its domain', () => {
  const twin = { ...org('twin', '2025-01-01T00:00:00Z'), spec: { ...mule.spec, homeNamespace: 'twin' } } as Organization;
  const s = snapshotFrom({ organizations: [max, mule, twin], orgTrusts: [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines')] });
  assert.equal(mutualTrust(s, max, mule).ok, true);
  assert.equal(mutualTrust(s, max, 'mule-united').reason, 'NotTrustedBack', 'by domain, the older Organization holds it, and it trusts nobody');
});

test('property: trust is mutual exactly when both OrgTrusts exist and neither is being deleted, whichever side asks', () => {
  const side = fc.constantFrom('absent', 'live', 'deleting');
  fc.assert(
    fc.property(side, side, (a, b) => {
      const trusts = [
        ...(a === 'absent' ? [] : [trust('max-airlines', 'mule-united', a === 'deleting')]),
        ...(b === 'absent' ? [] : [trust('mule-united', 'max-airlines', b === 'deleting')]),
      ];
      const s = snapshotFrom({ organizations: [max, mule], orgTrusts: trusts });
      const fromMax = mutualTrust(s, max, 'mule-united');
      const fromMule = mutualTrust(s, mule, max);
      assert.equal(fromMax.ok, a === 'live' && b === 'live');
      assert.equal(fromMule.ok, fromMax.ok);
      assert.equal(fromMax.gaps.length, Number(a !== 'live') + Number(b !== 'live'));
      assert.equal(fromMax.ok, fromMax.reason === 'Mutual');
    }),
  );
});

test('trust is gone when access failed for trust or the share, not when something is still missing', () => {
  for (const reason of ['NotTrusted', 'NotTrustedBack', 'NotShared', 'PeerReplaced']) assert.equal(trustGone({ ok: false, reason }), true, reason);
  for (const reason of ['InstanceNotFound', 'NoOrganization', 'PeerNotFound']) assert.equal(trustGone({ ok: false, reason }), false, reason);
  assert.equal(trustGone({ ok: true, reason: 'Accessible' }), false);
});

test('an OrgTrust can change access only between its two organizations, both ways; one outside a home namespace or toward no Organization, none', () => {
  const evil = org('evil', '2026-01-03T00:00:00Z');
  const snap = snapshotFrom({ organizations: [max, mule, evil] });
  const pairs = new Set(trustPairs(snap, trust('max-airlines', 'mule-united')));
  for (const [a, b] of [['max-airlines', 'mule-united'], ['max-airlines-prod', 'mule-united-prod'], ['max-airlines', 'mule-united-prod'], ['max-airlines-prod', 'mule-united']]) {
    assert.ok(pairs.has(accessPair(a, b)) && pairs.has(accessPair(b, a)), `${a} <-> ${b}`);
  }
  assert.equal(pairs.size, 8);
  assert.ok(![...pairs].some((p) => p.includes('evil')), "another organization's consumers are not touched");
  assert.deepEqual(trustPairs(snap, trust('evil', 'nobody')), [], 'a peer that is no Organization');
  assert.deepEqual(trustPairs(snap, trust('evil-prod', 'max-airlines')), [], 'an OrgTrust outside a home namespace counts for nothing (trustOf reads the home namespace)');
  assert.deepEqual(trustPairs(snap, trust('nowhere', 'max-airlines')), []);
});

test("attacker: an older organization's admin cannot write trust and shares for a newer Organization whose home namespace is its own", () => {
  // A race at creation (or the webhook skipped) gave "victim" the attacker's home namespace as its own home.
  const attacker = org('attacker', '2026-01-01T00:00:00Z');
  const victim = { ...org('victim', '2026-01-03T00:00:00Z'), spec: { ...org('victim', '').spec, homeNamespace: 'attacker' } } as Organization;
  const pay = payIn('victim-prod');
  // Written by the attacker's admin in its own home (the webhook skipped): "victim trusts attacker" and "victim shares pay with attacker".
  const share = shareOfPay('steal', 'attacker', 'victim-prod', 'attacker');
  const s = snapshotFrom({ organizations: [attacker, victim], orgTrusts: [trust('attacker', 'victim'), trust('attacker', 'attacker')], apiInstances: [pay], assetShares: [share] });
  const access = accessToInstance(s, 'attacker-prod', { name: 'pay', namespace: 'victim-prod' });
  assert.equal(access.ok, false, "the attacker's key must not reach the victim's instance");
  assert.equal(access.reason, 'NotTrustedBack');
  assert.equal(
    access.message,
    'Organization "victim" trusts nobody: its home namespace "attacker" belongs to Organization "attacker", so no OrgTrust there is its own (a platform admin must give it a home namespace of its own)',
  );
  const fromVictim = mutualTrust(s, victim, 'attacker');
  assert.equal(fromVictim.reason, 'NotTrusted');
  assert.deepEqual(fromVictim.gaps[0], { side: 'own', organization: 'victim', namespace: 'attacker', peerDomain: 'attacker', state: 'cannot count', homeOwner: 'attacker' });
  // The attacker's own trust in its own home still counts.
  assert.equal(mutualTrust(s, attacker, 'victim').gaps.filter((g) => g.side === 'own').length, 0);
});

test('attacker: a new holder of a retired domain does not inherit trust made mutual with the old one (PeerReplaced), both ways', () => {
  // max-airlines made trust mutual with mule-united (uid-mule-united, recorded); mule-united was deleted and its domain given to a new tenant.
  const recorded = (ns: string, peer: string, peerUid: string): OrgTrust => ({ ...trust(ns, peer), status: { peerUid } }) as OrgTrust;
  const newMule = { ...mule, metadata: { ...mule.metadata, name: 'mule-2', uid: 'uid-mule-2' } } as Organization;
  const s = snapshotFrom({ organizations: [max, newMule], orgTrusts: [recorded('max-airlines', 'mule-united', 'uid-mule-united'), trust('mule-united', 'max-airlines')] });
  const v = mutualTrust(s, max, 'mule-united');
  assert.equal(v.ok, false, 'declaring trust back is not enough');
  assert.equal(v.reason, 'PeerReplaced');
  assert.deepEqual(v.gaps, []);
  assert.equal(
    v.message,
    'OrgTrust "mule-united" of "max-airlines" was made mutual with an earlier Organization of domain "mule-united" (uid uid-mule-united); ' +
      'Organization "mule-2" (uid uid-mule-2) holds it now and does not inherit that trust: to trust it, delete and re-create OrgTrust "mule-united" in namespace "max-airlines"',
  );
  // The new holder asking gets the same verdict: trust is symmetric.
  const back = mutualTrust(s, newMule, max);
  assert.equal(back.reason, 'PeerReplaced');
  assert.equal(back.message, v.message);
  assert.equal(trustGone(back), true, 'its keys and Contracts are refused or suspended');
  // Its key toward a shared instance is refused for that reason.
  const withShare = snapshotFrom({
    organizations: [max, newMule],
    orgTrusts: [recorded('max-airlines', 'mule-united', 'uid-mule-united'), trust('mule-united', 'max-airlines')],
    apiInstances: [payIn('max-airlines-prod')],
    assetShares: [shareOfPay('pay', 'max-airlines', 'max-airlines-prod', 'mule-united')],
  });
  assert.equal(accessToInstance(withShare, 'mule-united-prod', { name: 'pay', namespace: 'max-airlines-prod' }).reason, 'PeerReplaced');
  // The old holder itself, and an OrgTrust re-created (nothing recorded yet), are mutual.
  const same = snapshotFrom({ organizations: [max, mule], orgTrusts: [recorded('max-airlines', 'mule-united', 'uid-mule-united'), recorded('mule-united', 'max-airlines', 'uid-max-airlines')] });
  assert.equal(mutualTrust(same, max, 'mule-united').ok, true);
  const recreated = snapshotFrom({ organizations: [max, newMule], orgTrusts: [trust('max-airlines', 'mule-united'), trust('mule-united', 'max-airlines')] });
  assert.equal(mutualTrust(recreated, max, 'mule-united').ok, true);
  // The replaced side may be either: the peer's OrgTrust recorded another holder of max-airlines' domain.
  const newMax = { ...max, metadata: { ...max.metadata, name: 'max-2', uid: 'uid-max-2' } } as Organization;
  const other = snapshotFrom({ organizations: [newMax, mule], orgTrusts: [trust('max-airlines', 'mule-united'), recorded('mule-united', 'max-airlines', 'uid-max-airlines')] });
  const fromNewMax = mutualTrust(other, newMax, 'mule-united');
  assert.equal(fromNewMax.reason, 'PeerReplaced');
  assert.match(fromNewMax.message, /^OrgTrust "max-airlines" of "mule-united" was made mutual with an earlier Organization .* delete and re-create OrgTrust "max-airlines" in namespace "mule-united"$/);
});
