// model/trust.ts: mutual trust (both OrgTrusts, none being deleted) with the
// message each missing side gets and the gaps the webhook names; the property
// that it is symmetric and needs exactly the two live OrgTrusts; and which
// access reasons mean trust is gone (refused at admission, suspended later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { accessPair, mutualTrust, trustGone, trustPairs } from '../../../model/trust.ts';
import type { Organization, OrgTrust } from '../../../api/v1alpha1/index.ts';

const org = (name: string, t: string): Organization =>
  ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Organization',
    metadata: { name, uid: `uid-${name}`, creationTimestamp: t as unknown as Date },
    spec: { domain: name, displayName: name, homeNamespace: name, environments: [{ name: 'prod', namespace: `${name}-prod` }], memberGroups: [`${name}:members`] },
  }) as Organization;
const trust = (ns: string, peer: string, deleting = false): OrgTrust =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: peer, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { peerDomain: peer } }) as OrgTrust;

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
  for (const reason of ['NotTrusted', 'NotTrustedBack', 'NotShared']) assert.equal(trustGone({ ok: false, reason }), true, reason);
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
