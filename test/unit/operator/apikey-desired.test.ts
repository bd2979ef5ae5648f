// A Contract names the uid of the ApiKey it was opened for: a key deleted and
// made again under the same name is Pending (its hash stays out of the gateway
// config) until its own Contract exists, and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiKey, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { desiredContract } from '../../../operator/controllers/apikey-desired.ts';
import { contractSpecPatch } from '../../../operator/controllers/consumer-desired.ts';
import { contractServes, keyVerdict } from '../../../model/key-verdict.ts';

const key = (uid: string) => ({
  apiVersion: 'crossgate.dev/v1alpha1',
  kind: 'ApiKey',
  metadata: { name: 'gate', namespace: 'mule-prod', uid },
  spec: { apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold' },
}) as unknown as ApiKey;
const access = { ok: true, reason: 'Allowed', message: '', instanceNamespace: 'max-prod', crossOrganization: true, consumer: { spec: { domain: 'mule' } } } as unknown as Access;
const tier = { spec: { approval: 'automatic' } } as unknown as SlaTier;
const now = new Date('2026-01-01T00:00:00Z');

test('a Contract serves the key whose uid it names, and one without the uid label serves no key', () => {
  const contract = desiredContract(key('u1'), access, tier);
  assert.equal(contract.metadata.labels?.['crossgate.dev/consumer-uid'], 'u1');
  assert.ok(contractServes(contract, key('u1')));
  assert.ok(!contractServes(contract, key('u2')));
  const { 'crossgate.dev/consumer-uid': _uid, ...older } = contract.metadata.labels!;
  assert.ok(!contractServes({ ...contract, metadata: { ...contract.metadata, labels: older } } as Contract, key('u1')));
});

test('a key made again is Pending while the approved Contract of the earlier key is replaced, and says so', () => {
  const approved = { ...desiredContract(key('u1'), access, tier), metadata: { ...desiredContract(key('u1'), access, tier).metadata, namespace: 'max-prod' } } as Contract;
  assert.equal(approved.spec.decision, 'Approved');
  assert.equal(keyVerdict(key('u1'), access, approved, true, now).usable, true);
  const again = keyVerdict(key('u2'), access, approved, true, now);
  assert.deepEqual(again, {
    state: 'Pending',
    reason: 'ContractPending',
    message: 'Contract "mule-prod.key.gate" in namespace "max-prod" was opened for an earlier ApiKey of this name; it is being replaced',
    usable: false,
  });
});

test('contractSpecPatch: a new tier is a new request; a wider scope on a manual tier goes back to Pending, a narrower one keeps the decision', () => {
  const c = (decision: string, endpoints?: unknown) => ({ metadata: {}, spec: { tier: 'gold', decision, ...(endpoints ? { endpoints } : {}) } }) as unknown as Contract;
  const a = [{ path: '/a/*' }];
  const narrower = [{ path: '/a/b', methods: ['GET'] }];
  assert.equal(contractSpecPatch(c('Approved', a), { tier: 'gold', endpoints: a as never }, false), undefined);
  assert.deepEqual(contractSpecPatch(c('Approved', a), { tier: 'gold', endpoints: narrower as never }, false), { spec: { endpoints: narrower } });
  assert.deepEqual(contractSpecPatch(c('Approved', narrower), { tier: 'gold', endpoints: a as never }, false), { spec: { endpoints: a, decision: 'Pending' } });
  assert.deepEqual(contractSpecPatch(c('Approved', a), { tier: 'gold' }, false), { spec: { endpoints: null, decision: 'Pending' } }, 'the whole API is wider');
  assert.deepEqual(contractSpecPatch(c('Approved', narrower), { tier: 'gold', endpoints: a as never }, true), { spec: { endpoints: a } }, 'automatic: stays approved');
  assert.deepEqual(contractSpecPatch(c('Approved'), { tier: 'silver' }, false), { spec: { tier: 'silver', decision: 'Pending' } });
  assert.deepEqual(contractSpecPatch(c('Pending'), { tier: 'bronze' }, true), { spec: { tier: 'bronze', decision: 'Approved' } });
  assert.equal(contractSpecPatch(c('Rejected', narrower), { tier: 'silver', endpoints: a as never }, false), undefined, 'final decisions stay');
  assert.equal(contractSpecPatch(c('Revoked'), { tier: 'silver' }, true), undefined);
});
