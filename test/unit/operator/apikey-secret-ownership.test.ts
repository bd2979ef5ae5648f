// A key Secret belongs to the ApiKey that controls it (ownerReference uid,
// controller: true), and to no other: a second key naming a teammate's Secret,
// or a Secret nobody made for a key, gets a SecretConflict naming it, never the
// hashes (issue 14, weakness 3). The reconciler and the gateway-config writer
// share these functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { ApiKey } from '../../../api/v1alpha1/index.ts';
import { ANNOTATION_KEY_SHA256, LABEL_APIKEY } from '../../../api/labels.ts';
import { credentialsOf, ownHashesOf, secretAction, secretBelongsToKey, secretConflictMessage } from '../../../operator/controllers/apikey-desired.ts';
import type { Contract } from '../../../api/v1alpha1/index.ts';

const now = new Date('2026-01-01T00:00:00Z');
const key = (name: string, uid: string, extra: Partial<ApiKey['spec']> = {}) => ({
  apiVersion: 'crossgate.dev/v1alpha1',
  kind: 'ApiKey',
  metadata: { name, namespace: 'mule-prod', uid },
  spec: { apiInstanceRef: { name: 'flights', namespace: 'max-prod' }, tier: 'gold', ...extra },
}) as unknown as ApiKey;
const ref = (name: string, uid: string, controller = true): V1OwnerReference => ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', name, uid, controller, blockOwnerDeletion: true });
const secret = (name: string, owners: V1OwnerReference[], labels: Record<string, string> = {}): V1Secret => ({
  metadata: { name, namespace: 'mule-prod', labels, ownerReferences: owners, annotations: { [ANNOTATION_KEY_SHA256]: 'a'.repeat(64) } },
});

const teammate = key('gate', 'uid-gate');
const teammateSecret = secret('gate-apikey', [ref('gate', 'uid-gate')], { [LABEL_APIKEY]: 'gate' });
const intruder = key('thief', 'uid-thief', { secretName: 'gate-apikey' });

test("a Secret belongs to the key that controls it, not to another key naming it", () => {
  assert.equal(secretBelongsToKey(teammate, teammateSecret), true);
  assert.equal(secretBelongsToKey(intruder, teammateSecret), false);
  // An ownerReference that is not the controller does not make the Secret the key's.
  assert.equal(secretBelongsToKey(teammate, secret('gate-apikey', [ref('gate', 'uid-gate', false)])), false);
  // A key not yet given a uid owns nothing (an ownerReference without uid must never match it).
  assert.equal(secretBelongsToKey(key('gate', undefined as unknown as string), secret('x', [{ ...ref('gate', ''), uid: undefined as unknown as string }])), false);
});

test("a key naming a teammate's Secret gets SecretConflict naming it and its owner, never its hashes", () => {
  const expected =
    'spec.secretName "gate-apikey": Secret "gate-apikey" in namespace "mule-prod" already exists and belongs to ApiKey "gate" (its controlling owner), ' +
    'not to this ApiKey; crossgate never reads or overwrites it, so no key is issued and no Contract is opened. Set spec.secretName to a name no other Secret uses.';
  assert.deepEqual(secretAction(intruder, teammateSecret, now), { action: 'conflict', message: expected });
  assert.deepEqual(ownHashesOf(intruder, teammateSecret), { generation: 0 });
  assert.equal(ownHashesOf(teammate, teammateSecret).current, 'a'.repeat(64));
  // Revoking the intruder never deletes the teammate's Secret.
  assert.deepEqual(secretAction(key('thief', 'uid-thief', { secretName: 'gate-apikey', revoked: true }), teammateSecret, now), { action: 'none' });
  const contract = { metadata: { name: 'mule-prod.thief', namespace: 'max-prod' }, spec: { apiInstanceRef: { name: 'flights' }, tier: 'gold' } } as unknown as Contract;
  assert.deepEqual(credentialsOf(intruder, contract, ownHashesOf(intruder, teammateSecret), now), []);
});

test('an existing unlabelled Secret of the default name is a SecretConflict that names it and says what to do', () => {
  const foreign = secret('gate-apikey', []);
  assert.deepEqual(secretAction(teammate, foreign, now), {
    action: 'conflict',
    message:
      'the default Secret name "gate-apikey": Secret "gate-apikey" in namespace "mule-prod" already exists and was not made for this ApiKey ' +
      '(it has no ownerReference to it); crossgate never reads or overwrites it, so no key is issued and no Contract is opened. ' +
      'Set spec.secretName to a name no other Secret uses, or delete Secret "gate-apikey".',
  });
  assert.equal(secretConflictMessage(teammate, foreign).includes('a'.repeat(64)), false);
});

test('property: hashes come only from a Secret whose controlling ownerReference carries the key uid', () => {
  const uid = fc.constantFrom('uid-gate', 'uid-thief', 'uid-other', '');
  const owner = fc.record({ name: fc.constantFrom('gate', 'thief'), uid, controller: fc.boolean() });
  fc.assert(
    fc.property(fc.array(owner, { maxLength: 4 }), fc.constantFrom(teammate, intruder), (owners, k) => {
      const s = secret('gate-apikey', owners.map((o) => ref(o.name, o.uid, o.controller)), { [LABEL_APIKEY]: 'gate' });
      const mine = owners.some((o) => o.controller && o.uid === k.metadata.uid);
      assert.equal(secretBelongsToKey(k, s), mine);
      assert.equal(ownHashesOf(k, s).current !== undefined, mine);
      const action = secretAction(k, s, now).action;
      assert.equal(action === 'conflict', !mine);
    }),
  );
});
