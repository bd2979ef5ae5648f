// The hashes of a credential Secret are annotations its organization's admins
// can edit (they read their keys from these Secrets, so they may write them
// too). What the operator reads there goes into the credential shards every
// organization shares: a value that is not a SHA-256 must never reach them.
// "zz…" made shardOf NaN and every render of the gateway config throw (every
// organization's revocations frozen); "0g…" was rendered into shard 0, which
// the gateway then refused whole. A malformed hash or client ID is ignored and
// the credential issued again; a shard never takes an entry it cannot key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Secret } from '@kubernetes/client-node';
import type { ApiKey, Application } from '../../../api/v1alpha1/index.ts';
import type { Credential } from '../../../api/gateway/config.ts';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_VALID_UNTIL,
} from '../../../api/labels.ts';
import { isCredentialHash } from '../../../api/credential-format.ts';
import { hashesOf } from '../../../operator/controllers/consumer-desired.ts';
import { secretAction } from '../../../operator/controllers/apikey-desired.ts';
import { appSecretAction, ownAppHashesOf } from '../../../operator/controllers/application-desired.ts';
import { CredentialShards } from '../../../operator/controllers/gatewayconfig/credential-shards.ts';

const now = new Date('2026-01-01T00:00:00Z');
const GOOD = 'ab'.repeat(32);
const owner = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', name: 'mine', uid: 'uid-mine', controller: true };
const secret = (annotations: Record<string, string>, kind = 'ApiKey'): V1Secret => ({
  metadata: { name: 'mine-apikey', namespace: 'evil-prod', ownerReferences: [{ ...owner, kind }], annotations },
});
const key = { metadata: { name: 'mine', namespace: 'evil-prod', uid: 'uid-mine' }, spec: { apiInstanceRef: { name: 'rail' }, tier: 'gold' } } as unknown as ApiKey;
const app = { metadata: { name: 'mine', namespace: 'evil-prod', uid: 'uid-mine' }, spec: { access: [] } } as unknown as Application;
const cred: Credential = { kind: 'api-key', client: 'evil-prod/mine', grants: [{ routes: ['evil-prod/rail'], contract: 'evil-prod/evil-prod.key.mine', tier: 'gold' }] };

const MALFORMED = ['zz'.repeat(32), `0g${'0'.repeat(62)}`, 'AB'.repeat(32), 'ab'.repeat(31), `${'ab'.repeat(32)}00`, 'x'.repeat(200_000), ''];

test('a credential hash is 64 lower-case hex digits, nothing else', () => {
  assert.equal(isCredentialHash(GOOD), true);
  for (const bad of MALFORMED) assert.equal(isCredentialHash(bad), false, JSON.stringify(bad.slice(0, 20)));
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => isCredentialHash(s) === /^[0-9a-f]{64}$/.test(s)));
});

test('hashesOf takes only well-formed hashes and times from a Secret', () => {
  assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_KEY_GENERATION]: '2', [ANNOTATION_KEY_ISSUED_AT]: '2025-12-01T00:00:00Z' })), {
    current: GOOD, generation: 2, issuedAt: '2025-12-01T00:00:00Z',
  });
  for (const bad of MALFORMED) {
    assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: bad })), { generation: 0 }, JSON.stringify(bad.slice(0, 20)));
    // A malformed previous hash is no previous key: nothing of it reaches the gateway.
    assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_PREVIOUS_KEY_SHA256]: bad, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: '2026-02-01T00:00:00Z' })), {
      current: GOOD, generation: 0,
    });
  }
  // A validity that is no time makes no previous key; one that is a time is written the one way (RFC 3339).
  assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_PREVIOUS_KEY_SHA256]: GOOD, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: 'never' })), { current: GOOD, generation: 0 });
  assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_PREVIOUS_KEY_SHA256]: GOOD, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: '2026-02-01T00:00:00.000+00:00' })), {
    current: GOOD, generation: 0, previous: GOOD, previousValidUntil: '2026-02-01T00:00:00Z',
  });
  assert.deepEqual(hashesOf(secret({ [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_KEY_GENERATION]: '1e400', [ANNOTATION_KEY_ISSUED_AT]: 'yesterday' })), { current: GOOD, generation: 0 });
});

test('a key whose Secret holds a malformed hash is issued again, and the Event says why', () => {
  for (const bad of MALFORMED) {
    const action = secretAction(key, secret({ [ANNOTATION_KEY_SHA256]: bad }), now);
    assert.deepEqual(action, {
      action: 'create',
      malformed:
        'Secret "mine-apikey" held no valid key hash (annotation crossgate.dev/key-sha256 is not 64 lower-case hex digits; it was changed by hand): ' +
        'a new key was issued into it and the one it held no longer works',
    });
  }
  assert.deepEqual(secretAction(key, secret({ [ANNOTATION_KEY_SHA256]: GOOD }), now), { action: 'none' });
  // No hash at all (a Secret the operator is still writing) is issued without that message.
  assert.deepEqual(secretAction(key, secret({}), now), { action: 'create' });
});

test("an Application's malformed client ID is never read, and the app's Secret is issued again", () => {
  const good = { [ANNOTATION_KEY_SHA256]: GOOD, [ANNOTATION_CLIENT_ID]: `cgc_${'A'.repeat(22)}` };
  assert.equal(ownAppHashesOf(app, secret(good, 'Application')).clientId, `cgc_${'A'.repeat(22)}`);
  assert.deepEqual(appSecretAction(app, secret(good, 'Application'), now), { action: 'none' });
  for (const clientId of ['x'.repeat(200_000), 'cgc_short', `cgc_${'A'.repeat(22)}\n`]) {
    const s = secret({ ...good, [ANNOTATION_CLIENT_ID]: clientId }, 'Application');
    assert.equal(ownAppHashesOf(app, s).clientId, undefined);
    assert.deepEqual(appSecretAction(app, s, now), {
      action: 'create',
      malformed:
        'Secret "mine-client" held no valid client ID (annotation crossgate.dev/client-id is not one crossgate issues; it was changed by hand): ' +
        'a new client ID and client secret were issued into it and the ones it held no longer work',
    });
  }
});

test('the credential shards never take an entry whose hash is malformed, and never throw on one', () => {
  const shards = new CredentialShards();
  for (const bad of MALFORMED) {
    assert.doesNotThrow(() => shards.set(`evil-prod/${bad.length}`, [[bad, cred]]));
  }
  assert.equal(shards.size, 0);
  shards.set('victim-prod/key', [[GOOD, cred]]);
  assert.equal(shards.size, 1);
  for (let i = 0; i < shards.shardCount; i++) {
    for (const h of Object.keys(shards.shard(i).entries)) assert.equal(isCredentialHash(h), true);
  }
  assert.doesNotThrow(() => shards.reshard(128));
  assert.equal(shards.size, 1);
});
