// Admission of ApiPromotions: only between two environments of one organization, into the promotion's own namespace.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { API_VERSION, request, story } from './fixtures.ts';

function promotion(namespace: string, sourceNamespace: string, name = 'baggage'): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'ApiPromotion',
    metadata: { name, namespace },
    spec: { source: { namespace: sourceNamespace, name: 'baggage' }, overrides: { upstream: { url: 'https://baggage.max-airlines.example' } } },
  };
}

describe('ApiPromotion admission', () => {
  const s = story();

  test('sandbox to production of one organization is allowed', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'max-airlines-sandbox')), s), { allowed: true });
  });

  test("another organization's instance cannot be promoted into mine", () => {
    assert.deepEqual(review(request('CREATE', promotion('mule-united-prod', 'max-airlines-sandbox')), s), {
      allowed: false,
      message:
        'ApiPromotion "baggage": spec.source.namespace "max-airlines-sandbox" belongs to Organization "max-airlines", but this ApiPromotion is in "mule-united-prod" of Organization "mule-united": ' +
        'a promotion copies only between environments of one organization; Organization "mule-united" has no other environment',
      field: 'spec.source.namespace',
    });
  });

  test("my instance cannot be pushed into another organization's namespace (the namespace speaks for the promotion)", () => {
    // Written in B's namespace, the promotion speaks for B, and A's source is then foreign.
    const v = review(request('CREATE', promotion('max-airlines-prod', 'mule-united-prod')), s);
    assert.deepEqual(v, {
      allowed: false,
      message:
        'ApiPromotion "baggage": spec.source.namespace "mule-united-prod" belongs to Organization "mule-united", but this ApiPromotion is in "max-airlines-prod" of Organization "max-airlines": ' +
        'a promotion copies only between environments of one organization; name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('the home namespace is neither a target nor a source', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-home', 'max-airlines-sandbox')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": an ApiPromotion lives in the environment it promotes into, and namespace "max-airlines-home" is the home namespace of Organization "max-airlines", not an environment',
      field: 'metadata.namespace',
    });
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'max-airlines-home')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "max-airlines-home" is the home namespace of Organization "max-airlines", which holds no ApiInstances: name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('a namespace of no organization, or the same environment, is refused', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'team-a')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "team-a" belongs to no Organization: a promotion copies only from an environment of its own organization; name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
    assert.deepEqual(review(request('UPDATE', promotion('max-airlines-prod', 'max-airlines-prod'), promotion('max-airlines-prod', 'max-airlines-sandbox')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "max-airlines-prod" is the promotion\'s own namespace: name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('a promotion outside every organization is refused by namespace ownership first', () => {
    const v = review(request('CREATE', promotion('team-a', 'max-airlines-sandbox')), s);
    assert.equal(v.allowed, false);
    assert.match((v as { message: string }).message, /namespace "team-a" belongs to no Organization, so ApiPromotion "baggage" cannot be created there/);
  });
});
