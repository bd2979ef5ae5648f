// What the webhook holds of each crossgate object: it is shared by every
// organization and fails closed, so a tenant's bulk on its own objects must
// not reach its memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { specAndGrantedClaims, withoutStatus } from '../../../webhook/main.ts';

describe("the webhook's cache", () => {
  test('attacker: a Policy carrying 200 KB of annotations costs the cache its spec and labels only', () => {
    const policy = {
      apiVersion: 'crossgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'p', namespace: 'mallory-prod', uid: 'u', labels: { team: 'a' }, annotations: { junk: 'j'.repeat(200_000) }, managedFields: [{ manager: 'kubectl' }] },
      spec: { type: 'rate-limiting', targetRef: { name: 'i' } },
      status: { conditions: [] },
    };
    const cached = withoutStatus(structuredClone(policy));
    // Before: the annotations were kept (200 KB per object, any number of objects).
    assert.ok(JSON.stringify(cached).length < 512, `cached ${JSON.stringify(cached).length} bytes`);
    assert.deepEqual(cached, { apiVersion: policy.apiVersion, kind: 'Policy', metadata: { name: 'p', namespace: 'mallory-prod', uid: 'u', labels: { team: 'a' } }, spec: policy.spec });
  });

  test("an Organization keeps its spec and granted claims, not its annotations", () => {
    const org = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o', annotations: { a: 'x'.repeat(10_000) } }, spec: { domain: 'o' }, status: { routeClaims: [{ path: '/o' }], conditions: [] } };
    assert.deepEqual(specAndGrantedClaims(structuredClone(org)), { apiVersion: org.apiVersion, kind: 'Organization', metadata: { name: 'o' }, spec: org.spec, status: { routeClaims: [{ path: '/o' }] } });
  });
});
