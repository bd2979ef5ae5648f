// The Asset controller wired into a Manager over an in-memory API (lists,
// watch streams, GET of one ConfigMap, status applies with field ownership),
// with a fake event client: statuses and Events for inline and ConfigMap
// specifications, the ConfigMap arriving after the Asset, and a resync that
// neither re-reads nor re-parses nor writes.
// The real apiserver is exercised by test/e2e/asset.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder, type EventClient } from '../../../kube/events.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { ASSET_MANAGER, ASSET_SOURCE_CONFIGMAPS, registerAssetController } from '../../../operator/controllers/asset.ts';
import { ASSETS } from '../../../operator/resources.ts';
import { eventually } from './helpers.ts';
import { MemoryApi, statusClientOn, type Obj } from './memory-api.ts';
import { StatusOwnership } from './fake-status.ts';

const OAS = (title: string, paths: string[]) =>
  `openapi: 3.0.3\ninfo: {title: ${title}, version: 1.0.0}\npaths:\n${paths.map((p) => `  ${p}:\n    get:\n      responses: {'200': {description: ok}}\n`).join('')}`;

function assetObj(name: string, source: Record<string, unknown>, generation = 1): Obj {
  return { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name, namespace: 'max-home', generation }, spec: { type: 'oas', title: name, version: '1.0.0', source } };
}

describe('Asset controller (in-memory API)', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  const statusClient = statusClientOn(api, ownership);
  const events: CoreV1Event[] = [];
  let mgr: Manager;
  const statuses = { get: (key: string) => api.get('assets', key)?.status as Record<string, unknown> | undefined };
  /** GETs of one ConfigMap. */
  const gets = () => api.reads.filter((r) => r.startsWith('configmaps '));
  const eventClient: EventClient = {
    async createNamespacedEvent(p) {
      events.push(p.body);
      return p.body;
    },
    async patchNamespacedEvent(p) {
      return p.body as CoreV1Event;
    },
  };
  const ready = (key: string) => (statuses.get(key)?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');

  before(async () => {
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClient }), events: new EventRecorder({ client: eventClient }) };
    registerAssetController(mgr, deps);
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('an inline OAS document: Ready True, summary, one SpecValidated Event', async () => {
    api.upsert('assets', assetObj('flights', { inline: OAS('Flights EAPI', ['/flights', '/flights/{id}', '/airports']) }));
    await eventually(() => ready('max-home/flights')?.status === 'True', 'flights Ready');
    const st = statuses.get('max-home/flights')!;
    assert.deepEqual(st.summary, { title: 'Flights EAPI', version: '1.0.0', specVersion: '3.0.3', pathCount: 3, operationCount: 3 });
    assert.equal(st.observedGeneration, 1);
    assert.equal(ready('max-home/flights')!.reason, 'Valid');
    await eventually(() => events.some((e) => e.involvedObject.name === 'flights'), 'event');
    assert.deepEqual(events.filter((e) => e.involvedObject.name === 'flights').map((e) => [e.type, e.reason, e.message]), [
      ['Normal', 'SpecValidated', 'OpenAPI 3.0.3 "Flights EAPI" 1.0.0: 3 paths, 3 operations'],
    ]);
  });

  test('an edit that breaks the document: InvalidSpec with the message, summary gone, a Warning', async () => {
    api.upsert('assets', assetObj('flights', { inline: 'openapi: 3.0.3\ninfo: {version: 1.0.0}\npaths: {}\n' }, 2));
    await eventually(() => ready('max-home/flights')?.reason === 'InvalidSpec', 'InvalidSpec');
    assert.equal(ready('max-home/flights')!.message, 'invalid OpenAPI 3.0.3 document: $.info (line 2) must have required property "title"');
    // The spec edit kept the status: the summary the reconciler no longer sets is removed by its apply.
    assert.equal(statuses.get('max-home/flights')!.summary, undefined);
    assert.equal(statuses.get('max-home/flights')!.observedGeneration, 2);
    assert.deepEqual(ownership.owners('assets/max-home/flights'), { [ASSET_MANAGER]: ['conditions/Ready', 'observedGeneration'] });
    assert.equal(ASSET_MANAGER, 'crossgate-asset');
    assert.deepEqual(ownership.writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== ASSET_MANAGER), [], 'every Asset status write is an apply by crossgate-asset');
    await eventually(() => events.some((e) => e.reason === 'InvalidSpec'), 'warning event');
  });

  test('a ConfigMap that comes after the Asset: SourceNotFound, then Valid; a resync reads and parses nothing', async () => {
    api.upsert('assets', assetObj('from-cm', { configMapRef: { name: 'specs', key: 'flights.yaml' } }));
    await eventually(() => ready('max-home/from-cm')?.reason === 'SourceNotFound', 'SourceNotFound');
    assert.equal(ready('max-home/from-cm')!.message, 'ConfigMap "specs" not found in namespace "max-home"');

    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data: { 'other.yaml': 'x' } });
    await eventually(() => ready('max-home/from-cm')?.message.includes('has no key') === true, 'key missing');
    assert.equal(ready('max-home/from-cm')!.message, 'ConfigMap "specs" has no key "flights.yaml" (its keys: "other.yaml")');

    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data: { 'flights.yaml': OAS('From CM', ['/a', '/b']) } });
    await eventually(() => ready('max-home/from-cm')?.reason === 'Valid', 'Valid from ConfigMap');
    assert.deepEqual(statuses.get('max-home/from-cm')!.summary, { title: 'From CM', version: '1.0.0', specVersion: '3.0.3', pathCount: 2, operationCount: 2 });

    // The cache holds key names, never values; the value was read with a GET.
    const cached = mgr.informer(ASSET_SOURCE_CONFIGMAPS).get('max-home/specs') as { keys?: string[]; data?: unknown };
    assert.deepEqual(cached.keys, ['flights.yaml']);
    assert.equal(cached.data, undefined);
    const getsBefore = gets().length;
    assert.ok(getsBefore >= 1);

    const writes = ownership.writes.length;
    const before = JSON.stringify(statuses.get('max-home/from-cm'));
    mgr.informer(ASSETS).resync();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gets().length, getsBefore, 'no GET on resync');
    assert.equal(JSON.stringify(statuses.get('max-home/from-cm')), before);
    assert.equal(ownership.writes.length, writes, 'no status write on resync');
  });

  test('a ConfigMap change re-checks the Asset; its deletion turns it to SourceNotFound', async () => {
    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data: { 'flights.yaml': 'openapi: [' } });
    await eventually(() => ready('max-home/from-cm')?.reason === 'InvalidSpec', 'InvalidSpec from ConfigMap');
    assert.match(ready('max-home/from-cm')!.message, /^not valid YAML or JSON: /);

    api.remove('configmaps', 'max-home/specs');
    await eventually(() => ready('max-home/from-cm')?.reason === 'SourceNotFound', 'SourceNotFound after delete');
  });

  test('attacker: a ConfigMap with too many key names to cache is read with a GET, and a missing key is still named', async () => {
    const data: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) data[`k${i}`] = '';
    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data });
    await eventually(() => ready('max-home/from-cm')?.message.includes('has no key') === true, 'key missing');
    assert.equal(ready('max-home/from-cm')!.message, 'ConfigMap "specs" has no key "flights.yaml" (its keys: "k0", "k1", "k10", "k100", "k1000", "k1001", "k1002", "k1003", "k1004", "k1005", ...)');
    const cached = mgr.informer(ASSET_SOURCE_CONFIGMAPS).get('max-home/specs') as { keys?: string[] };
    assert.equal(cached.keys, undefined, 'the 5000 names are not held in the cache');

    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data: { ...data, 'flights.yaml': OAS('Big CM', ['/a']) } });
    await eventually(() => ready('max-home/from-cm')?.reason === 'Valid', 'Valid from the GET');
  });

  test('an http asset is Ready without a specification', async () => {
    api.upsert('assets', { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name: 'plain', namespace: 'max-home', generation: 1 }, spec: { type: 'http', title: 'Plain', version: '1.0.0' } });
    await eventually(() => ready('max-home/plain')?.reason === 'NoSpecification', 'NoSpecification');
    assert.equal(ready('max-home/plain')!.status, 'True');
    assert.equal(statuses.get('max-home/plain')!.summary, undefined);
  });
});
