// What the operator holds of a key or application Secret: tenants write these
// Secrets (security-model.md row 33), so nothing of their metadata but
// crossgate's own, bounded, may reach the shared operator's cache.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cachedSecretMetadata, KEY_SECRETS, APP_SECRETS, MAX_CACHED_ANNOTATION_LENGTH } from '../../../operator/resources.ts';
import { ANNOTATION_CLIENT_ID, ANNOTATION_KEY_SHA256, LABEL_APIKEY, LABEL_MANAGED_BY } from '../../../api/labels.ts';
import { isCredentialHash } from '../../../api/credential-format.ts';

const HASH = 'a'.repeat(64);
const controller = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', name: 'k', uid: 'key-uid', controller: true, blockOwnerDeletion: true };

describe('cached key and application Secrets', () => {
  test('attacker: 200 KB of annotations, 2000 labels and 1000 owner references on one Secret cost the cache under 1 KB', () => {
    const labels: Record<string, string> = { [LABEL_APIKEY]: 'k', [LABEL_MANAGED_BY]: 'crossgate-operator' };
    for (let i = 0; i < 2000; i++) labels[`crossgate.dev/x${i}`] = 'v'.repeat(63);
    const annotations: Record<string, string> = { [ANNOTATION_KEY_SHA256]: HASH, junk: 'j'.repeat(200_000) };
    const ownerReferences = [...Array.from({ length: 1000 }, (_, i) => ({ ...controller, name: `k${i}`, uid: `u${i}`, controller: false })), controller];
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'k-apikey', namespace: 'mallory-prod', uid: 's1', resourceVersion: '9', labels, annotations, ownerReferences, managedFields: [{ manager: 'x' }] },
      data: { apiKey: Buffer.from('cg_raw').toString('base64') },
    };
    const raw = JSON.stringify(secret).length;
    const cached = KEY_SECRETS.transform!.fn(structuredClone(secret) as never) as typeof secret;
    const size = JSON.stringify(cached).length;
    // Before: the whole metadata was kept (503,169 bytes for this Secret).
    assert.ok(size < 1024, `cached ${size} of ${raw} bytes`);
    assert.deepEqual(cached, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'k-apikey', namespace: 'mallory-prod', uid: 's1', resourceVersion: '9', generation: undefined, creationTimestamp: undefined, deletionTimestamp: undefined,
        labels: { [LABEL_APIKEY]: 'k', [LABEL_MANAGED_BY]: 'crossgate-operator' },
        annotations: { [ANNOTATION_KEY_SHA256]: HASH },
        ownerReferences: [controller],
      },
    });
    assert.equal('data' in cached, false, 'never the raw key');
  });

  test("an over-long value of crossgate's own annotation is cut and can never read as well-formed", () => {
    const long = HASH.repeat(1000);
    const cached = cachedSecretMetadata({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { [ANNOTATION_KEY_SHA256]: long, [ANNOTATION_CLIENT_ID]: `cgc_${'a'.repeat(100_000)}` } } });
    const a = cached.metadata!.annotations!;
    assert.equal(a[ANNOTATION_KEY_SHA256].length, MAX_CACHED_ANNOTATION_LENGTH + 1);
    assert.equal(isCredentialHash(a[ANNOTATION_KEY_SHA256]), false);
    assert.ok(a[ANNOTATION_CLIENT_ID].endsWith('…'));
    assert.deepEqual(cachedSecretMetadata({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } as { name: string; labels?: Record<string, string> } }).metadata!.labels, undefined);
  });

  test('both Secret informers use it', () => {
    assert.equal(KEY_SECRETS.transform?.fn, cachedSecretMetadata);
    assert.equal(APP_SECRETS.transform?.fn, cachedSecretMetadata);
  });
});
