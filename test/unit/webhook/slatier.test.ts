// Admission of SlaTiers: a tier must be choosable by name, and stays with its instance.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import { slaTierRules } from '../../../webhook/rules/slatier.ts';
import type { KubeObject, Verdict } from '../../../webhook/admission.ts';
import { API_VERSION, request, story } from './fixtures.ts';

const ALLOWED: Verdict = { allowed: true };

function tier(name: string, instance = 'flights', approval = 'automatic'): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'SlaTier',
    metadata: { name, namespace: 'max-airlines-prod' },
    spec: { apiInstanceRef: { name: instance }, limits: [{ requests: 1000, period: 'minute' }], approval },
  };
}

describe('SlaTier admission', () => {
  const s = story();

  test('a tier named by a DNS label is allowed', () => {
    assert.deepEqual(review(request('CREATE', tier('gold')), s), ALLOWED);
  });

  test('a tier no ApiKey could name is refused', () => {
    assert.deepEqual(slaTierRules(request('CREATE', tier('gold.v2')), s), {
      allowed: false,
      message:
        'SlaTier "gold.v2" could never be chosen: ApiKeys name their tier in spec.tier, which takes a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters. Rename the tier.',
      field: 'metadata.name',
    });
    assert.equal(slaTierRules(request('CREATE', tier('a'.repeat(64))), s).allowed, false);
  });

  test('limits and approval may change (the refs may not: CEL, test/e2e/crd-validation.test.ts)', () => {
    assert.deepEqual(review(request('UPDATE', tier('gold', 'flights', 'manual'), tier('gold')), s), ALLOWED);
  });
});
