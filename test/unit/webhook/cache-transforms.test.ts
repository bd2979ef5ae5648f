// What the webhook holds of each crossgate object: it is shared by every
// organization and fails closed, so a tenant's bulk on its own objects must
// not reach its memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { specAndGrantedClaims, specAndRecordedPeer, withoutStatus } from '../../../webhook/main.ts';

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

  // security-model row 48: admission judges trust from the recorded peer; a cache without it would take a new
  // holder of a retired domain for the trusted peer (PeerReplaced never fires at admission).
  test('an OrgTrust keeps its spec and the recorded peer uid, nothing else of its status, no annotations', () => {
    const trust = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: 't', namespace: 'o', annotations: { a: 'x'.repeat(10_000) } }, spec: { peer: { domain: 'p' } }, status: { peerUid: 'uid-p', conditions: [{ type: 'Mutual' }] } };
    assert.deepEqual(specAndRecordedPeer(structuredClone(trust)), { apiVersion: trust.apiVersion, kind: 'OrgTrust', metadata: { name: 't', namespace: 'o' }, spec: trust.spec, status: { peerUid: 'uid-p' } });
    const fresh = { ...trust, status: { conditions: [] } };
    assert.deepEqual(specAndRecordedPeer(structuredClone(fresh)), { apiVersion: trust.apiVersion, kind: 'OrgTrust', metadata: { name: 't', namespace: 'o' }, spec: trust.spec });
  });
});
