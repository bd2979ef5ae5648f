// Governance rules (model/governance.ts): every requirement with the message a
// platform engineer reads, what a ruleset may read (its namespace decides), the
// bounded report, the Conformant condition and the admission warnings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, ApiGroup, ApiInstance, Asset, GovernanceRule, GovernanceRuleset, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import { MAX_ORGANIZATION_RULESETS, MAX_REPORTED_INSTANCES } from '../../../api/v1alpha1/index.ts';
import {
  checkInstance, conformantCondition, countedRulesets, describeScope, evaluateRuleset, governanceInputs, instanceResults, instancesInScope, newFailureWarnings, platformNamespaceOf, rulesetScope,
  newRulesetLimitProblem, rulesetsFor, upstreamProblem, type Failure,
} from '../../../model/governance.ts';
import type { SnapshotLists } from '../../../model/snapshot.ts';
import { API_VERSION, apiInstance, asset, story } from '../webhook/fixtures.ts';

const PROD = 'max-airlines-prod';
const SANDBOX = 'max-airlines-sandbox';
const HOME = 'max-airlines-home';

function instance(ns: string, name: string, upstream: ApiInstance['spec']['upstream'] = { url: 'http://flights.example.org' }, labels?: Record<string, string>): ApiInstance {
  const i = apiInstance(ns, name);
  return { ...i, metadata: { ...i.metadata, ...(labels ? { labels } : {}) }, spec: { ...i.spec, upstream } };
}
function policy(ns: string, name: string, type: Policy['spec']['type'], target: string, config?: Record<string, unknown>): Policy {
  return { apiVersion: API_VERSION, kind: 'Policy', metadata: { name, namespace: ns }, spec: { type, targetRef: { name: target }, ...(config ? { config } : {}) } } as Policy;
}
function alert(ns: string, target: string): Alert {
  return { apiVersion: API_VERSION, kind: 'Alert', metadata: { name: `${target}-alert`, namespace: ns }, spec: { apiInstanceRef: { name: target }, severity: 'warning', condition: { type: 'request-count', threshold: 1, periodSeconds: 60 } } } as Alert;
}
function tier(ns: string, name: string, ref: { apiInstanceRef?: { name: string }; apiGroupRef?: { name: string } }): SlaTier {
  return { apiVersion: API_VERSION, kind: 'SlaTier', metadata: { name, namespace: ns }, spec: { ...ref, limits: [{ requests: 10, periodSeconds: 60 }] } } as unknown as SlaTier;
}
function ruleset(ns: string, name: string, rules: GovernanceRule[]): GovernanceRuleset {
  return { apiVersion: API_VERSION, kind: 'GovernanceRuleset', metadata: { name, namespace: ns }, spec: { rules } } as GovernanceRuleset;
}
const readyAsset = (ns: string, name: string, status: 'True' | 'False' = 'True'): Asset => ({
  ...asset(ns, name),
  status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Validated' : 'InvalidSpec', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});

function inputs(lists: Partial<SnapshotLists> & { policies?: Policy[]; slaTiers?: SlaTier[]; alerts?: Alert[] } = {}) {
  const snapshot = story(lists);
  return governanceInputs({ snapshot, platformNamespace: 'crossgate-system', policies: lists.policies ?? [], slaTiers: lists.slaTiers ?? [], alerts: lists.alerts ?? [] });
}
const failuresOf = (lists: Parameters<typeof inputs>[0], rule: GovernanceRule, target = instance(PROD, 'flights')): Failure[] =>
  checkInstance(inputs({ apiInstances: [target], ...lists }), ruleset(HOME, 'rs', [rule]), { instance: target, organization: 'max-airlines', environmentType: 'production' }) ?? [];

describe('requirements and their messages', () => {
  test('policies: each anyOf group names the missing types and how to apply one', () => {
    const rule: GovernanceRule = { name: 'enforced', require: { policies: [{ anyOf: ['api-key', 'client-id-enforcement'] }, { anyOf: ['ip-allowlist', 'ip-blocklist'] }] } };
    const failures = failuresOf({}, rule);
    assert.deepEqual(failures.map((f) => f.message), [
      'no api-key or client-id-enforcement Policy applies to ApiInstance "max-airlines-prod/flights": apply a Policy of type api-key or client-id-enforcement with spec.targetRef {name: flights} in namespace "max-airlines-prod", or a selector matching its labels',
      'no ip-allowlist or ip-blocklist Policy applies to ApiInstance "max-airlines-prod/flights": apply a Policy of type ip-allowlist or ip-blocklist with spec.targetRef {name: flights} in namespace "max-airlines-prod", or a selector matching its labels',
    ]);
    assert.deepEqual(failures.map((f) => [f.rule, f.requirement]), [['enforced', 'policies'], ['enforced', 'policies']]);
    const fixed = failuresOf({ policies: [policy(PROD, 'key', 'client-id-enforcement', 'flights'), policy(PROD, 'ips', 'ip-blocklist', 'flights', { cidrs: ['10.0.0.0/8'] })] }, rule);
    assert.deepEqual(fixed, []);
  });

  test('policies: a policy of another namespace or for another instance does not count', () => {
    const rule: GovernanceRule = { name: 'enforced', require: { policies: [{ anyOf: ['api-key'] }] } };
    assert.equal(failuresOf({ policies: [policy(SANDBOX, 'key', 'api-key', 'flights'), policy(PROD, 'key', 'api-key', 'fares')] }, rule).length, 1);
  });

  test('rateLimitOrTiers: a rate-limit or spike-control Policy, an instance tier or a group tier passes', () => {
    const rule: GovernanceRule = { name: 'limited', require: { rateLimitOrTiers: true } };
    assert.deepEqual(failuresOf({}, rule).map((f) => f.message), [
      'ApiInstance "max-airlines-prod/flights" has no rate-limit or spike-control Policy and no SlaTier: its traffic is unlimited: apply a rate-limit Policy with spec.targetRef {name: flights} in namespace "max-airlines-prod", or a selector matching its labels, or create an SlaTier with spec.apiInstanceRef {name: flights}',
    ]);
    assert.deepEqual(failuresOf({ policies: [policy(PROD, 'rl', 'rate-limit', 'flights')] }, rule), []);
    assert.deepEqual(failuresOf({ policies: [policy(PROD, 'sc', 'spike-control', 'flights')] }, rule), []);
    assert.deepEqual(failuresOf({ slaTiers: [tier(PROD, 'gold', { apiInstanceRef: { name: 'flights' } })] }, rule), []);
    const group = { apiVersion: API_VERSION, kind: 'ApiGroup', metadata: { name: 'partner', namespace: HOME }, spec: { instances: [{ namespace: PROD, name: 'flights' }] } } as unknown as ApiGroup;
    assert.deepEqual(failuresOf({ apiGroups: [group], slaTiers: [tier(HOME, 'partner-gold', { apiGroupRef: { name: 'partner' } })] }, rule), []);
  });

  test('corsWithoutWildcard: no cors Policy, or one allowing "*", each with its fix', () => {
    const rule: GovernanceRule = { name: 'cors', require: { corsWithoutWildcard: true } };
    assert.deepEqual(failuresOf({}, rule).map((f) => f.message), [
      'no cors Policy applies to ApiInstance "max-airlines-prod/flights": apply a cors Policy listing the allowed origins in spec.config.allowOrigins, with spec.targetRef {name: flights} in namespace "max-airlines-prod", or a selector matching its labels',
    ]);
    assert.deepEqual(failuresOf({ policies: [policy(PROD, 'open', 'cors', 'flights', { allowOrigins: ['*'] })] }, rule).map((f) => f.message), [
      'cors Policy "open" of ApiInstance "max-airlines-prod/flights" allows the origin "*" (any site): list the origins that may call the API in its spec.config.allowOrigins instead of "*"',
    ]);
    assert.deepEqual(failuresOf({ policies: [policy(PROD, 'listed', 'cors', 'flights', { allowOrigins: ['https://app.max-airlines.example'] })] }, rule), []);
  });

  test('secureUpstream: plain http outside the cluster fails; https, backendRef and *.svc pass', () => {
    const rule: GovernanceRule = { name: 'tls', require: { secureUpstream: true } };
    assert.deepEqual(failuresOf({}, rule).map((f) => f.message), [
      'ApiInstance "max-airlines-prod/flights": spec.upstream.url "http://flights.example.org" is plain http to a host outside the cluster: use an https:// URL, or a Service of the namespace (spec.upstream.backendRef)',
    ]);
    assert.equal(upstreamProblem(instance(PROD, 'a', { url: 'https://flights.example.org' })), undefined);
    assert.equal(upstreamProblem(instance(PROD, 'a', { backendRef: { name: 'flights', port: 8080 } })), undefined);
    assert.equal(upstreamProblem(instance(PROD, 'a', { url: 'http://flights.max-airlines-prod.svc.cluster.local:8080' })), undefined);
    assert.equal(upstreamProblem(instance(PROD, 'a', { url: 'not a url' })), 'spec.upstream.url "not a url" is not a URL');
    assert.equal(upstreamProblem(instance(PROD, 'a', {} as ApiInstance['spec']['upstream'])), 'it has no upstream');
    const long = `http://flights.example.org/${'a'.repeat(500)}`;
    assert.ok(upstreamProblem(instance(PROD, 'a', { url: long }))!.length < 300, 'a long URL is shortened in the message');
  });

  test('validAsset: missing, not Ready, or of another organization, each named', () => {
    const rule: GovernanceRule = { name: 'asset', require: { validAsset: true } };
    const fix = 'create or fix the Asset (its Ready condition says why), or point spec.assetRef at a Ready Asset of the organization';
    assert.deepEqual(failuresOf({ assets: [] }, rule).map((f) => f.message), [`ApiInstance "max-airlines-prod/flights": Asset "flights-eapi" does not exist in namespace "max-airlines-home": ${fix}`]);
    assert.deepEqual(failuresOf({ assets: [readyAsset(HOME, 'flights-eapi', 'False')] }, rule).map((f) => f.message), [
      `ApiInstance "max-airlines-prod/flights": Asset "max-airlines-home/flights-eapi" is not Ready (InvalidSpec): ${fix}`,
    ]);
    assert.deepEqual(failuresOf({ assets: [asset(HOME, 'flights-eapi')] }, rule).map((f) => f.message), [
      `ApiInstance "max-airlines-prod/flights": Asset "max-airlines-home/flights-eapi" is not Ready (not validated yet): ${fix}`,
    ]);
    const foreign = { ...instance(PROD, 'flights'), spec: { ...instance(PROD, 'flights').spec, assetRef: { name: 'gates', namespace: 'mule-united-home' } } };
    assert.deepEqual(failuresOf({ assets: [readyAsset('mule-united-home', 'gates')] }, rule, foreign).map((f) => f.message), [
      `ApiInstance "max-airlines-prod/flights": spec.assetRef looks in namespace "mule-united-home", which is not Organization "max-airlines"'s: ${fix}`,
    ]);
    assert.deepEqual(failuresOf({ assets: [readyAsset(HOME, 'flights-eapi')] }, rule), []);
  });

  test('alert: an Alert on the instance passes; one on another instance does not', () => {
    const rule: GovernanceRule = { name: 'watched', require: { alert: true } };
    assert.deepEqual(failuresOf({ alerts: [alert(PROD, 'fares')] }, rule).map((f) => f.message), [
      'no Alert watches ApiInstance "max-airlines-prod/flights": create an Alert in namespace "max-airlines-prod" with spec.apiInstanceRef {name: flights}',
    ]);
    assert.deepEqual(failuresOf({ alerts: [alert(PROD, 'flights')] }, rule), []);
  });

  test('tiersEnforced: the TiersEnforced condition, and a credential policy that no longer applies', () => {
    const rule: GovernanceRule = { name: 'tiers', require: { tiersEnforced: true } };
    const fix = 'apply an api-key or client-id-enforcement Policy with spec.targetRef {name: flights} in namespace "max-airlines-prod", or a selector matching its labels';
    const withCondition = (status: 'True' | 'False', reason: string): ApiInstance => ({
      ...instance(PROD, 'flights'),
      status: { conditions: [{ type: 'TiersEnforced', status, reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
    assert.deepEqual(failuresOf({}, rule).map((f) => f.message), [`ApiInstance "max-airlines-prod/flights": its TiersEnforced condition is not reported yet: ${fix}`]);
    assert.deepEqual(failuresOf({}, rule, withCondition('False', 'NoApiKeyPolicy')).map((f) => f.message), [
      `ApiInstance "max-airlines-prod/flights": its SlaTiers are not enforced (TiersEnforced False, NoApiKeyPolicy): ${fix}`,
    ]);
    assert.deepEqual(failuresOf({}, rule, withCondition('True', 'ApiKeyPolicy')).map((f) => f.message), [
      `ApiInstance "max-airlines-prod/flights": its SlaTiers would not be enforced: no api-key or client-id-enforcement Policy applies to it: ${fix}`,
    ]);
    assert.deepEqual(failuresOf({ policies: [policy(PROD, 'key', 'api-key', 'flights')] }, rule, withCondition('True', 'ApiKeyPolicy')), []);
    assert.deepEqual(failuresOf({}, rule, withCondition('True', 'NoTiers')), []);
  });
});

describe('selection', () => {
  test('environment types and the instance selector decide which rules judge an instance', () => {
    const rs = ruleset(HOME, 'rs', [
      { name: 'prod-only', environmentTypes: ['production'], require: { alert: true } },
      { name: 'public', instanceSelector: { matchLabels: { exposure: 'public' } }, require: { secureUpstream: true } },
    ]);
    const gov = inputs({ apiInstances: [instance(PROD, 'flights'), instance(SANDBOX, 'try', undefined, { exposure: 'public' }), instance(SANDBOX, 'internal')] });
    const report = evaluateRuleset(gov, rs);
    assert.equal(report.evaluated, 2, 'the sandbox instance without the label is selected by no rule');
    assert.deepEqual(report.nonConforming.map((n) => [`${n.namespace}/${n.name}`, n.failures.map((f) => f.rule)]), [
      ['max-airlines-prod/flights', ['prod-only']],
      ['max-airlines-sandbox/try', ['public']],
    ]);
  });
});

describe('what a ruleset may read', () => {
  const both = { apiInstances: [instance(PROD, 'flights'), instance('mule-united-prod', 'gates')] };
  const rule: GovernanceRule = { name: 'watched', require: { alert: true } };

  test("an organization's ruleset reads only its organization's environments", () => {
    const report = evaluateRuleset(inputs(both), ruleset(HOME, 'rs', [rule]));
    assert.equal(describeScope(report.scope), 'organization max-airlines');
    assert.deepEqual(report.nonConforming.map((n) => `${n.namespace}/${n.name}`), ['max-airlines-prod/flights']);
    assert.deepEqual(report.byOrganizationAndRule, [{ organization: 'max-airlines', rule: 'watched', count: 1 }]);
    const rogue = evaluateRuleset(inputs(both), ruleset('mule-united-home', 'rs', [rule]));
    assert.deepEqual(rogue.nonConforming.map((n) => `${n.namespace}/${n.name}`), ['mule-united-prod/gates']);
  });

  test('a ruleset in the platform namespace reads every organization; the gauge has a series per organization and rule', () => {
    const report = evaluateRuleset(inputs(both), ruleset('crossgate-system', 'platform', [rule]));
    assert.equal(describeScope(report.scope), 'cluster');
    assert.equal(report.nonConformingCount, 2);
    assert.deepEqual(report.byOrganizationAndRule, [
      { organization: 'max-airlines', rule: 'watched', count: 1 },
      { organization: 'mule-united', rule: 'watched', count: 1 },
    ]);
  });

  test('a ruleset in an environment namespace or a namespace of no organization reads nothing and says where it belongs', () => {
    const snap = story(both);
    assert.deepEqual(rulesetScope(snap, PROD, 'crossgate-system'), {
      kind: 'misplaced',
      message: 'namespace "max-airlines-prod" is an environment namespace of Organization "max-airlines": a GovernanceRuleset lives in the organization\'s home namespace, "max-airlines-home"',
    });
    assert.deepEqual(rulesetScope(snap, 'team-a', 'crossgate-system'), {
      kind: 'misplaced',
      message: 'namespace "team-a" belongs to no Organization: a GovernanceRuleset lives in an organization\'s home namespace, or in the platform namespace "crossgate-system" for every organization',
    });
    assert.deepEqual(instancesInScope(snap, rulesetScope(snap, PROD, 'crossgate-system')), []);
    // A namespace labelled for an organization is not its: only Organization specs decide.
    assert.equal(rulesetScope(snap, 'ghost-ns', 'crossgate-system').kind, 'misplaced');
  });

  test('an instance is judged by its organization\'s rulesets and the platform\'s, never another organization\'s', () => {
    const snap = story(both);
    const all = [ruleset(HOME, 'mine', [rule]), ruleset('mule-united-home', 'theirs', [rule]), ruleset('crossgate-system', 'platform', [rule])];
    const of = (ns: string) => all.filter((r) => r.metadata.namespace === ns);
    assert.deepEqual(rulesetsFor(snap, PROD, 'crossgate-system', of).map((r) => r.metadata.name), ['mine', 'platform']);
    assert.deepEqual(rulesetsFor(snap, HOME, 'crossgate-system', of), [], 'an instance in a home namespace is in no environment');
    const results = instanceResults(inputs(both), instance(PROD, 'flights'), all);
    assert.deepEqual([...results.keys()], ['max-airlines-home/mine', 'crossgate-system/platform'], 'a foreign ruleset passed in is still not applied');
  });

  test('admission knows the platform namespace from the reserved namespaces', () => {
    assert.equal(platformNamespaceOf(story()), 'crossgate-system');
  });
});

describe("how many of an organization's rulesets count", () => {
  const rule: GovernanceRule = { name: 'secure', require: { secureUpstream: true } };
  const at = (ns: string, name: string, minute: number) => ({ ...ruleset(ns, name, [rule]), metadata: { name, namespace: ns, creationTimestamp: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z` } }) as unknown as GovernanceRuleset;
  // Created newest first: the bound keeps the oldest, whatever the list order.
  const own = Array.from({ length: MAX_ORGANIZATION_RULESETS + 3 }, (_, i) => at(HOME, `rs-${String(i).padStart(2, '0')}`, 50 - i));
  const platform = Array.from({ length: MAX_ORGANIZATION_RULESETS + 1 }, (_, i) => at('crossgate-system', `p-${i}`, i));
  const of = (ns: string) => [...own, ...platform].filter((r) => r.metadata.namespace === ns);

  test(`only the ${MAX_ORGANIZATION_RULESETS} oldest of a home namespace judge an instance; the platform's are not bounded`, () => {
    const names = rulesetsFor(story(), PROD, 'crossgate-system', of).map((r) => r.metadata.name ?? '');
    assert.deepEqual(names.filter((n) => n.startsWith('rs-')), own.slice(3).map((r) => r.metadata.name ?? '').reverse());
    assert.equal(names.filter((n) => n.startsWith('p-')).length, MAX_ORGANIZATION_RULESETS + 1);
    assert.deepEqual(countedRulesets(own).map((r) => r.metadata.name ?? ''), names.filter((n) => n.startsWith('rs-')));
  });

  test('one beyond the bound reads nothing and says which ones count and what to do', () => {
    const snap = { apiInstances: [instance(PROD, 'flights')] };
    const newest = own[0]!;
    const report = evaluateRuleset(inputs(snap), newest, own);
    assert.equal(report.evaluated, 0);
    assert.deepEqual(report.byOrganizationAndRule, [], 'no gauge series');
    assert.equal(
      report.tooMany,
      `namespace "${HOME}" holds more than ${MAX_ORGANIZATION_RULESETS} GovernanceRulesets and only the ${MAX_ORGANIZATION_RULESETS} oldest are evaluated ` +
        '("rs-10", "rs-09", "rs-08", "rs-07", "rs-06", "rs-05", "rs-04", "rs-03"): this one reads nothing. Add its rules to one of them (up to 32 each), or delete one',
    );
    assert.equal(evaluateRuleset(inputs(snap), own[3]!, own).evaluated, 1, 'the newest one that counts is evaluated');
    // A deleted ruleset makes room: the next oldest counts.
    const gone = own.map((r, i) => (i === 5 ? { ...r, metadata: { ...r.metadata, deletionTimestamp: '2026-01-02T00:00:00Z' } } : r)) as GovernanceRuleset[];
    assert.equal(evaluateRuleset(inputs(snap), own[2]!, gone).tooMany, undefined);
    // The platform namespace is not bounded.
    assert.equal(evaluateRuleset(inputs(snap), platform.at(-1)!, platform).tooMany, undefined);
  });

  test('admission refuses a new one when the namespace holds the bound, naming them', () => {
    const eight = own.slice(0, MAX_ORGANIZATION_RULESETS);
    assert.equal(newRulesetLimitProblem(HOME, 'another', eight.slice(1)), undefined);
    assert.equal(newRulesetLimitProblem(HOME, eight[0]!.metadata.name!, eight), undefined, 'an existing one re-applied is no new one');
    assert.equal(
      newRulesetLimitProblem(HOME, 'another', eight),
      `namespace "${HOME}" already holds 8 GovernanceRulesets ("rs-00", "rs-01", "rs-02", "rs-03", "rs-04", "rs-05", "rs-06", "rs-07"), ` +
        "the most an organization's home namespace may hold (8): add the rules to one of them (up to 32 each), or delete one",
    );
  });
});

describe('the report', () => {
  test('lists are bounded, counts complete, sorted by namespace and name', () => {
    const many = Array.from({ length: MAX_REPORTED_INSTANCES + 5 }, (_, i) => instance(PROD, `api-${String(i).padStart(3, '0')}`));
    const good = Array.from({ length: MAX_REPORTED_INSTANCES + 3 }, (_, i) => instance(SANDBOX, `ok-${String(i).padStart(3, '0')}`));
    const rs = ruleset(HOME, 'rs', [{ name: 'watched', environmentTypes: ['production'], require: { alert: true } }, { name: 'any', environmentTypes: ['sandbox'], require: {} }]);
    const report = evaluateRuleset(inputs({ apiInstances: [...many, ...good] }), rs);
    assert.equal(report.nonConformingCount, MAX_REPORTED_INSTANCES + 5);
    assert.equal(report.nonConforming.length, MAX_REPORTED_INSTANCES);
    assert.equal(report.conformingCount, MAX_REPORTED_INSTANCES + 3);
    assert.equal(report.conforming.length, MAX_REPORTED_INSTANCES);
    assert.equal(report.nonConforming[0]!.name, 'api-000');
    assert.equal(report.evaluated, 2 * MAX_REPORTED_INSTANCES + 8);
  });
});

describe('the Conformant condition', () => {
  const f = (rule: string, requirement: Failure['requirement']): Failure => ({ rule, requirement, summary: 's', message: 'm' });
  test('no ruleset, passing, and failing (rulesets and rules named)', () => {
    assert.deepEqual(conformantCondition(new Map()), { type: 'Conformant', status: 'True', reason: 'NoRulesetSelects', message: 'no GovernanceRuleset selects this instance' });
    assert.deepEqual(conformantCondition(new Map([['max-airlines-home/rs', []]])), { type: 'Conformant', status: 'True', reason: 'Conformant', message: 'passes GovernanceRuleset "max-airlines-home/rs"' });
    assert.deepEqual(
      conformantCondition(new Map([['max-airlines-home/rs', [f('enforced', 'policies'), f('enforced', 'secureUpstream')]], ['crossgate-system/platform', []]])),
      {
        type: 'Conformant',
        status: 'False',
        reason: 'RulesetsFailed',
        message: 'fails GovernanceRuleset "max-airlines-home/rs" rules enforced (policies), enforced (secureUpstream); the rulesets\' status.nonConforming says how to fix each',
      },
    );
  });
});

describe('admission warnings', () => {
  const failure = (summary: string): Failure => ({ rule: 'enforced', requirement: 'policies', summary, message: `${summary}: fix` });
  test('only failures the change brings, bounded in length and number', () => {
    const before = new Map([['max-airlines-home/rs', [failure('old problem')]]]);
    const after = new Map([['max-airlines-home/rs', [failure('old problem'), failure('new problem')]]]);
    assert.deepEqual(newFailureWarnings('ApiInstance "max-airlines-prod/flights"', after, before), [
      'ApiInstance "max-airlines-prod/flights" breaks GovernanceRuleset "max-airlines-home/rs" rule "enforced": new problem',
    ]);
    assert.equal(newFailureWarnings('x', after, undefined).length, 2, 'a new object: every failure is news');
    const long = newFailureWarnings('x', new Map([['r', [failure('y'.repeat(1000))]]]), undefined);
    assert.equal(long[0]!.length, 256);
    const many = newFailureWarnings('x', new Map([['r', Array.from({ length: 20 }, (_, i) => failure(`p${i}`))]]), undefined);
    assert.equal(many.length, 8);
  });
});
