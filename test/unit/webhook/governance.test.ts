// Governance at admission (webhook/rules/governance.ts): a ruleset's namespace
// is checked with the message users read; ApiInstance and Policy changes that
// break a rule are admitted with warnings (never refused), only for rulesets
// that may read them, and the warnings reach the AdmissionReview response.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import { admissionResponse } from '../../../webhook/server.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { MAX_ORGANIZATION_RULESETS, type GovernanceRule } from '../../../api/v1alpha1/index.ts';
import { API_VERSION, apiInstance, request, story } from './fixtures.ts';

const PROD = 'max-airlines-prod';
const HOME = 'max-airlines-home';
const enforced: GovernanceRule = {
  name: 'enforced',
  environmentTypes: ['production'],
  require: { policies: [{ anyOf: ['api-key', 'client-id-enforcement'] }], secureUpstream: true },
};
const ruleset = (ns: string, name = 'baseline', rules: GovernanceRule[] = [enforced]) =>
  ({ apiVersion: API_VERSION, kind: 'GovernanceRuleset', metadata: { name, namespace: ns }, spec: { rules } }) as unknown as KubeObject & { metadata: { name: string; namespace: string } };
const policy = (name: string, type: string, target: string) =>
  ({ apiVersion: API_VERSION, kind: 'Policy', metadata: { name, namespace: PROD }, spec: { type, targetRef: { name: target } } }) as unknown as KubeObject;
const withUpstream = (url: string) => {
  const i = apiInstance(PROD, 'baggage');
  return { ...i, spec: { ...i.spec, basePath: '/flights/baggage/v1', upstream: { url } } } as unknown as KubeObject;
};

describe('GovernanceRuleset admission', () => {
  test('allowed in a home namespace; refused in an environment namespace with where it belongs', () => {
    const s = story();
    assert.deepEqual(review(request('CREATE', ruleset(HOME)), s), { allowed: true });
    assert.deepEqual(review(request('CREATE', ruleset(PROD)), s), {
      allowed: false,
      message:
        'GovernanceRuleset "baseline": namespace "max-airlines-prod" is an environment namespace of Organization "max-airlines": a GovernanceRuleset lives in the organization\'s home namespace, "max-airlines-home"',
      field: 'metadata.namespace',
    });
  });

  test(`a home namespace holds at most ${MAX_ORGANIZATION_RULESETS}: a new one beyond is refused naming them; an update of one is not`, () => {
    const existing = Array.from({ length: MAX_ORGANIZATION_RULESETS }, (_, i) => ruleset(HOME, `rs-${i}`));
    const s = story({ governanceRulesets: existing as never });
    assert.deepEqual(review(request('CREATE', ruleset(HOME, 'one-more')), s), {
      allowed: false,
      message:
        'GovernanceRuleset "one-more": namespace "max-airlines-home" already holds 8 GovernanceRulesets ("rs-0", "rs-1", "rs-2", "rs-3", "rs-4", "rs-5", "rs-6", "rs-7"), ' +
        "the most an organization's home namespace may hold (8): add the rules to one of them (up to 32 each), or delete one",
      field: 'metadata.namespace',
    });
    assert.deepEqual(review(request('UPDATE', ruleset(HOME, 'rs-3'), ruleset(HOME, 'rs-3')), s), { allowed: true });
    assert.deepEqual(review(request('CREATE', ruleset(HOME, 'one-more')), story({ governanceRulesets: existing.slice(1) as never })), { allowed: true });
  });

  test('a ruleset whose schema is wrong is refused by the schema check', () => {
    const bad = ruleset(HOME, 'bad', [{ name: 'Not A Label', require: {} } as GovernanceRule]);
    assert.equal(review(request('CREATE', bad), story()).allowed, false);
  });
});

describe('warnings for a change that breaks a rule', () => {
  test('a new production instance without an enforcing policy and with plain http gets both warnings, and is admitted', () => {
    const s = story({ governanceRulesets: [ruleset(HOME) as never] });
    assert.deepEqual(review(request('CREATE', withUpstream('http://baggage.max-airlines.example')), s), {
      allowed: true,
      warnings: [
        'ApiInstance "max-airlines-prod/baggage" breaks GovernanceRuleset "max-airlines-home/baseline" rule "enforced": no api-key or client-id-enforcement Policy applies to ApiInstance "max-airlines-prod/baggage"',
        'ApiInstance "max-airlines-prod/baggage" breaks GovernanceRuleset "max-airlines-home/baseline" rule "enforced": ApiInstance "max-airlines-prod/baggage": spec.upstream.url "http://baggage.max-airlines.example" is plain http to a host outside the cluster',
      ],
    });
  });

  test('an update warns only about what it breaks', () => {
    const s = story({ governanceRulesets: [ruleset(HOME) as never], policies: [policy('key', 'api-key', 'baggage') as never] });
    const good = withUpstream('https://baggage.max-airlines.example');
    assert.deepEqual(review(request('UPDATE', good, good), s), { allowed: true });
    assert.deepEqual(review(request('UPDATE', withUpstream('http://baggage.max-airlines.example'), good), s), {
      allowed: true,
      warnings: [
        'ApiInstance "max-airlines-prod/baggage" breaks GovernanceRuleset "max-airlines-home/baseline" rule "enforced": ApiInstance "max-airlines-prod/baggage": spec.upstream.url "http://baggage.max-airlines.example" is plain http to a host outside the cluster',
      ],
    });
  });

  test("another organization's ruleset never warns, and so reads nothing of this instance", () => {
    const s = story({ governanceRulesets: [ruleset('mule-united-home', 'theirs') as never] });
    assert.deepEqual(review(request('CREATE', withUpstream('http://baggage.max-airlines.example')), s), { allowed: true });
  });

  test('a platform ruleset (platform namespace) warns every organization', () => {
    const s = story({ governanceRulesets: [ruleset('crossgate-system', 'platform') as never] });
    const verdict = review(request('CREATE', withUpstream('https://baggage.max-airlines.example')), s);
    assert.deepEqual(verdict, {
      allowed: true,
      warnings: [
        'ApiInstance "max-airlines-prod/baggage" breaks GovernanceRuleset "crossgate-system/platform" rule "enforced": no api-key or client-id-enforcement Policy applies to ApiInstance "max-airlines-prod/baggage"',
      ],
    });
  });

  test('a Policy changed from api-key to cors leaves its instance without an enforcing policy: a warning', () => {
    const instance = withUpstream('https://baggage.max-airlines.example');
    const s = story({ governanceRulesets: [ruleset(HOME) as never], apiInstances: [instance as never], policies: [policy('key', 'api-key', 'baggage') as never] });
    const cors = { ...(policy('key', 'cors', 'baggage') as object), spec: { type: 'cors', targetRef: { name: 'baggage' }, config: { allowOrigins: ['https://app.max-airlines.example'] } } } as unknown as KubeObject;
    assert.deepEqual(review(request('UPDATE', cors, policy('key', 'api-key', 'baggage')), s), {
      allowed: true,
      warnings: [
        'Policy "max-airlines-prod/key" on ApiInstance "baggage" breaks GovernanceRuleset "max-airlines-home/baseline" rule "enforced": no api-key or client-id-enforcement Policy applies to ApiInstance "max-airlines-prod/baggage"',
      ],
    });
    // A Policy that adds enforcement breaks nothing.
    assert.deepEqual(review(request('CREATE', policy('key2', 'client-id-enforcement', 'baggage')), s), { allowed: true });
  });
});

describe('the AdmissionReview response', () => {
  test('carries warnings when allowed, and none when there are none', () => {
    assert.deepEqual(admissionResponse('u1', { allowed: true, warnings: ['w'] }).response, { uid: 'u1', allowed: true, warnings: ['w'] });
    assert.deepEqual(admissionResponse('u1', { allowed: true }).response, { uid: 'u1', allowed: true });
  });
});
