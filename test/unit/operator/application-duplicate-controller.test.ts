// The Application and Contract controllers over the in-memory API
// (memory-api.ts), with an Application whose two access entries name one
// ApiInstance ({name: flights} and {name: flights, namespace: <own>}), as it
// can be when admission was skipped (the CRD compares refs as written): the
// operator marks the later entry Duplicate in status.access[], opens one
// Contract (the earlier entry's, at its tier), and the earlier entry is
// unaffected. The real apiserver: test/e2e/api-groups.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { registerApplicationController } from '../../../operator/controllers/application/index.ts';
import { registerContractController } from '../../../operator/controllers/contract.ts';
import { applicationContractName } from '../../../model/contract-name.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn, type Obj } from './memory-api.ts';
import { delay, eventually } from './helpers.ts';

const V = 'crossgate.dev/v1alpha1';
const NS = 'max-prod';

describe('Application controller (in-memory API): the later of two entries naming one ApiInstance is Duplicate', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  const events: CoreV1Event[] = [];
  let mgr: Manager;
  const appStatus = () => api.get('applications', `${NS}/dashboard`)?.status as Record<string, any> | undefined;
  const contractsOfApp = () => [...api.store('contracts').values()].filter((c) => (c.spec as { consumer: { name: string } }).consumer.name === 'dashboard');
  const tier = (name: string): Obj => ({ apiVersion: V, kind: 'SlaTier', metadata: { name, namespace: NS, generation: 1 }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 100, period: 'minute' }], approval: 'automatic' } });
  const app = (generation: number, dupTier: string): Obj => ({
    apiVersion: V,
    kind: 'Application',
    metadata: { name: 'dashboard', namespace: NS, uid: 'uid-dashboard', generation },
    spec: { access: [{ apiInstanceRef: { name: 'flights' }, tier: 'silver' }, { apiInstanceRef: { name: 'flights', namespace: NS }, tier: dupTier }] },
  });

  before(async () => {
    api.upsert('organizations', {
      apiVersion: V,
      kind: 'Organization',
      metadata: { name: 'max', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { domain: 'max', displayName: 'Max', homeNamespace: 'max-home', environments: [{ name: 'prod', namespace: NS, type: 'production' }] },
    });
    api.upsert('apiinstances', { apiVersion: V, kind: 'ApiInstance', metadata: { name: 'flights', namespace: NS, generation: 1 }, spec: { assetRef: { name: 'flights-eapi' }, basePath: '/flights', upstream: { url: 'http://flights:8080' } } });
    api.upsert('slatiers', tier('silver'));
    api.upsert('slatiers', tier('bronze'));
    api.upsert('slatiers', tier('gold'));
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const recorder = new EventRecorder({ client: { createNamespacedEvent: async (p) => (events.push(p.body), p.body), patchNamespacedEvent: async (p) => (events.push({ reason: `patch ${p.name}`, message: JSON.stringify(p.body) } as CoreV1Event), p.body as CoreV1Event) } });
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api, ownership) }), events: recorder };
    registerApplicationController(mgr, deps);
    registerContractController(mgr, deps);
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('status.access[1] is Duplicate naming spec.access[0]; one Contract, at the earlier entry\'s tier; the earlier entry Approved', async () => {
    api.upsert('applications', app(1, 'bronze'));
    await eventually(() => appStatus()?.access?.[0]?.state === 'Approved', 'the first entry Approved');
    const name = applicationContractName(NS, 'dashboard', 'flights');
    const s = appStatus()!;
    assert.deepEqual(s.access[1], {
      apiInstance: `${NS}/flights`,
      tier: 'bronze',
      state: 'Duplicate',
      reason: 'Duplicate',
      message:
        'spec.access[1] names ApiInstance "flights" in namespace "max-prod", as spec.access[0] does: each ApiInstance and each ApiGroup may appear once in access (an ApiInstance\'s namespace defaults to the Application\'s)',
    });
    assert.equal(s.access[0].apiInstance, `${NS}/flights`);
    assert.equal(s.access[0].tier, 'silver');
    assert.equal(s.access[0].reason, 'Approved');
    assert.deepEqual(s.access[0].contract, { namespace: NS, name });
    assert.equal(s.approved, 1);
    // Duplicate entries neither count nor block: Ready is Approved (1/1), not PartlyApproved.
    const ready = s.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.status, 'True');
    assert.equal(ready.reason, 'Approved');
    assert.match(ready.message, /^1\/1 approved: max-prod\/flights: Approved \(Approved\); max-prod\/flights: Pending \(Duplicate\)$/);

    assert.deepEqual(contractsOfApp().map((c) => c.metadata.name), [name], 'one Contract');
    assert.equal((contractsOfApp()[0]!.spec as { tier: string }).tier, 'silver', 'at the first entry\'s tier');
    await eventually(() => (api.get('contracts', `${NS}/${name}`)?.status as { state?: string } | undefined)?.state === 'Approved', 'the Contract Approved');
  });

  test('editing the duplicate (another tier) moves nothing: the Contract keeps the first entry\'s tier, and no Event repeats what did not change', async () => {
    await delay(100);
    const before = events.length;
    const writes = api.writes.filter((w) => w.includes('/contracts')).length;
    api.upsert('applications', { ...app(2, 'gold'), metadata: { ...api.get('applications', `${NS}/dashboard`)!.metadata, generation: 2 } });
    await eventually(() => appStatus()?.access?.[1]?.tier === 'gold' && appStatus()?.observedGeneration === 2, 'the edit observed');
    assert.equal(appStatus()!.access[1].state, 'Duplicate');
    assert.equal(appStatus()!.access[0].state, 'Approved');
    await delay(100);
    const name = applicationContractName(NS, 'dashboard', 'flights');
    assert.equal((api.get('contracts', `${NS}/${name}`)!.spec as { tier: string }).tier, 'silver');
    assert.equal(contractsOfApp().length, 1);
    assert.equal(api.writes.filter((w) => w.includes('/contracts')).length, writes, 'no Contract written');
    assert.deepEqual(events.slice(before).map((e) => `${e.reason}: ${e.message}`), [], 'no entry moved, so no Event');
  });
});
