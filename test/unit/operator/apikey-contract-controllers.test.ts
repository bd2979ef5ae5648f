// The ApiKey and Contract controllers wired into one Manager over the
// in-memory API (memory-api.ts): a key is issued (Secret, Contract) and
// revoked, then left without an Organization; each reconciler writes its status with server-side apply as its own
// field manager, owns exactly its fields, and the fields the key's status no
// longer has once it is revoked (secretName, keyId, issuedAt…) go. The real
// apiserver: test/e2e/api-keys.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { registerApiKeyController } from '../../../operator/controllers/apikey/index.ts';
import { APIKEY_MANAGER } from '../../../operator/controllers/apikey/status.ts';
import { CONTRACT_MANAGER, registerContractController } from '../../../operator/controllers/contract.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn } from './memory-api.ts';
import { eventually } from './helpers.ts';

const V = 'crossgate.dev/v1alpha1';
const NS = 'max-prod';

describe('ApiKey and Contract controllers (in-memory API): status applies, one field manager each', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  let mgr: Manager;
  const status = (plural: string, key: string) => api.get(plural, key)?.status as Record<string, any> | undefined;

  before(async () => {
    api.upsert('organizations', {
      apiVersion: V,
      kind: 'Organization',
      metadata: { name: 'max', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { domain: 'max', displayName: 'Max', homeNamespace: 'max-home', environments: [{ name: 'prod', namespace: NS, type: 'production' }] },
    });
    api.upsert('apiinstances', { apiVersion: V, kind: 'ApiInstance', metadata: { name: 'flights', namespace: NS, generation: 1 }, spec: { assetRef: { name: 'flights-eapi' }, basePath: '/flights', upstream: { url: 'http://flights:8080' } } });
    api.upsert('slatiers', { apiVersion: V, kind: 'SlaTier', metadata: { name: 'gold', namespace: NS, generation: 1 }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 100, period: 'minute' }], approval: 'automatic' } });
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api, ownership) }), events };
    registerApiKeyController(mgr, deps);
    registerContractController(mgr, deps);
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test("a key pointed at another ApiInstance asks anew: its Contract is replaced, never moved to the new instance's tier with the former decision", async () => {
    api.upsert('apiinstances', { apiVersion: V, kind: 'ApiInstance', metadata: { name: 'hotels', namespace: NS, generation: 1 }, spec: { assetRef: { name: 'flights-eapi' }, basePath: '/hotels', upstream: { url: 'http://hotels:8080' } } });
    api.upsert('slatiers', { apiVersion: V, kind: 'SlaTier', metadata: { name: 'silver', namespace: NS, generation: 1 }, spec: { apiInstanceRef: { name: 'hotels' }, limits: [{ requests: 10, period: 'minute' }], approval: 'manual' } });
    api.upsert('apikeys', { apiVersion: V, kind: 'ApiKey', metadata: { name: 'k2', namespace: NS, generation: 1 }, spec: { apiInstanceRef: { name: 'flights' }, tier: 'gold' } });
    await eventually(() => status('apikeys', `${NS}/k2`)?.state === 'Approved', 'key approved on flights');
    const contractKey = `${NS}/${NS}.key.k2`;
    const before = api.get('contracts', contractKey)!;
    assert.equal((before.spec as any).apiInstanceRef.name, 'flights');

    const k2 = api.get('apikeys', `${NS}/k2`)!;
    api.upsert('apikeys', { ...k2, metadata: { ...k2.metadata, generation: 2 }, spec: { ...(k2.spec as object), apiInstanceRef: { name: 'hotels' }, tier: 'silver' } });
    await eventually(() => (api.get('contracts', contractKey)?.spec as any)?.apiInstanceRef?.name === 'hotels', 'a Contract for hotels');
    const after = api.get('contracts', contractKey)!;
    // (apiInstanceRef is immutable on a real apiserver, CEL: only a new Contract can name hotels.)
    assert.deepEqual({ tier: (after.spec as any).tier, decision: (after.spec as any).decision }, { tier: 'silver', decision: 'Pending' });
    await eventually(() => status('apikeys', `${NS}/k2`)?.state === 'Pending', 'the key waits for the owner');
    const ready = status('apikeys', `${NS}/k2`)!.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.reason, 'AwaitingApproval');
    assert.equal(ready.message, `waiting for the API owner to approve Contract "${NS}.key.k2" in namespace "${NS}" (tier "silver" needs manual approval)`);
  });

  test('a key issued then revoked: applied as crossgate-apikey and crossgate-contract; what a revoked key no longer has is removed', async () => {
    api.upsert('apikeys', { apiVersion: V, kind: 'ApiKey', metadata: { name: 'k1', namespace: NS, generation: 1 }, spec: { apiInstanceRef: { name: 'flights' }, tier: 'gold' } });
    await eventually(() => status('apikeys', `${NS}/k1`)?.state === 'Approved' && status('apikeys', `${NS}/k1`)?.keyId !== undefined, 'key approved and issued');
    await eventually(() => status('contracts', `${NS}/${status('apikeys', `${NS}/k1`)!.contract?.name}`)?.activeKeys === 1, 'contract counts the key');
    const key = status('apikeys', `${NS}/k1`)!;
    assert.equal(key.secretName, 'k1-apikey');
    assert.ok(key.issuedAt, 'issuedAt');
    const contractKey = `${NS}/${key.contract.name}`;

    assert.equal(APIKEY_MANAGER, 'crossgate-apikey');
    assert.equal(CONTRACT_MANAGER, 'crossgate-contract');
    for (const [plural, manager] of [['apikeys', APIKEY_MANAGER], ['contracts', CONTRACT_MANAGER]] as const) {
      const writes = ownership.writes.filter((w) => w.key.startsWith(`${plural}/`));
      assert.ok(writes.length > 0, `${plural} written`);
      assert.deepEqual(writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== manager), [], `every ${plural} status write is an apply by ${manager}`);
    }
    assert.deepEqual(ownership.owners(`apikeys/${NS}/k1`), {
      'crossgate-apikey': ['conditions/Ready', 'contract', 'issuedAt', 'keyId', 'observedGeneration', 'rotatedGeneration', 'secretName', 'state'],
    });
    assert.deepEqual(ownership.owners(`contracts/${contractKey}`), { 'crossgate-contract': ['activeKeys', 'conditions/Ready', 'observedGeneration', 'state'] });

    // Revoked: the Secret goes, and with it the fields the key's status no longer sets.
    const k1 = api.get('apikeys', `${NS}/k1`)!;
    api.upsert('apikeys', { ...k1, metadata: { ...k1.metadata, generation: 2 }, spec: { ...(k1.spec as object), revoked: true } });
    await eventually(() => status('apikeys', `${NS}/k1`)?.state === 'Revoked', 'key revoked');
    await eventually(() => status('apikeys', `${NS}/k1`)?.issuedAt === undefined, 'issuedAt removed once the Secret is gone');
    const revoked = status('apikeys', `${NS}/k1`)!;
    for (const field of ['secretName', 'keyId', 'issuedAt', 'rotatedGeneration']) assert.equal(field in revoked, false, `${field} removed`);
    assert.equal(api.get('secrets', `${NS}/k1-apikey`), undefined);
    await eventually(() => status('contracts', contractKey)?.activeKeys === 0, 'the contract counts no key');
    assert.ok(status('apikeys', `${NS}/k1`)!.contract, 'the Contract is still named');

    // The namespace leaves the Organization: NoOrganization, and every field but the state and Ready goes, the Contract too.
    const max = api.get('organizations', 'max')!;
    api.upsert('organizations', { ...max, metadata: { ...max.metadata, generation: 2 }, spec: { ...(max.spec as object), environments: [] } });
    await eventually(() => status('apikeys', `${NS}/k1`)?.state === 'Pending', 'NoOrganization');
    assert.deepEqual(Object.keys(status('apikeys', `${NS}/k1`)!).sort(), ['conditions', 'observedGeneration', 'state']);
    assert.deepEqual(ownership.writes.filter((w) => w.contentType !== APPLY_PATCH), [], 'no merge patches');
  });
});
