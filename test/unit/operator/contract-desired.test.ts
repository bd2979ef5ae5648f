// The Contract's status as the owner reads it: each state, and the message
// that says why, including the closing one when the key is gone or was made again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiKey, Application, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { desiredContract } from '../../../operator/controllers/apikey-desired.ts';
import { desiredAppContractState, desiredContractState } from '../../../operator/controllers/contract-desired.ts';
import { desiredAppContract } from '../../../operator/controllers/application-desired.ts';

const key = (uid: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'crossgate.dev/v1alpha1',
  kind: 'ApiKey',
  metadata: { name: 'gate', namespace: 'mule-prod', uid },
  spec: { apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold', ...spec },
}) as unknown as ApiKey;
const allowed = { ok: true, reason: 'Allowed', message: '', instanceNamespace: 'max-prod', crossOrganization: true, consumer: { spec: { domain: 'mule' } } } as unknown as Access;
const notShared = { ...allowed, ok: false, reason: 'NotShared', message: 'ApiInstance "flights" is not shared with organization "mule"' } as Access;
const tier = (approval: 'automatic' | 'manual') => ({ spec: { approval } }) as unknown as SlaTier;
const now = new Date('2026-01-01T00:00:00Z');
const contractFor = (k: ApiKey, approval: 'automatic' | 'manual' = 'automatic', decision?: Contract['spec']['decision']) => {
  const c = desiredContract(k, allowed, tier(approval));
  return { ...c, metadata: { ...c.metadata, namespace: 'max-prod' }, spec: { ...c.spec, ...(decision ? { decision } : {}) } } as Contract;
};
const hashes = () => ({ current: 'a'.repeat(64), generation: 1 });
const gold = { spec: { apiInstanceRef: { name: 'flights' }, approval: 'automatic' } } as unknown as SlaTier;
const state = (c: Contract, k: ApiKey | undefined, access = allowed, found: SlaTier | null = gold) => desiredContractState(c, k, () => access, () => found ?? undefined, hashes, now);

test('approved, with the number of key hashes the gateway honours', () => {
  const k = key('u1');
  assert.deepEqual(state(contractFor(k), k), { state: 'Approved', reason: 'DecisionApproved', message: 'approved; 1 key(s) honoured by the gateway', activeKeys: 1 });
});

test('pending: tells the owner how to decide, with the command', () => {
  const k = key('u1');
  const s = state(contractFor(k, 'manual'), k);
  assert.equal(s.state, 'Pending');
  assert.equal(s.reason, 'DecisionPending');
  assert.equal(s.message, `waiting for the owner: set spec.decision to Approved or Rejected (kubectl patch contract mule-prod.key.gate -n max-prod --type=merge -p '{"spec":{"decision":"Approved"}}')`);
});

test('suspended while the share is gone; a rejected Contract stays rejected', () => {
  const k = key('u1');
  assert.deepEqual(state(contractFor(k), k, notShared), { state: 'Suspended', reason: 'NotShared', message: 'ApiInstance "flights" is not shared with organization "mule"', activeKeys: 0 });
  assert.equal(state(contractFor(k, 'manual', 'Rejected'), k, notShared).state, 'Rejected');
});

test('approved but the key is revoked: the key says why it is not honoured', () => {
  const k = key('u1', { revoked: true });
  assert.deepEqual(state(contractFor(k), k), { state: 'Approved', reason: 'RevokedByConsumer', message: 'the key was revoked (spec.revoked)', activeKeys: 0 });
});

test('closing: the key no longer exists, or was deleted and made again under its name', () => {
  const c = contractFor(key('u1'));
  assert.deepEqual(state(c, undefined), {
    state: 'Approved',
    reason: 'ApiKeyNotFound',
    message: 'ApiKey "gate" no longer exists in namespace "mule-prod"; this Contract is being closed',
    activeKeys: 0,
  });
  assert.deepEqual(state(c, key('u2')), {
    state: 'Approved',
    reason: 'ApiKeyNotFound',
    message: 'ApiKey "gate" was deleted and made again in namespace "mule-prod"; this Contract is being closed',
    activeKeys: 0,
  });
});

test('approved but the tier is gone: no key counts, as the gateway config leaves it out, and the owner reads why', () => {
  const k = key('u1');
  assert.deepEqual(state(contractFor(k), k, allowed, null), {
    state: 'Approved',
    reason: 'TierNotFound',
    message: 'SlaTier "gold" of ApiInstance "flights" does not exist in namespace "max-prod"',
    activeKeys: 0,
  });
  const otherInstance = { spec: { apiInstanceRef: { name: 'hotels' }, approval: 'automatic' } } as unknown as SlaTier;
  assert.equal(state(contractFor(k), k, allowed, otherInstance).activeKeys, 0, 'a tier of another ApiInstance is not the key\'s tier');
});

test('an Application entry\'s Contract: approved with its client-secret hashes, suspended, closing when the entry, the app or its revocation goes', () => {
  const app = (uid: string, spec: Record<string, unknown> = {}) =>
    ({ metadata: { name: 'booking', namespace: 'mule-prod', uid }, spec: { access: [{ apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold' }], ...spec } }) as unknown as Application;
  const a = app('u1');
  const entry = a.spec.access[0]!;
  const c = { ...desiredAppContract(a, entry, allowed, tier('manual')), metadata: { ...desiredAppContract(a, entry, allowed, tier('manual')).metadata } } as Contract;
  const approved = { ...c, spec: { ...c.spec, decision: 'Approved' } } as Contract;
  const facts = (access = allowed) => ({ entry, target: { kind: 'ApiInstance' as const, namespace: 'max-prod', name: 'flights' }, access, contractId: '', contract: approved, tierFound: true, verdict: undefined as never });
  const hashes = { current: 'a'.repeat(64), previous: 'b'.repeat(64), previousValidUntil: '2026-01-02T00:00:00Z', generation: 1, clientId: 'cgc_x' };
  assert.deepEqual(desiredAppContractState(approved, a, facts(), hashes, now), { state: 'Approved', reason: 'DecisionApproved', message: 'approved; 2 client secret(s) honoured by the gateway', activeKeys: 2 });
  assert.deepEqual(desiredAppContractState(approved, a, facts(notShared), hashes, now), { state: 'Suspended', reason: 'NotShared', message: notShared.message, activeKeys: 0 });
  assert.match(desiredAppContractState(c, a, facts(), hashes, now).message, /^waiting for the owner: set spec.decision/);
  assert.deepEqual(desiredAppContractState(approved, a, undefined, hashes, now), {
    state: 'Approved', reason: 'AccessEntryRemoved', message: 'Application "booking" in namespace "mule-prod" no longer lists ApiInstance "flights" in spec.access; this Contract is being closed', activeKeys: 0,
  });
  assert.equal(desiredAppContractState(approved, app('u1', { revoked: true }), facts(), hashes, now).reason, 'RevokedByConsumer');
  assert.equal(desiredAppContractState(approved, undefined, undefined, hashes, now).message, 'Application "booking" no longer exists in namespace "mule-prod"; this Contract is being closed');
  assert.equal(desiredAppContractState(approved, app('u2'), facts(), hashes, now).reason, 'ApplicationNotFound');
  assert.equal(c.spec.consumer.kind, 'Application');
  assert.equal(c.metadata.labels?.['crossgate.dev/consumer-uid'], 'u1');
});

test('the key now names another ApiInstance: this Contract is being closed, it honours no key, and says what the key names', () => {
  const k = key('u1');
  const moved = key('u1', { apiInstanceRef: { name: 'hotels', namespace: 'max-prod' } });
  assert.deepEqual(state(contractFor(k), moved), {
    state: 'Approved',
    reason: 'TargetChanged',
    message: 'ApiKey "gate" in namespace "mule-prod" names ApiInstance "hotels" in namespace "max-prod" now; this Contract is being closed',
    activeKeys: 0,
  });
});
