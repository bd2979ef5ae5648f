// A Contract names the uid of the ApiKey it was opened for: a key deleted and
// made again under the same name is Pending (its hash stays out of the gateway
// config) until its own Contract exists, and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiKey, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { desiredContract } from '../../../operator/controllers/apikey-desired.ts';
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
