// The Asset controller wired into a Manager over an in-memory API (lists,
// watch streams, GET of one ConfigMap), with fake status and event clients:
// statuses and Events for inline and ConfigMap specifications, the ConfigMap
// arriving after the Asset, and a resync that neither re-reads nor re-parses.
// The real apiserver is exercised by test/e2e/asset.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import { KubeHttpError, type ListWatchClient, type Query, type RequestOptions } from '../../../kube/kube.ts';
import { StatusWriter, type StatusClient } from '../../../kube/status.ts';
import { EventRecorder, type EventClient } from '../../../kube/events.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { ASSET_SOURCE_CONFIGMAPS, registerAssetController } from '../../../operator/controllers/asset.ts';
import { ASSETS } from '../../../operator/resources.ts';
import { eventually } from './helpers.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; generation?: number }; [k: string]: unknown };

/** Two collections (assets, configmaps), watch streams that stay open until aborted. */
class MemoryApi implements ListWatchClient {
  rv = 1;
  objects = new Map<string, Map<string, Obj>>([['assets', new Map()], ['configmaps', new Map()]]);
  streams = new Map<string, Set<(line: string) => void>>([['assets', new Set()], ['configmaps', new Set()]]);
  gets: string[] = [];

  collectionOf(path: string): string | undefined {
    return /\/(assets|configmaps)$/.exec(path)?.[1];
  }

  upsert(plural: 'assets' | 'configmaps', obj: Obj): Obj {
    const store = this.objects.get(plural)!;
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const existed = store.get(key);
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    stored.metadata.uid ??= existed?.metadata.uid ?? `uid-${key}`;
    store.set(key, stored);
    for (const send of this.streams.get(plural)!) send(JSON.stringify({ type: existed ? 'MODIFIED' : 'ADDED', object: stored }));
    return stored;
  }

  async request<T>(method: string, path: string, _opts?: RequestOptions): Promise<T> {
    if (method !== 'GET') throw new Error(`unexpected ${method} ${path}`);
    const plural = this.collectionOf(path);
    if (plural) {
      return { kind: plural === 'assets' ? 'AssetList' : 'ConfigMapList', apiVersion: plural === 'assets' ? 'crossgate.dev/v1alpha1' : 'v1', metadata: { resourceVersion: String(this.rv) }, items: [...this.objects.get(plural)!.values()].map((o) => structuredClone(o)) } as T;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(path);
    if (!m) throw new Error(`unexpected GET ${path}`);
    this.gets.push(`${m[1]}/${m[2]}`);
    const found = this.objects.get('configmaps')!.get(`${m[1]}/${m[2]}`);
    if (!found) throw new KubeHttpError(404, { code: 404, reason: 'NotFound', message: 'not found' }, `GET ${path}`);
    return structuredClone(found) as T;
  }

  async stream(path: string, _query: Query, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const plural = this.collectionOf(path)!;
    const lines: string[] = [];
    let wake: (() => void) | undefined;
    const send = (line: string) => {
      lines.push(line);
      wake?.();
    };
    this.streams.get(plural)!.add(send);
    const streams = this.streams;
    signal.addEventListener('abort', () => wake?.(), { once: true });
    return (async function* () {
      try {
        while (!signal.aborted) {
          const line = lines.shift();
          if (line !== undefined) yield new TextEncoder().encode(`${line}\n`);
          else await new Promise<void>((r) => (wake = r));
        }
      } finally {
        streams.get(plural)!.delete(send);
      }
    })();
  }
}

const OAS = (title: string, paths: string[]) =>
  `openapi: 3.0.3\ninfo: {title: ${title}, version: 1.0.0}\npaths:\n${paths.map((p) => `  ${p}:\n    get:\n      responses: {'200': {description: ok}}\n`).join('')}`;

function assetObj(name: string, source: Record<string, unknown>, generation = 1): Obj {
  return { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name, namespace: 'max-home', generation }, spec: { type: 'oas', title: name, version: '1.0.0', source } };
}

describe('Asset controller (in-memory API)', () => {
  const api = new MemoryApi();
  const statuses = new Map<string, Record<string, unknown>>();
  const events: CoreV1Event[] = [];
  let mgr: Manager;

  const statusClient: StatusClient = {
    async patchNamespacedCustomObjectStatus(p) {
      const key = `${p.namespace}/${p.name}`;
      const body = p.body as { status: Record<string, unknown> };
      const current = api.objects.get('assets')!.get(key)!;
      // Apply the merge patch the way the server would (top-level status fields; null removes).
      const status = { ...((current.status as Record<string, unknown>) ?? {}) };
      for (const [k, v] of Object.entries(body.status)) if (v === null) delete status[k]; else status[k] = v;
      statuses.set(key, status);
      api.upsert('assets', { ...current, status });
      return {};
    },
    async patchClusterCustomObjectStatus() {
      throw new Error('not namespaced');
    },
  };
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
    assert.equal(statuses.get('max-home/flights')!.summary, undefined);
    assert.equal(statuses.get('max-home/flights')!.observedGeneration, 2);
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
    const getsBefore = api.gets.length;
    assert.ok(getsBefore >= 1);

    const writes = statuses.size;
    const before = JSON.stringify(statuses.get('max-home/from-cm'));
    mgr.informer(ASSETS).resync();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api.gets.length, getsBefore, 'no GET on resync');
    assert.equal(JSON.stringify(statuses.get('max-home/from-cm')), before);
    assert.equal(statuses.size, writes);
  });

  test('a ConfigMap change re-checks the Asset; its deletion turns it to SourceNotFound', async () => {
    api.upsert('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'specs', namespace: 'max-home' }, data: { 'flights.yaml': 'openapi: [' } });
    await eventually(() => ready('max-home/from-cm')?.reason === 'InvalidSpec', 'InvalidSpec from ConfigMap');
    assert.match(ready('max-home/from-cm')!.message, /^not valid YAML or JSON: /);

    const store = api.objects.get('configmaps')!;
    const gone = store.get('max-home/specs')!;
    store.delete('max-home/specs');
    gone.metadata.resourceVersion = String(++api.rv);
    for (const send of api.streams.get('configmaps')!) send(JSON.stringify({ type: 'DELETED', object: gone }));
    await eventually(() => ready('max-home/from-cm')?.reason === 'SourceNotFound', 'SourceNotFound after delete');
  });

  test('an http asset is Ready without a specification', async () => {
    api.upsert('assets', { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Asset', metadata: { name: 'plain', namespace: 'max-home', generation: 1 }, spec: { type: 'http', title: 'Plain', version: '1.0.0' } });
    await eventually(() => ready('max-home/plain')?.reason === 'NoSpecification', 'NoSpecification');
    assert.equal(ready('max-home/plain')!.status, 'True');
    assert.equal(statuses.get('max-home/plain')!.summary, undefined);
  });
});
