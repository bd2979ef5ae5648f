// Governance report end to end (issue 18, part 2) on the real apiserver: a
// ruleset requiring an enforcing policy and an https or in-cluster upstream for
// production reports an instance without them with both reasons, then
// conformant once fixed; the ApiInstance's Conformant condition and the
// operator's gauge follow; a breaking change is admitted with a warning that
// kubectl prints. Played by the attacker too (an organization admin,
// impersonated): her ruleset never lists, counts or warns about another
// organization's instances, also with the webhook out of the way; and her
// organization's rulesets are bounded (8 evaluated, a 9th refused or idle).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL_PROMOTION } from '../../api/labels.ts';
import {
  applyYaml, condition, ex, getJson, kubectl, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition, type RunningOperator,
} from './support/index.ts';

const owner = uniqueName('gov');
const rogue = uniqueName('govrogue');
const A = { home: `${owner}-home`, prod: `${owner}-prod`, sandbox: `${owner}-sandbox` };
const R = { home: `${rogue}-home`, prod: `${rogue}-prod` };
const ADMIN = { as: 'alice', groups: [`${owner}:admins`] };
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };
const RULESET = `${A.home}/production-baseline`;

const org = (name: string, home: string, envs: string, prefix: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${name}}
spec:
  domain: ${name}
  displayName: ${name}
  homeNamespace: ${home}
  environments: [${envs}]
  adminGroups: ["${name}:admins"]
  routes: {pathPrefixes: ["${prefix}"]}
  upstreams: {allowedHosts: ["*.${name}.example"]}
`;
const asset = (ns: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${ns}}
spec: {type: http, title: API, version: 1.0.0}
`;
const instance = (ns: string, name: string, basePath: string, url: string) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${ns}}
spec:
  assetRef: {name: api}
  basePath: ${basePath}
  upstream: {url: "${url}"}
`;
const ruleset = (ns: string, name: string, require: string) => `apiVersion: crossgate.dev/v1alpha1
kind: GovernanceRuleset
metadata: {name: ${name}, namespace: ${ns}}
spec:
  rules:
    - name: enforced
      environmentTypes: [production]
      require: ${require}
`;
const gaugeLine = (metrics: string, organization: string, rs: string, rule: string) =>
  metrics.split('\n').find((l) => l.startsWith(`crossgate_governance_nonconforming_instances{organization="${organization}",ruleset="${rs}",rule="${rule}"}`));

describe('governance report', () => {
  let webhook: SkippableWebhook;
  let op: RunningOperator;
  const metrics = async () => (await fetch(`${op.healthUrl}/metrics`)).text();
  const rulesetStatus = async (ns: string, name: string) => (await getJson(['governanceruleset', name, '-n', ns]))?.status;

  before(async () => {
    webhook = new SkippableWebhook();
    await webhook.start();
    op = await startOperator();
    await applyYaml(org(owner, A.home, `{name: production, namespace: ${A.prod}, type: production}, {name: sandbox, namespace: ${A.sandbox}, type: sandbox}`, `/${owner}`));
    await applyYaml(org(rogue, R.home, `{name: production, namespace: ${R.prod}, type: production}`, `/${rogue}`));
    await waitForCondition(['organization', owner], 'Ready', 'True');
    await waitForCondition(['organization', rogue], 'Ready', 'True');
    for (const [yaml, who] of [
      [asset(A.home), ADMIN],
      [instance(A.prod, 'baggage', `/${owner}/baggage`, `http://baggage.${owner}.example`), ADMIN],
      [instance(A.sandbox, 'baggage', `/${owner}/baggage`, `http://baggage.${owner}.example`), ADMIN],
      [asset(R.home), MALLORY],
      [instance(R.prod, 'decoy', `/${rogue}/decoy`, `https://decoy.${rogue}.example`), MALLORY],
    ] as const) {
      const r = await applyYaml(yaml, { ...who, allowFail: true });
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    await kubectl(['delete', '-f', ex('max-airlines'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    // The promotion keeps its copies (deletionPolicy Retain): they are not in examples/, so they go by their label.
    await kubectl(['delete', 'apiinstances,policies,slatiers,alerts', '-n', 'max-airlines-prod', '-l', LABEL_PROMOTION, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    for (const o of [owner, rogue]) await kubectl(['delete', 'organization', o, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', A.home, A.prod, A.sandbox, R.home, R.prod, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('an instance without an enforcing policy and with plain http is non-conformant with both reasons; conformant once fixed; the gauge follows', async () => {
    const r = await applyYaml(ruleset(A.home, 'production-baseline', '{policies: [{anyOf: [api-key, client-id-enforcement]}], secureUpstream: true}'), { ...ADMIN, allowFail: true });
    assert.equal(r.code, 0, r.stderr);
    const failing = await waitFor(async () => {
      const s = await rulesetStatus(A.home, 'production-baseline');
      return s?.nonConformingCount === 1 ? s : undefined;
    }, { what: 'the ruleset reports the production instance' });
    assert.equal(failing.scope, `organization ${owner}`);
    assert.equal(failing.evaluated, 1, 'the sandbox instance is not selected by a production rule');
    assert.equal(failing.conformingCount, 0);
    assert.deepEqual(failing.nonConforming.map((n: { namespace: string; name: string }) => `${n.namespace}/${n.name}`), [`${A.prod}/baggage`]);
    const messages = failing.nonConforming[0].failures.map((f: { message: string }) => f.message);
    assert.deepEqual(failing.nonConforming[0].failures.map((f: { requirement: string }) => f.requirement), ['policies', 'secureUpstream']);
    assert.match(messages[0], new RegExp(`no api-key or client-id-enforcement Policy applies to ApiInstance "${A.prod}/baggage": apply a Policy of type api-key or client-id-enforcement`));
    assert.match(messages[1], new RegExp(`spec.upstream.url "http://baggage.${owner}.example" is plain http to a host outside the cluster: use an https:// URL, or a Service of the namespace`));

    const get = (await kubectl(['get', 'governancerulesets', '-n', A.home])).stdout;
    assert.match(get, /SCOPE\s+CONFORMING\s+NON-CONFORMING\s+READY\s+REASON/);
    assert.match(get, new RegExp(`production-baseline\\s+organization ${owner}\\s+0\\s+1\\s+True\\s+Evaluated`));

    const inst = await waitForCondition(['apiinstance', 'baggage', '-n', A.prod], 'Conformant', 'False');
    assert.equal(condition(inst, 'Conformant')!.reason, 'RulesetsFailed');
    assert.match(condition(inst, 'Conformant')!.message, new RegExp(`fails GovernanceRuleset "${RULESET}" rules enforced \\(policies\\), enforced \\(secureUpstream\\)`));
    assert.ok(condition(inst, 'Ready'), "the ApiInstance reconciler's conditions stay beside Conformant");
    const sandbox = await waitForCondition(['apiinstance', 'baggage', '-n', A.sandbox], 'Conformant', 'True');
    assert.equal(condition(sandbox, 'Conformant')!.reason, 'NoRulesetSelects');

    await waitFor(async () => gaugeLine(await metrics(), owner, RULESET, 'enforced')?.endsWith(' 1'), { what: 'the gauge counts the instance' });

    // Fixed: an api-key Policy and an https upstream.
    const fix = await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: baggage-key, namespace: ${A.prod}}
spec: {type: api-key, targetRef: {name: baggage}}
---
${instance(A.prod, 'baggage', `/${owner}/baggage`, `https://baggage.${owner}.example`)}`, { ...ADMIN, allowFail: true });
    assert.equal(fix.code, 0, fix.stderr);
    assert.doesNotMatch(fix.stderr, /breaks GovernanceRuleset/, 'a fix brings no warning');
    const passing = await waitFor(async () => {
      const s = await rulesetStatus(A.home, 'production-baseline');
      return s?.conformingCount === 1 ? s : undefined;
    }, { what: 'the instance conforms' });
    assert.equal(passing.nonConformingCount, 0);
    assert.deepEqual(passing.conforming, [`${A.prod}/baggage`]);
    const fixed = await waitForCondition(['apiinstance', 'baggage', '-n', A.prod], 'Conformant', 'True');
    assert.match(condition(fixed, 'Conformant')!.message, new RegExp(`passes GovernanceRuleset "${RULESET}"`));
    await waitFor(async () => gaugeLine(await metrics(), owner, RULESET, 'enforced')?.endsWith(' 0'), { what: 'the gauge back to 0' });
  });

  test('a change that breaks a rule is admitted with a warning kubectl prints, naming the ruleset and the reason', async () => {
    const r = await kubectl(['patch', 'apiinstance', 'baggage', '-n', A.prod, '--type=merge', '-p', JSON.stringify({ spec: { upstream: { url: `http://baggage.${owner}.example` } } }), '--as', ADMIN.as, '--as-group', ADMIN.groups[0]!], { allowFail: true });
    assert.equal(r.code, 0, `a warning never refuses: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Warning: ApiInstance "${A.prod}/baggage" breaks GovernanceRuleset "${RULESET}" rule "enforced": ApiInstance "${A.prod}/baggage": spec.upstream.url "http://baggage.${owner}.example" is plain http`));
    // A Policy retargeted away leaves the instance without its credential: warned too.
    const p = await kubectl(['patch', 'policy', 'baggage-key', '-n', A.prod, '--type=merge', '-p', JSON.stringify({ spec: { targetRef: { name: 'other' } } }), '--as', ADMIN.as, '--as-group', ADMIN.groups[0]!], { allowFail: true });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, new RegExp(`Warning: Policy "${A.prod}/baggage-key" on ApiInstance "baggage" breaks GovernanceRuleset "${RULESET}" rule "enforced": no api-key or client-id-enforcement Policy applies`));
    await waitFor(async () => (await rulesetStatus(A.home, 'production-baseline'))?.nonConformingCount === 1, { what: 'reported again' });
  });

  test("the attacker's ruleset never lists, counts or warns about another organization's instances, with or without the webhook", async () => {
    const everything = '{alert: true}';
    // In her own home namespace: admitted, and it reads her organization only.
    const own = await applyYaml(ruleset(R.home, 'spy', everything), { ...MALLORY, allowFail: true });
    assert.equal(own.code, 0, own.stderr);
    const spy = await waitFor(async () => {
      const s = await rulesetStatus(R.home, 'spy');
      return s?.evaluated !== undefined ? s : undefined;
    }, { what: "the attacker's ruleset evaluated" });
    assert.equal(spy.scope, `organization ${rogue}`);
    assert.equal(spy.evaluated, 1);
    assert.deepEqual(spy.nonConforming.map((n: { namespace: string; name: string }) => `${n.namespace}/${n.name}`), [`${R.prod}/decoy`]);
    assert.doesNotMatch(JSON.stringify(spy), new RegExp(owner));
    const m = await metrics();
    assert.ok(gaugeLine(m, rogue, `${R.home}/spy`, 'enforced'));
    assert.equal(gaugeLine(m, owner, `${R.home}/spy`, 'enforced'), undefined, 'no series of the other organization');

    // The other organization's admission never hears of her ruleset.
    const change = await kubectl(['label', 'apiinstance', 'baggage', '-n', A.prod, 'touched=yes', '--overwrite', '--as', ADMIN.as, '--as-group', ADMIN.groups[0]!], { allowFail: true });
    assert.equal(change.code, 0, change.stderr);
    assert.doesNotMatch(change.stderr, /spy/);
    const victim = await getJson(['apiinstance', 'baggage', '-n', A.prod]);
    assert.doesNotMatch(condition(victim, 'Conformant')!.message, /spy/);

    // Where she has no rights, RBAC refuses; in an environment namespace, admission says where a ruleset belongs.
    const foreign = await applyYaml(ruleset(A.home, 'spy', everything), { ...MALLORY, allowFail: true });
    assert.notEqual(foreign.code, 0);
    assert.match(foreign.stderr, /forbidden/i);
    const misplaced = await applyYaml(ruleset(R.prod, 'spy', everything), { ...MALLORY, allowFail: true });
    assert.notEqual(misplaced.code, 0);
    assert.match(misplaced.stderr, new RegExp(`namespace "${R.prod}" is an environment namespace of Organization "${rogue}": a GovernanceRuleset lives in the organization's home namespace, "${R.home}"`));

    // With the webhook skipped it is stored, and the operator reads nothing through it.
    await webhook.without(async () => {
      const w = await applyYaml(ruleset(R.prod, 'spy', everything), { ...MALLORY, allowFail: true });
      assert.equal(w.code, 0, w.stderr);
      const s = await waitForCondition(['governanceruleset', 'spy', '-n', R.prod], 'Ready', 'False', { reason: 'Misplaced' });
      assert.equal(s.status.evaluated, 0);
      assert.deepEqual(s.status.nonConforming ?? [], []);
      assert.match(condition(s, 'Ready')!.message, /a GovernanceRuleset lives in the organization's home namespace/);
    });
    const spyAgain = await rulesetStatus(R.home, 'spy');
    assert.doesNotMatch(JSON.stringify(spyAgain), new RegExp(owner));
  });

  test("the attacker's rulesets are bounded: the one beyond 8 is refused at admission and, with the webhook skipped, reads nothing and adds no series", async () => {
    // Each ruleset is evaluated over every instance of her organization on every change, at every admission there,
    // and counted per rule in the shared operator's gauge: a thousand of them would load everyone's operator and webhook.
    const existing = (await getJson(['governancerulesets', '-n', R.home]))?.items?.length ?? 0;
    const flood = Array.from({ length: 8 - existing }, (_, i) => `flood-${i}`);
    for (const name of flood) {
      const r = await applyYaml(ruleset(R.home, name, '{alert: true}'), { ...MALLORY, allowFail: true });
      assert.equal(r.code, 0, r.stderr);
    }
    const refused = await applyYaml(ruleset(R.home, 'one-more', '{alert: true}'), { ...MALLORY, allowFail: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`GovernanceRuleset "one-more": namespace "${R.home}" already holds 8 GovernanceRulesets \\(.*\\), the most an organization's home namespace may hold \\(8\\): add the rules to one of them \\(up to 32 each\\), or delete one`));
    await webhook.without(async () => {
      const w = await applyYaml(ruleset(R.home, 'one-more', '{alert: true}'), { ...MALLORY, allowFail: true });
      assert.equal(w.code, 0, w.stderr);
      const s = await waitForCondition(['governanceruleset', 'one-more', '-n', R.home], 'Ready', 'False', { reason: 'TooManyRulesets' });
      assert.match(condition(s, 'Ready')!.message, new RegExp(`^namespace "${R.home}" holds more than 8 GovernanceRulesets and only the 8 oldest are evaluated \\(.*\\): this one reads nothing`));
      assert.equal(s.status.evaluated, 0);
      assert.equal(s.status.scope, 'none');
    });
    assert.equal(gaugeLine(await metrics(), rogue, `${R.home}/one-more`, 'enforced'), undefined, 'no gauge series');
    const decoy = await getJson(['apiinstance', 'decoy', '-n', R.prod]);
    assert.doesNotMatch(condition(decoy, 'Conformant')?.message ?? '', /one-more/);
    await kubectl(['delete', 'governanceruleset', '-n', R.home, 'one-more', ...flood, '--ignore-not-found', '--wait=true']);
  });

  test("examples/: Max Airlines' production ruleset finds flights, fares and the promoted baggage conforming", async () => {
    for (const f of ['00-organization.yaml', '20-asset-flights-eapi.yaml', '21-asset-fares-eapi.yaml', '22-asset-baggage-eapi.yaml']) await applyYaml(ex('max-airlines', f));
    await waitForCondition(['organization', 'max-airlines'], 'Ready', 'True');
    for (const f of [
      '40-apiinstance-flights.yaml', '41-policies.yaml', '42-slatiers.yaml', '43-apiinstance-fares.yaml', '44-policies-fares.yaml', '45-apigroup-partner-apis.yaml', '46-slatier-partner-gold.yaml',
      '60-sandbox-apiinstance-baggage.yaml', '61-sandbox-policies-baggage.yaml', '62-sandbox-slatiers-baggage.yaml', '63-sandbox-alert-baggage.yaml', '70-apipromotion-baggage-prod.yaml',
    ]) {
      await applyYaml(ex('max-airlines', f));
    }
    const r = await applyYaml(ex('max-airlines', '80-governanceruleset-production.yaml'));
    assert.equal(r.code, 0, r.stderr);
    const report = await waitFor(async () => {
      const s = await rulesetStatus('max-airlines', 'production-baseline');
      return s?.conformingCount === 3 ? s : undefined;
    }, { what: 'the three production instances conform (the sandbox one is not selected)', timeoutMs: 60_000 });
    assert.deepEqual(report.conforming, ['max-airlines-prod/baggage', 'max-airlines-prod/fares', 'max-airlines-prod/flights']);
    assert.equal(report.evaluated, 3);
    assert.equal(report.nonConformingCount, 0);
    // One credential policy moved away: flights still takes the other, nothing to warn about.
    const retarget = (name: string) =>
      kubectl(['patch', 'policy', name, '-n', 'max-airlines-prod', '--type=merge', '-p', JSON.stringify({ spec: { targetRef: { name: 'nothing' } } })], { allowFail: true });
    const first = await retarget('flights-api-key');
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /breaks GovernanceRuleset/, 'flights keeps its client-id-enforcement Policy');
    // The second one too: warned at admission, reported by the operator.
    const second = await retarget('flights-client-id');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /Warning: Policy "max-airlines-prod\/flights-client-id" on ApiInstance "flights" breaks GovernanceRuleset "max-airlines\/production-baseline" rule "enforced-production": no api-key or client-id-enforcement Policy applies/);
    const failing = await waitFor(async () => {
      const s = await rulesetStatus('max-airlines', 'production-baseline');
      return s?.nonConformingCount === 1 && s.conformingCount === 2 ? s : undefined;
    }, { what: 'flights reported' });
    assert.deepEqual(failing.nonConforming.map((n: { name: string }) => n.name), ['flights']);
    assert.ok(failing.nonConforming[0].failures.some((f: { requirement: string }) => f.requirement === 'policies'));
    await waitForCondition(['apiinstance', 'flights', '-n', 'max-airlines-prod'], 'Conformant', 'False');
  });
});
