// Label selector matching, which instances a Policy applies to, enforcement
// order, and the status a Policy reports.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiInstance, Policy } from '../../../api/v1alpha1/index.ts';
import { appliedTo, desiredPolicyStatus } from '../../../operator/controllers/policy-desired.ts';
import { comparePolicies, matchesSelector, policiesFor, policyAppliesTo, selectorProblems } from '../../../model/policy-selection.ts';

const inst = (name: string, labels: Record<string, string> = {}, ns = 'max-prod'): ApiInstance =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name, namespace: ns, labels }, spec: { assetRef: { name: 'a' }, basePath: `/${name}`, upstream: { url: 'http://x' } } }) as ApiInstance;

function pol(name: string, spec: Partial<Policy['spec']>, ns = 'max-prod', deleting = false): Policy {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Policy',
    metadata: { name, namespace: ns, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { type: 'cors', config: { allowOrigins: ['*'] }, ...spec },
  } as Policy;
}

describe('label selector', () => {
  const l = { tier: 'public', team: 'flights' };

  test('matchLabels: every pair must be there', () => {
    assert.equal(matchesSelector(l, { matchLabels: { tier: 'public' } }), true);
    assert.equal(matchesSelector(l, { matchLabels: { tier: 'public', team: 'hotels' } }), false);
    assert.equal(matchesSelector(undefined, { matchLabels: { tier: 'public' } }), false);
  });

  test('an empty selector selects everything, an absent one nothing', () => {
    assert.equal(matchesSelector(l, {}), true);
    assert.equal(matchesSelector(undefined, {}), true);
    assert.equal(matchesSelector(l, undefined), false);
  });

  test('In, NotIn, Exists, DoesNotExist as Kubernetes defines them', () => {
    const m = (key: string, operator: string, values?: string[]) => matchesSelector(l, { matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
    assert.equal(m('tier', 'In', ['public', 'partner']), true);
    assert.equal(m('tier', 'In', ['internal']), false);
    assert.equal(m('missing', 'In', ['x']), false);
    assert.equal(m('tier', 'NotIn', ['internal']), true);
    assert.equal(m('tier', 'NotIn', ['public']), false);
    assert.equal(m('missing', 'NotIn', ['x']), true, 'NotIn matches an absent key');
    assert.equal(m('team', 'Exists'), true);
    assert.equal(m('missing', 'Exists'), false);
    assert.equal(m('missing', 'DoesNotExist'), true);
    assert.equal(m('team', 'DoesNotExist'), false);
  });

  test('matchLabels and matchExpressions together: all must hold', () => {
    assert.equal(matchesSelector(l, { matchLabels: { team: 'flights' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['public'] }] }), true);
    assert.equal(matchesSelector(l, { matchLabels: { team: 'flights' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['public'] }] }), false);
  });

  test('malformed requirements are reported and match nothing, never widening a policy', () => {
    const bad = { matchExpressions: [
      { key: 'tier', operator: 'In', values: [] },
      { key: 'tier', operator: 'NotIn' },
      { key: 'team', operator: 'Exists', values: ['x'] },
      { key: 'team', operator: 'Like', values: ['x'] },
      { key: '', operator: 'Exists' },
    ] };
    assert.deepEqual(selectorProblems(bad), [
      { path: '/matchExpressions/0/values', message: 'must have at least one value for operator In' },
      { path: '/matchExpressions/1/values', message: 'must have at least one value for operator NotIn' },
      { path: '/matchExpressions/2/values', message: 'must be empty for operator Exists' },
      { path: '/matchExpressions/3/operator', message: 'must be one of: "In", "NotIn", "Exists", "DoesNotExist"' },
      { path: '/matchExpressions/4/key', message: 'must not be empty' },
    ]);
    for (const r of bad.matchExpressions) assert.equal(matchesSelector({ tier: 'x', team: 'y' }, { matchExpressions: [r] }), false, JSON.stringify(r));
    assert.deepEqual(selectorProblems({ matchLabels: { a: 'b' } }), []);
    assert.deepEqual(selectorProblems(undefined), []);
  });
});

describe('what a policy applies to, and in which order', () => {
  const a = inst('a', { exposure: 'public' });
  const b = inst('b', { exposure: 'internal' });
  const c = inst('c', { exposure: 'public' });
  const elsewhere = inst('a', { exposure: 'public' }, 'mule-prod');

  test('targetRef: the one named instance of the same namespace', () => {
    const p = pol('cors', { targetRef: { name: 'a' } });
    assert.equal(policyAppliesTo(p, a), true);
    assert.equal(policyAppliesTo(p, b), false);
    assert.equal(policyAppliesTo(p, elsewhere), false, 'never another namespace');
  });

  test('selector: the matching instances of its namespace, names sorted', () => {
    const p = pol('auto', { selector: { matchLabels: { exposure: 'public' } } });
    assert.deepEqual(appliedTo(p, [c, b, a, elsewhere]), ['a', 'c']);
    assert.deepEqual(appliedTo(pol('all', { selector: {} }), [c, b, a, elsewhere]), ['a', 'b', 'c']);
  });

  test('policiesFor: order ascending (default 100), ties by name; other namespaces and deleted policies left out', () => {
    const ps = [
      pol('z-default', { targetRef: { name: 'a' } }),
      pol('rate', { type: 'rate-limit', order: 200, config: { limits: [{ requests: 10, period: 'second' }] }, selector: {} }),
      pol('key', { type: 'api-key', order: 10, config: {}, selector: { matchLabels: { exposure: 'public' } } }),
      pol('a-default', { selector: { matchExpressions: [{ key: 'exposure', operator: 'Exists' }] } }),
      pol('leaving', { targetRef: { name: 'a' }, order: 1 }, 'max-prod', true),
      pol('theirs', { targetRef: { name: 'a' }, order: 1 }, 'mule-prod'),
      pol('not-me', { targetRef: { name: 'b' }, order: 1 }),
    ];
    assert.deepEqual(policiesFor(a, ps).map((p) => p.metadata.name), ['key', 'a-default', 'z-default', 'rate']);
    assert.deepEqual(policiesFor(b, ps).map((p) => p.metadata.name), ['not-me', 'a-default', 'rate']);
    assert.equal(comparePolicies(pol('x', { order: 100 }), pol('x', {})), 0);
  });

  test('policiesFor keeps a policy whose config is invalid, so the renderer can fail closed', () => {
    const broken = pol('key', { type: 'api-key', config: { header: 'bad header' }, targetRef: { name: 'a' } });
    assert.deepEqual(policiesFor(a, [broken]).map((p) => p.metadata.name), ['key']);
  });
});

describe('policy status', () => {
  const a = inst('a', { exposure: 'public' });
  const b = inst('b', { exposure: 'public' });

  test('targetRef found: Ready Applied', () => {
    assert.deepEqual(desiredPolicyStatus(pol('cors', { targetRef: { name: 'a' } }), [a, b]), {
      appliedTo: ['a'],
      ready: { type: 'Ready', status: 'True', reason: 'Applied', message: 'cors policy (order 100) applies to ApiInstance "a"' },
    });
  });

  test('targetRef missing: TargetNotFound naming it and the namespace', () => {
    assert.deepEqual(desiredPolicyStatus(pol('cors', { targetRef: { name: 'ghost' } }), [a]), {
      appliedTo: [],
      ready: { type: 'Ready', status: 'False', reason: 'TargetNotFound', message: 'ApiInstance "ghost" does not exist in namespace "max-prod"' },
    });
  });

  test('selector: names and count; matching nothing yet is still Ready', () => {
    const d = desiredPolicyStatus(pol('auto', { order: 5, selector: { matchLabels: { exposure: 'public' } } }), [b, a]);
    assert.deepEqual(d.appliedTo, ['a', 'b']);
    assert.equal(d.ready.message, 'cors policy (order 5) applies to 2 ApiInstances in namespace "max-prod": "a", "b"');
    const none = desiredPolicyStatus(pol('auto', { selector: { matchLabels: { exposure: 'partner' } } }), [a, b]);
    assert.deepEqual(none, {
      appliedTo: [],
      ready: { type: 'Ready', status: 'True', reason: 'Applied', message: 'cors policy (order 100): the selector matches no ApiInstance in namespace "max-prod" yet' },
    });
  });

  test('invalid config: InvalidConfig with every bad field by JSON pointer and what was expected', () => {
    const p = pol('rl', { type: 'rate-limit', targetRef: { name: 'a' }, config: { limits: [{ requests: 0, period: 'week' }], extra: true } });
    assert.deepEqual(desiredPolicyStatus(p, [a]), {
      appliedTo: ['a'],
      ready: {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidConfig',
        message:
          'spec.config is invalid: /spec/config/extra: is not a known field; /spec/config/limits/0/requests: must be >= 1; ' +
          '/spec/config/limits/0/period: must be one of: "second", "minute", "hour", "day"',
      },
    });
    const missing = desiredPolicyStatus(pol('rl', { type: 'rate-limit', targetRef: { name: 'a' }, config: undefined }), [a]);
    assert.equal(missing.ready.message, 'spec.config is invalid: /spec/config/limits: is required');
  });

  test('invalid selector: InvalidSelector, applies to nothing', () => {
    const d = desiredPolicyStatus(pol('auto', { selector: { matchExpressions: [{ key: 'exposure', operator: 'In', values: [] }] } }), [a]);
    assert.deepEqual(d, {
      appliedTo: [],
      ready: { type: 'Ready', status: 'False', reason: 'InvalidSelector', message: 'spec.selector is invalid: /spec/selector/matchExpressions/0/values: must have at least one value for operator In' },
    });
  });

  test('a long list is abbreviated in the message', () => {
    const many = Array.from({ length: 12 }, (_, i) => inst(`i${String(i).padStart(2, '0')}`));
    const d = desiredPolicyStatus(pol('all', { selector: {} }), many);
    assert.equal(d.appliedTo.length, 12);
    assert.match(d.ready.message, /"i09" and 2 more$/);
  });
});
