// What the operator holds of a key or application Secret and of a crossgate
// object: tenants write them (security-model.md rows 33, 50, 51), so nothing
// of their metadata but crossgate's own, bounded, may reach the shared
// operator's cache.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cachedCrossgateObject, cachedSecretMetadata, KEY_SECRETS, APP_SECRETS, MAX_CACHED_ANNOTATION_LENGTH, MAX_CACHED_OBJECT_ANNOTATION_LENGTH,
  APIGROUPS, APIINSTANCES, APIKEYS, APPLICATIONS, ASSETS, ASSETSHARES, CONTRACTS, ORGANIZATIONS, ORGTRUSTS, POLICIES, SLATIERS, MANAGED_ROLES, MANAGED_ROLEBINDINGS,
} from '../../../operator/resources.ts';
import { stripManagedFields } from '../../../kube/informer.ts';
import { ANNOTATION_CLIENT_ID, ANNOTATION_KEY_SHA256, ANNOTATION_PROMOTED_FROM, LABEL_APIKEY, LABEL_MANAGED_BY } from '../../../api/labels.ts';
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

describe('cached crossgate objects', () => {
  // What the Manager applies to a spec without a transform (kube/informer.ts): the cache before this bound.
  const cacheOf = (spec: typeof POLICIES) => (o: object) => (spec.transform?.fn ?? stripManagedFields)(o as never) as { metadata: { annotations?: Record<string, string> } };

  test("attacker: an organization admin's Policy with 200 KB of annotations costs the operator's cache its spec only", () => {
    const policy = {
      apiVersion: 'crossgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: {
        name: 'p', namespace: 'mallory-prod', uid: 'u', labels: { team: 'a' }, managedFields: [{ manager: 'kubectl' }],
        annotations: { junk: 'j'.repeat(200_000), 'kubectl.kubernetes.io/last-applied-configuration': '{}', [ANNOTATION_PROMOTED_FROM]: 'mallory-dev/p' },
      },
      spec: { type: 'rate-limiting', targetRef: { name: 'i' } },
    };
    const cached = cacheOf(POLICIES)(structuredClone(policy));
    // Before: 200,323 bytes for this Policy (only managedFields were dropped).
    assert.ok(JSON.stringify(cached).length < 512, `cached ${JSON.stringify(cached).length} bytes`);
    assert.deepEqual(cached.metadata, { name: 'p', namespace: 'mallory-prod', uid: 'u', labels: { team: 'a' }, annotations: { [ANNOTATION_PROMOTED_FROM]: 'mallory-dev/p' } });
    for (const spec of [ORGANIZATIONS, APIINSTANCES, APIKEYS, APPLICATIONS, CONTRACTS, SLATIERS, ASSETS, ASSETSHARES, ORGTRUSTS, APIGROUPS, MANAGED_ROLES, MANAGED_ROLEBINDINGS]) {
      assert.equal(cacheOf(spec)(structuredClone(policy)).metadata.annotations?.junk, undefined, spec.plural);
    }
  });

  test("crossgate's own annotation, over-long, is cut and marked", () => {
    const cached = cachedCrossgateObject({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', annotations: { [ANNOTATION_PROMOTED_FROM]: 'x'.repeat(100_000) } } });
    assert.equal(cached.metadata!.annotations![ANNOTATION_PROMOTED_FROM], `${'x'.repeat(MAX_CACHED_OBJECT_ANNOTATION_LENGTH)}…`);
    assert.deepEqual(cachedCrossgateObject({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', annotations: { other: 'y' } } }).metadata, { name: 'i' });
  });
});
