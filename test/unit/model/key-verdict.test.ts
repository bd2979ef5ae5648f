// model/key-verdict.ts: each state a key can be in, with the message its owner
// reads; a key is served only when approved on a Contract opened for it and its
// tier is a tier of its instance; and the property that no failing condition
// ever lets a key through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccessEntry, ApiKey, Application, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { accessVerdict, contractServes, contractTargets, entryConsumer, keyConsumer, keyTierFound, keyVerdict, tierFoundFor } from '../../../model/key-verdict.ts';

const now = new Date('2026-01-01T00:00:00Z');
const key = (spec: Record<string, unknown> = {}, uid = 'u1') =>
  ({ metadata: { name: 'gate', namespace: 'mule-prod', uid }, spec: { apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold', ...spec } }) as unknown as ApiKey;
const allowed = { ok: true, reason: 'Accessible', message: '', instanceNamespace: 'max-prod', crossOrganization: true } as Access;
const denied = (reason: string, message: string) => ({ ...allowed, ok: false, reason, message }) as Access;
const contract = (decision: string, uid: string | null = 'u1') =>
  ({ metadata: { name: 'mule-prod.gate', namespace: 'max-prod', labels: uid ? { 'crossgate.dev/consumer-uid': uid } : {} }, spec: { apiInstanceRef: { name: 'flights' }, decision, tier: 'gold' } }) as unknown as Contract;

test('each state, with the reason and the message its owner reads', () => {
  const cases: Array<[ReturnType<typeof keyVerdict>, string, string, string]> = [
    [keyVerdict(key({ revoked: true }), allowed, contract('Approved'), true, now), 'Revoked', 'RevokedByConsumer', 'the key was revoked (spec.revoked)'],
    [keyVerdict(key({ expiresAt: '2025-12-31T00:00:00Z' }), allowed, contract('Approved'), true, now), 'Expired', 'Expired', 'the key expired at 2025-12-31T00:00:00Z'],
    [keyVerdict(key(), denied('NotShared', 'not shared'), contract('Approved'), true, now), 'Suspended', 'NotShared', 'not shared'],
    [keyVerdict(key(), denied('InstanceNotFound', 'no instance'), undefined, true, now), 'Pending', 'InstanceNotFound', 'no instance'],
    [keyVerdict(key(), allowed, contract('Approved'), false, now), 'Pending', 'TierNotFound', 'SlaTier "gold" of ApiInstance "flights" does not exist in namespace "max-prod"'],
    [keyVerdict(key(), allowed, undefined, true, now), 'Pending', 'ContractPending', 'the Contract is being created'],
    [keyVerdict(key(), allowed, contract('Rejected'), true, now), 'Rejected', 'RejectedByOwner', 'the API owner rejected Contract "mule-prod.gate" in namespace "max-prod"'],
    [keyVerdict(key(), allowed, contract('Revoked'), true, now), 'Revoked', 'RevokedByOwner', 'the API owner revoked Contract "mule-prod.gate" in namespace "max-prod"'],
    [keyVerdict(key(), allowed, contract('Pending'), true, now), 'Pending', 'AwaitingApproval', 'waiting for the API owner to approve Contract "mule-prod.gate" in namespace "max-prod" (tier "gold" needs manual approval)'],
  ];
  for (const [v, state, reason, message] of cases) {
    assert.deepEqual(v, { state, reason, message, usable: false });
  }
  assert.deepEqual(keyVerdict(key(), allowed, contract('Approved'), true, now), {
    state: 'Approved',
    reason: 'Approved',
    message: 'approved (Contract "mule-prod.gate" in namespace "max-prod"); the key works at the gateway',
    usable: true,
  });
});

test('a Contract serves only the key whose uid it names; one without the label serves none', () => {
  assert.equal(contractServes(contract('Approved'), key()), true);
  assert.equal(contractServes(contract('Approved'), key({}, 'u2')), false);
  assert.equal(contractServes(contract('Approved', null), key()), false);
  assert.equal(keyVerdict(key(), allowed, contract('Approved', null), true, now).usable, false);
});

test("a key's tier is found only when the SlaTier is one of the key's ApiInstance", () => {
  const tier = (instance: string) => ({ spec: { apiInstanceRef: { name: instance } } }) as unknown as SlaTier;
  assert.equal(keyTierFound(key(), tier('flights')), true);
  assert.equal(keyTierFound(key(), tier('hotels')), false);
  assert.equal(keyTierFound(key(), undefined), false);
});

test('property: a key is served only when every condition holds', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom('Approved', 'Pending', 'Rejected', 'Revoked', undefined), fc.boolean(), (revoked, expired, ok, tierFound, decision, sameUid) => {
      const k = key({ ...(revoked ? { revoked: true } : {}), ...(expired ? { expiresAt: '2025-01-01T00:00:00Z' } : { expiresAt: '2027-01-01T00:00:00Z' }) });
      const c = decision ? contract(decision, sameUid ? 'u1' : 'u0') : undefined;
      const v = keyVerdict(k, ok ? allowed : denied('NotTrusted', 'x'), c, tierFound, now);
      assert.equal(v.usable, !revoked && !expired && ok && tierFound && decision === 'Approved' && sameUid);
      assert.equal(v.usable, v.state === 'Approved');
    }),
  );
});

test('an Application access entry goes through the same verdict, told of "the application"', () => {
  const app = (spec: Record<string, unknown> = {}) =>
    ({ metadata: { name: 'booking', namespace: 'mule-prod', uid: 'u1' }, spec: { access: [], ...spec } }) as unknown as Application;
  const entry = { apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold' } as AccessEntry;
  const v = (a: Application, c: Contract | undefined, access = allowed, tierFound = true) => accessVerdict(entryConsumer(a, entry), access, c, tierFound, now);
  assert.deepEqual(v(app({ revoked: true }), contract('Approved')), { state: 'Revoked', reason: 'RevokedByConsumer', message: 'the application was revoked (spec.revoked)', usable: false });
  assert.deepEqual(v(app({ expiresAt: '2025-12-31T00:00:00Z' }), contract('Approved')), { state: 'Expired', reason: 'Expired', message: 'the application expired at 2025-12-31T00:00:00Z', usable: false });
  assert.equal(v(app(), contract('Approved'), denied('NotTrusted', 'trust gone')).state, 'Suspended');
  assert.equal(v(app(), contract('Approved'), allowed, false).message, 'SlaTier "gold" of ApiInstance "flights" does not exist in namespace "max-prod"');
  assert.equal(v(app(), contract('Approved', 'u0')).message, 'Contract "mule-prod.gate" in namespace "max-prod" was opened for an earlier Application of this name; it is being replaced');
  assert.deepEqual(v(app(), contract('Approved')), {
    state: 'Approved', reason: 'Approved', message: 'approved (Contract "mule-prod.gate" in namespace "max-prod"); the application may call it at the gateway', usable: true,
  });
  assert.equal(v(app(), contract('Pending')).message, 'waiting for the API owner to approve Contract "mule-prod.gate" in namespace "max-prod" (tier "gold" needs manual approval)');
  // The key's verdict is the same function over the key.
  assert.deepEqual(keyVerdict(key(), allowed, contract('Pending'), true, now), accessVerdict(keyConsumer(key()), allowed, contract('Pending'), true, now));
  assert.equal(tierFoundFor('flights', { spec: { apiInstanceRef: { name: 'flights' } } } as unknown as SlaTier), true);
});

test('a Contract of another target than the one asked for now serves nothing, and says it is being replaced', () => {
  // The key was pointed at "hotels" after its Contract (named after the key) was approved for "flights".
  const moved = key({ apiInstanceRef: { name: 'hotels', namespace: 'max-prod' } });
  assert.equal(contractTargets(contract('Approved'), keyConsumer(moved), 'max-prod'), false);
  assert.equal(contractTargets(contract('Approved'), keyConsumer(key()), 'max-prod'), true);
  assert.equal(contractTargets(contract('Approved'), keyConsumer(key()), 'max-stage'), false, 'a Contract in another namespace is another target');
  assert.deepEqual(keyVerdict(moved, allowed, contract('Approved'), true, now), {
    state: 'Pending',
    reason: 'ContractPending',
    message:
      'Contract "mule-prod.gate" in namespace "max-prod" grants ApiInstance "flights" in namespace "max-prod", not ApiInstance "hotels" in namespace "max-prod" that the key names now; ' +
      'it is being replaced by a new request',
    usable: false,
  });
  // A group entry is never served by an instance Contract of the same name, nor the reverse.
  const app = { metadata: { name: 'booking', namespace: 'mule-prod', uid: 'u1' }, spec: { access: [] } } as unknown as Application;
  const groupEntry = { apiGroupRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold' } as AccessEntry;
  assert.equal(contractTargets(contract('Approved'), entryConsumer(app, groupEntry), 'max-prod'), false);
  const groupContract = { ...contract('Approved'), spec: { apiGroupRef: { name: 'flights' }, decision: 'Approved', tier: 'gold' } } as unknown as Contract;
  assert.equal(contractTargets(groupContract, entryConsumer(app, groupEntry), 'max-prod'), true);
  assert.equal(accessVerdict(entryConsumer(app, groupEntry), allowed, groupContract, true, now).usable, true);
});
