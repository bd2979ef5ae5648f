// Controller retry behaviour with fake reconcilers, and the Manager wiring
// informers (shared), owner mapping and controllers against the fake server.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  Controller,
  Manager,
  enqueueByLabel,
  enqueueOwner,
  generationChanged,
  type ReconcileContext,
} from '../../../kube/controller.ts';
import { KubeHttp } from '../../../kube/kube.ts';
import { OperatorMetrics } from '../../../kube/metrics.ts';
import { ItemExponentialFailureRateLimiter } from '../../../kube/workqueue.ts';
import { FakeApiServer } from '../operator/fake-apiserver.ts';
import { delay, eventually } from '../operator/helpers.ts';

async function metricValue(m: OperatorMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const v = data.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val) && !('le' in x.labels));
  return v?.value ?? 0;
}

describe('Controller', () => {
  // Stop every controller after its test, also when an assertion failed.
  const made: Controller[] = [];
  const track = (c: Controller) => (made.push(c), c);
  afterEach(async () => {
    await Promise.all(made.splice(0).map((c) => c.stop(100)));
  });

  test('errors are retried with per-key back-off; success forgets the failures', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const calls: Array<{ key: string; retries: number; at: number }> = [];
    const c = track(new Controller({
      name: 'flaky',
      metrics,
      rateLimiter: new ItemExponentialFailureRateLimiter(20, 1000),
      reconcile: async (key, ctx) => {
        calls.push({ key, retries: ctx.retries, at: Date.now() });
        if (calls.length <= 2) throw new Error('boom');
      },
    }));
    c.start();
    c.enqueue('ns/a');
    await eventually(() => calls.length === 3, 'three attempts');
    await delay(5);
    assert.deepEqual(calls.map((x) => x.retries), [0, 1, 2]);
    assert.ok(calls[1]!.at - calls[0]!.at >= 15, 'first retry after ~20 ms');
    assert.ok(calls[2]!.at - calls[1]!.at >= 35, 'second retry after ~40 ms');
    assert.equal(c.queue.numRequeues('ns/a'), 0, 'forgotten after success');
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'flaky', result: 'error' }), 2);
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'flaky', result: 'success' }), 1);
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'flaky' }), 2);
    assert.equal(await metricValue(metrics, 'workqueue_retries_total', { name: 'flaky' }), 2);
    await c.stop();
    const text = await metrics.registry.metrics();
    for (const name of [
      'controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="flaky"}',
      'workqueue_adds_total{name="flaky"} 3',
      'workqueue_depth{name="flaky"} 0',
      'workqueue_queue_duration_seconds_count{name="flaky"} 3',
      'workqueue_work_duration_seconds_count{name="flaky"} 3',
      'controller_runtime_max_concurrent_reconciles{controller="flaky"} 1',
    ]) {
      assert.ok(text.includes(name), `metrics expose ${name}`);
    }
  });

  test('requeueAfterMs reconciles again later; requeue: true goes through the rate limiter', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const seen: string[] = [];
    const c = track(new Controller({
      name: 'requeuer',
      metrics,
      rateLimiter: new ItemExponentialFailureRateLimiter(5, 100),
      reconcile: async (key) => {
        seen.push(key);
        const n = seen.filter((k) => k === key).length;
        if (key === 'after' && n === 1) return { requeueAfterMs: 30 };
        if (key === 'again' && n === 1) return { requeue: true };
      },
    }));
    c.start();
    const t = Date.now();
    c.enqueue('after');
    c.enqueue('again');
    await eventually(() => seen.length === 4, 'both keys twice');
    assert.ok(Date.now() - t >= 25);
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'requeuer', result: 'requeue_after' }), 1);
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'requeuer', result: 'requeue' }), 1);
    assert.equal(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'requeuer', result: 'success' }), 2);
    await c.stop();
  });

  test('N workers run different keys in parallel but never the same key twice at once', async () => {
    const active = new Set<string>();
    let maxParallel = 0;
    let overlap = false;
    let total = 0;
    const c = track(new Controller({
      name: 'parallel',
      workers: 3,
      reconcile: async (key) => {
        if (active.has(key)) overlap = true;
        active.add(key);
        maxParallel = Math.max(maxParallel, active.size);
        await delay(10);
        active.delete(key);
        total++;
      },
    }));
    c.start();
    for (let i = 0; i < 5; i++) {
      for (const k of ['a', 'b', 'c']) c.enqueue(k);
      await delay(3);
    }
    await eventually(() => c.queue.len() === 0 && c.queue.processingCount() === 0, 'idle');
    await c.stop();
    assert.equal(overlap, false);
    assert.equal(maxParallel, 3);
    assert.ok(total >= 3);
  });

  test('a delayed watch coalesces a burst of events into one reconcile after the delay', async () => {
    const handlers: Array<{ onAdd?: (o: unknown) => void }> = [];
    const informer = { addHandler: (h: { onAdd?: (o: unknown) => void }) => (handlers.push(h), () => undefined) };
    const seen: Array<{ key: string; at: number }> = [];
    const t0 = performance.now();
    const c = track(new Controller({ name: 'coalesce', reconcile: async (key) => void seen.push({ key, at: performance.now() - t0 }) }));
    // A delay well above the burst's length, so a loaded machine stretching the burst cannot split it.
    c.watch(informer as never, () => 'ns/tier', undefined, 500);
    c.start();
    for (let i = 0; i < 20; i++) {
      for (const h of handlers) h.onAdd?.({ metadata: { namespace: 'ns', name: `contract-${i}` } });
      await delay(2);
    }
    const burstEnded = performance.now() - t0;
    if (burstEnded < 450) {
      await delay(20);
      assert.equal(seen.length, 0, 'nothing before the delay');
    }
    await eventually(() => seen.length === 1, 'one reconcile');
    await delay(200);
    assert.deepEqual(seen.map((s) => s.key), ['ns/tier'], 'twenty events, one reconcile');
    assert.ok(seen[0]!.at >= 495, `reconciled at ${seen[0]!.at} ms, after the delay`);
  });

  test('stop() aborts the reconcile signal, drains in-flight work and stops workers', async () => {
    let aborted = false;
    let finished = false;
    const c = track(new Controller({
      name: 'slow',
      reconcile: async (_key, ctx: ReconcileContext) => {
        ctx.signal.addEventListener('abort', () => (aborted = true));
        await delay(50);
        finished = true;
      },
    }));
    c.start();
    c.enqueue('x');
    await eventually(() => c.queue.processingCount() === 1, 'in flight');
    await c.stop();
    assert.equal(aborted, true);
    assert.equal(finished, true, 'in-flight reconcile completed before stop resolved');
    c.enqueue('y');
    assert.equal(c.queue.len(), 0, 'no new work after stop');
  });

  test('a reconcile error is logged without secret-bearing error bodies', async () => {
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const { createLogger } = await import('../../../kube/logger.ts');
    const logger = createLogger({ destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    let n = 0;
    const c = track(new Controller({
      name: 'logs',
      logger,
      rateLimiter: new ItemExponentialFailureRateLimiter(1000, 1000),
      reconcile: async () => {
        n++;
        const err = Object.assign(new Error('HTTP-Code: 422\nBody: {"data":{"apiKey":"c2VjcmV0"}}\nHeaders: {"authorization":"Bearer x"}'), {
          code: 422,
          body: JSON.stringify({ kind: 'Status', code: 422, reason: 'Invalid', message: 'spec.tier: Unsupported value' }),
        });
        throw err;
      },
    }));
    c.start();
    c.enqueue('ns/k');
    await eventually(() => n === 1 && lines.length > 1, 'logged');
    await c.stop();
    const out = lines.join('');
    assert.ok(out.includes('HTTP 422 Invalid: spec.tier: Unsupported value'));
    assert.ok(!out.includes('c2VjcmV0'));
    assert.ok(!out.includes('Bearer x'));
    assert.ok(out.includes('"request":"ns/k"'));
  });
});

describe('mapping and predicates', () => {
  test('enqueueOwner maps ownerReferences of the owner kind and group', () => {
    const map = enqueueOwner({ group: 'crossgate.dev', version: 'v1alpha1', plural: 'apikeys', kind: 'ApiKey' });
    const obj = {
      metadata: {
        name: 's',
        namespace: 'ns',
        ownerReferences: [
          { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', name: 'k1', uid: '1', controller: true },
          { apiVersion: 'other.dev/v1', kind: 'ApiKey', name: 'k2', uid: '2' },
          { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Contract', name: 'c', uid: '3' },
        ],
      },
    };
    assert.deepEqual(map(obj), ['ns/k1']);
    const cluster = enqueueOwner({ group: 'crossgate.dev', version: 'v1alpha1', plural: 'organizations', kind: 'Organization', namespaced: false });
    const rb = { metadata: { name: 'rb', namespace: 'ns', ownerReferences: [{ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', name: 'org', uid: 'u' }] } };
    assert.deepEqual(cluster(rb), ['org']);
    const core = enqueueOwner({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret' });
    assert.deepEqual(core({ metadata: { name: 'x', namespace: 'n', ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 's', uid: 'u' }] } }), ['n/s']);
  });

  test('enqueueByLabel', () => {
    assert.equal(enqueueByLabel('crossgate.dev/organization')({ metadata: { name: 'ns1', labels: { 'crossgate.dev/organization': 'org' } } }), 'org');
    assert.equal(enqueueByLabel('l', { sameNamespace: true })({ metadata: { name: 'x', namespace: 'n', labels: { l: 'v' } } }), 'n/v');
    assert.deepEqual(enqueueByLabel('l')({ metadata: { name: 'x' } }), []);
  });

  test('generationChanged drops status-only updates but passes resyncs', () => {
    const a = { metadata: { name: 'a', generation: 1, resourceVersion: '1' } };
    const statusOnly = { metadata: { name: 'a', generation: 1, resourceVersion: '2' } };
    const specChange = { metadata: { name: 'a', generation: 2, resourceVersion: '3' } };
    assert.equal(generationChanged({ type: 'update', oldObj: a, obj: statusOnly }), false);
    assert.equal(generationChanged({ type: 'update', oldObj: a, obj: specChange }), true);
    assert.equal(generationChanged({ type: 'update', oldObj: a, obj: a }), true);
    assert.equal(generationChanged({ type: 'add', obj: a }), true);
    assert.equal(generationChanged({ type: 'delete', obj: a }), true);
  });
});

describe('Manager', () => {
  const WIDGETS = { group: 'test.dev', version: 'v1', plural: 'widgets', kind: 'Widget' };

  test('shares informers, maps owned objects to owners, reconciles after a forced watch expiry', async () => {
    const server = await new FakeApiServer(WIDGETS).start();
    const http = new KubeHttp(server.kubeConfig());
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const mgr = new Manager({
      client: http,
      metrics,
      informerDefaults: { backoffBaseMs: 5, backoffMaxMs: 50, resyncMs: 0, relistMs: 0, watchTimeoutSeconds: 60 },
    });
    try {
      const reconciled: string[] = [];
      const other: string[] = [];
      const primary = { ...WIDGETS, labelSelector: 'role=parent' };
      mgr.addController({
        name: 'widgets',
        for: primary,
        owns: [{ ...WIDGETS, labelSelector: 'role=child' }],
        reconcile: async (key) => {
          reconciled.push(key);
          // Reconcilers read from the shared cache.
          assert.ok(mgr.informer(primary).get(key) || !key.startsWith('ns1/p'), `cache has ${key}`);
        },
      });
      mgr.addController({ name: 'second', for: primary, reconcile: async (key) => void other.push(key) });

      server.upsert({ metadata: { name: 'p1', namespace: 'ns1', labels: { role: 'parent' } } });
      const p2 = server.upsert({ metadata: { name: 'p2', namespace: 'ns1', labels: { role: 'parent' } } });
      assert.equal(mgr.cachesSynced(), false);
      assert.throws(() => mgr.startControllers(), /before caches synced/);
      await mgr.start();
      assert.equal(mgr.cachesSynced(), true);
      // Two informers (parent and child selectors), shared by both controllers: two lists.
      assert.equal(server.listRequests().length, 2);
      await eventually(() => reconciled.length === 2 && other.length === 2, 'initial reconciles');
      assert.deepEqual(reconciled.sort(), ['ns1/p1', 'ns1/p2']);

      reconciled.splice(0);
      server.upsert({
        metadata: {
          name: 'c1',
          namespace: 'ns1',
          labels: { role: 'child' },
          ownerReferences: [{ apiVersion: 'test.dev/v1', kind: 'Widget', name: 'p2', uid: p2.metadata.uid!, controller: true }],
        },
      });
      await eventually(() => reconciled.includes('ns1/p2'), 'owner reconciled for a child event');

      // Forced watch expiry: the next change is still reconciled.
      await server.waitFor(() => server.openWatchCount() === 2, 2000, 'two watches');
      server.expireWatches();
      reconciled.splice(0);
      server.upsert({ metadata: { name: 'p3', namespace: 'ns1', labels: { role: 'parent' } } });
      await eventually(() => reconciled.includes('ns1/p3'), 'reconciled after watch expiry');
      const text = await metrics.registry.metrics();
      assert.match(text, /crossgate_informer_watch_restarts_total\{resource="\/apis\/test.dev\/v1\/widgets\?labels=role=parent",reason="gone"\} 1/);
      assert.match(text, /crossgate_informer_cached_objects\{resource="\/apis\/test.dev\/v1\/widgets\?labels=role=parent"\} 3/);
    } finally {
      await mgr.stop();
      await http.close();
      await server.close();
    }
  });

  test('startCaches rejects after cacheSyncTimeoutMs when a cache cannot sync', async () => {
    const server = await new FakeApiServer(WIDGETS).start();
    const http = new KubeHttp(server.kubeConfig());
    server.failNext('list', 1000, 403);
    const mgr = new Manager({ client: http, cacheSyncTimeoutMs: 100, informerDefaults: { backoffBaseMs: 10, backoffMaxMs: 20, resyncMs: 0, relistMs: 0 } });
    try {
      mgr.addController({ name: 'x', for: WIDGETS, reconcile: async () => {} });
      await assert.rejects(mgr.startCaches(), /caches did not sync within 100 ms: \/apis\/test.dev\/v1\/widgets/);
      assert.equal(mgr.cachesSynced(), false);
    } finally {
      await mgr.stop();
      await http.close();
      await server.close();
    }
  });

  test('an optional informer on a kind the cluster does not serve never keeps the caches from syncing', async () => {
    const server = await new FakeApiServer(WIDGETS).start();
    const http = new KubeHttp(server.kubeConfig());
    const mgr = new Manager({ client: http, cacheSyncTimeoutMs: 2000, informerDefaults: { backoffBaseMs: 10, backoffMaxMs: 20, resyncMs: 0, relistMs: 0 } });
    try {
      const absent = { group: 'absent.dev', version: 'v1', plural: 'gadgets', kind: 'Gadget', optional: true };
      mgr.addController({ name: 'x', for: WIDGETS, reconcile: async () => {}, watches: [{ resource: absent, map: () => [] }] });
      await mgr.startCaches();
      assert.equal(mgr.cachesSynced(), true);
      assert.equal(mgr.informer(absent).hasSynced(), false);
    } finally {
      await mgr.stop();
      await http.close();
      await server.close();
    }
  });

  test('an informer on every Secret is refused (cache only what crossgate owns)', () => {
    const mgr = new Manager({ client: { request: async () => ({}) as never, stream: async () => (async function* (): AsyncGenerator<Uint8Array> {})() } });
    const SECRETS = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
    assert.throws(() => mgr.informer(SECRETS), /refusing an informer on all Secrets/);
    assert.ok(mgr.informer({ ...SECRETS, labelSelector: 'app.kubernetes.io/managed-by=crossgate-operator', metadataOnly: true }));
    assert.notEqual(
      mgr.informer({ ...SECRETS, labelSelector: 'a=b' }),
      mgr.informer({ ...SECRETS, labelSelector: 'a=b', metadataOnly: true }),
      'metadata-only and full informers are distinct',
    );
    assert.equal(mgr.informer({ ...SECRETS, labelSelector: 'a=b' }), mgr.informer({ ...SECRETS, labelSelector: 'a=b' }), 'same spec → same informer');
  });

  test('duplicate controller names are refused', () => {
    const mgr = new Manager({ client: { request: async () => ({}) as never, stream: async () => (async function* (): AsyncGenerator<Uint8Array> {})() } });
    mgr.addController({ name: 'x', for: WIDGETS, reconcile: async () => {} });
    assert.throws(() => mgr.addController({ name: 'x', for: WIDGETS, reconcile: async () => {} }), /duplicate/);
  });
});
