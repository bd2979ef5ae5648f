// The governance reconcilers in a Manager over the in-memory API: the ruleset's
// report applied as crossgate-governanceruleset, the ApiInstance's Conformant
// condition as crossgate-conformance beside the ApiInstance reconciler's own
// conditions (list map by type, nothing taken over), and the gauge per
// organization and rule following fixes and the ruleset's deletion. The real
// apiserver: test/e2e/governance.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { OperatorMetrics } from '../../../kube/metrics.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { GOVERNANCE_MANAGER, registerGovernanceController } from '../../../operator/controllers/governance.ts';
import { CONFORMANCE_MANAGER, registerConformanceController } from '../../../operator/controllers/governance-conformance.ts';
import { APIINSTANCE_MANAGER } from '../../../operator/controllers/apiinstance.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn } from './memory-api.ts';
import { eventually } from './helpers.ts';
import { MAX_ORGANIZATION_RULESETS } from '../../../api/v1alpha1/index.ts';

const V = 'crossgate.dev/v1alpha1';
const HOME = 'max-home';
const PROD = 'max-prod';
const KEY = `${HOME}/baseline`;

describe('governance controllers (in-memory API)', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const writer = new StatusWriter({ client: statusClientOn(api, ownership) });
  let mgr: Manager;
  const rulesetStatus = () => api.get('governancerulesets', KEY)?.status as Record<string, any> | undefined;
  const conditionOf = (type: string) => ((api.get('apiinstances', `${PROD}/flights`)?.status as any)?.conditions ?? []).find((c: { type: string }) => c.type === type);
  const gauge = async () => (await metrics.registry.getSingleMetricAsString('crossgate_governance_nonconforming_instances')).split('\n').filter((l) => !l.startsWith('#') && l);

  before(async () => {
    mgr = new Manager({ client: api, metrics, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    const deps = { http: api as unknown as KubeHttp, status: writer, events, platformNamespace: 'crossgate-system' };
    registerGovernanceController(mgr, deps);
    registerConformanceController(mgr, deps);
    api.upsert('organizations', {
      apiVersion: V,
      kind: 'Organization',
      metadata: { name: 'max', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { domain: 'max', displayName: 'Max', homeNamespace: HOME, environments: [{ name: 'production', namespace: PROD, type: 'production' }] },
    });
    for (const ns of [HOME, PROD]) api.upsert('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    api.upsert('apiinstances', {
      apiVersion: V,
      kind: 'ApiInstance',
      metadata: { name: 'flights', namespace: PROD, generation: 1 },
      spec: { assetRef: { name: 'flights' }, basePath: '/flights', upstream: { url: 'http://flights.example.org' } },
    });
    await mgr.start();
    // The ApiInstance reconciler's own conditions, written first under its own manager.
    const inst = api.get('apiinstances', `${PROD}/flights`)!;
    await writer.applyStatus(inst as never, 'apiinstances', {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Routed', message: 'served', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    }, APIINSTANCE_MANAGER);
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('the report, the Conformant condition beside Ready, and the gauge; then fixed; then the ruleset deleted', async () => {
    api.upsert('governancerulesets', {
      apiVersion: V,
      kind: 'GovernanceRuleset',
      metadata: { name: 'baseline', namespace: HOME, generation: 1 },
      spec: { rules: [{ name: 'enforced', environmentTypes: ['production'], require: { policies: [{ anyOf: ['api-key'] }], secureUpstream: true } }] },
    });
    await eventually(() => rulesetStatus()?.nonConformingCount === 1, 'reported non-conforming');
    const s = rulesetStatus()!;
    assert.equal(s.scope, 'organization max');
    assert.deepEqual(s.nonConforming[0].failures.map((f: { requirement: string }) => f.requirement), ['policies', 'secureUpstream']);
    assert.deepEqual(
      (({ status, reason, message }) => ({ status, reason, message }))(s.conditions.find((c: { type: string }) => c.type === 'Ready')),
      { status: 'True', reason: 'Evaluated', message: '1 instance selected: 0 conforming, 1 not' },
    );
    await eventually(() => conditionOf('Conformant')?.status === 'False', 'Conformant False');
    assert.match(conditionOf('Conformant').message, /fails GovernanceRuleset "max-home\/baseline" rules enforced \(policies\), enforced \(secureUpstream\)/);
    assert.equal(conditionOf('Ready')?.reason, 'Routed', "the ApiInstance reconciler's condition stays");
    assert.deepEqual(ownership.owners(`apiinstances/${PROD}/flights`), { [APIINSTANCE_MANAGER]: ['conditions/Ready'], [CONFORMANCE_MANAGER]: ['conditions/Conformant'] });
    assert.deepEqual(ownership.owners(`governancerulesets/${KEY}`)[GOVERNANCE_MANAGER]!.sort(), [
      'conditions/Ready', 'conforming', 'conformingCount', 'evaluated', 'lastEvaluation', 'nonConforming', 'nonConformingCount', 'observedGeneration', 'scope',
    ]);
    assert.deepEqual(await gauge(), [`crossgate_governance_nonconforming_instances{organization="max",ruleset="${KEY}",rule="enforced"} 1`]);

    api.upsert('policies', { apiVersion: V, kind: 'Policy', metadata: { name: 'key', namespace: PROD, generation: 1 }, spec: { type: 'api-key', targetRef: { name: 'flights' } } });
    const inst = api.get('apiinstances', `${PROD}/flights`)!;
    api.upsert('apiinstances', { ...inst, metadata: { ...inst.metadata, generation: 2 }, spec: { ...(inst as any).spec, upstream: { url: 'https://flights.example.org' } } });
    await eventually(() => rulesetStatus()?.conformingCount === 1, 'conforming once fixed');
    await eventually(() => conditionOf('Conformant')?.status === 'True', 'Conformant True');
    assert.deepEqual(await gauge(), [`crossgate_governance_nonconforming_instances{organization="max",ruleset="${KEY}",rule="enforced"} 0`]);

    api.remove('governancerulesets', KEY);
    await eventually(() => conditionOf('Conformant')?.reason === 'NoRulesetSelects', 'no ruleset selects it any more');
    for (let i = 0; i < 100 && (await gauge()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await gauge(), [], "the deleted ruleset's series go");
    assert.deepEqual(ownership.writes.filter((w) => w.contentType !== APPLY_PATCH), [], 'every status write is an apply');
  });

  test(`an organization's ruleset beyond ${MAX_ORGANIZATION_RULESETS} reads nothing (TooManyRulesets, no series) until an older one goes`, async () => {
    const names = Array.from({ length: MAX_ORGANIZATION_RULESETS + 1 }, (_, i) => `rs-${i}`);
    names.forEach((name, i) => api.upsert('governancerulesets', {
      apiVersion: V,
      kind: 'GovernanceRuleset',
      metadata: { name, namespace: HOME, generation: 1, creationTimestamp: `2026-01-01T00:0${i}:00Z` },
      spec: { rules: [{ name: 'alerted', require: { alert: true } }] },
    }));
    const statusOf = (name: string) => api.get('governancerulesets', `${HOME}/${name}`)?.status as Record<string, any> | undefined;
    const readyOf = (name: string) => statusOf(name)?.conditions?.find((c: { type: string }) => c.type === 'Ready');
    const last = names.at(-1)!;
    await eventually(() => readyOf(last)?.reason === 'TooManyRulesets', 'the newest is beyond the bound');
    assert.equal(
      readyOf(last).message,
      `namespace "${HOME}" holds more than 8 GovernanceRulesets and only the 8 oldest are evaluated ("rs-0", "rs-1", "rs-2", "rs-3", "rs-4", "rs-5", "rs-6", "rs-7"): ` +
        'this one reads nothing. Add its rules to one of them (up to 32 each), or delete one',
    );
    assert.equal(statusOf(last)!.scope, 'none');
    assert.equal(statusOf(last)!.evaluated, 0);
    for (let i = 0; i < 200 && (await gauge()).length !== MAX_ORGANIZATION_RULESETS; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await gauge()).length, MAX_ORGANIZATION_RULESETS, 'a series for each ruleset that counts');
    assert.ok(!(await gauge()).some((l) => l.includes(`ruleset="${HOME}/${last}"`)));
    assert.doesNotMatch(conditionOf('Conformant').message, new RegExp(`${last}"`));
    api.remove('governancerulesets', `${HOME}/rs-0`);
    await eventually(() => readyOf(last)?.reason === 'Evaluated', 'it counts once an older one is gone');
    await eventually(() => new RegExp(`"${HOME}/${last}"`).test(conditionOf('Conformant').message), "the instance's Conformant names it");
    for (const name of names.slice(1)) api.remove('governancerulesets', `${HOME}/${name}`);
  });
});
