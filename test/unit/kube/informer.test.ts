// Informer behaviour against a fake list/watch server on 127.0.0.1: list and
// watch, resume from the last resourceVersion, relist on 410, watchdog on a
// silent stream, back-off on server errors, resync, clean stop.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, RESYNC_CHUNK, type InformerOptions, type RestartReason } from '../../../kube/informer.ts';
import { KubeHttp } from '../../../kube/kube.ts';
import { FakeApiServer } from '../operator/fake-apiserver.ts';
import { eventually, recorder, delay } from '../operator/helpers.ts';

const WIDGETS = { group: 'test.dev', version: 'v1', plural: 'widgets', kind: 'Widget' };

function widget(name: string, namespace = 'ns1', extra: Record<string, unknown> = {}) {
  return { metadata: { name, namespace, labels: { app: 'x' } }, spec: { size: 1 }, ...extra };
}

describe('Informer', () => {
  let server: FakeApiServer;
  let http: KubeHttp;
  let informers: Informer[];
  let reasons: RestartReason[];

  beforeEach(async () => {
    server = await new FakeApiServer(WIDGETS).start();
    http = new KubeHttp(server.kubeConfig());
    informers = [];
    reasons = [];
  });

  afterEach(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await http.close();
    await server.close();
  });

  function make(opts: Partial<InformerOptions<KubernetesObject>> = {}): Informer {
    const inf = new Informer({
      client: http,
      resource: WIDGETS,
      backoffBaseMs: 10,
      backoffMaxMs: 200,
      watchTimeoutSeconds: 60,
      resyncMs: 0,
      relistMs: 0,
      onRestart: (r) => reasons.push(r),
      random: () => 0.5,
      ...opts,
    });
    informers.push(inf);
    return inf;
  }

  test('lists (paginated), syncs, then follows the watch', async () => {
    for (let i = 0; i < 5; i++) server.upsert(widget(`w${i}`, 'ns1', { metadata: { name: `w${i}`, namespace: 'ns1', managedFields: [{ manager: 'kubectl' }] } }));
    const inf = make({ pageSize: 2 });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    assert.equal(inf.hasSynced(), false);
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.size(), 5);
    assert.equal(server.listRequests().length, 3, 'three pages of two');
    assert.deepEqual(rec.seen().sort(), ['add ns1/w0', 'add ns1/w1', 'add ns1/w2', 'add ns1/w3', 'add ns1/w4']);
    const w0 = inf.get('ns1/w0')!;
    assert.equal(w0.kind, 'Widget', 'kind restored from the List');
    assert.equal(w0.apiVersion, 'test.dev/v1');
    assert.equal(w0.metadata?.managedFields, undefined, 'managedFields dropped to save memory');

    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    const w = server.watchRequests()[0]!;
    assert.equal(w.query.allowWatchBookmarks, 'true');
    assert.equal(w.query.resourceVersion, inf.lastSyncResourceVersion());
    assert.equal(w.query.timeoutSeconds, '60');

    rec.clear();
    server.upsert(widget('w5'));
    server.upsert({ ...widget('w0'), spec: { size: 2 } });
    server.remove('ns1', 'w1');
    await eventually(() => rec.events.length === 3, 'three watch events');
    assert.deepEqual(rec.seen(), ['add ns1/w5', 'update ns1/w0', 'delete ns1/w1']);
    assert.equal(inf.get('ns1/w1'), undefined);
    assert.deepEqual((inf.get('ns1/w0') as { spec?: unknown }).spec, { size: 2 });
    assert.equal(inf.lastSyncResourceVersion(), server.resourceVersion);
  });

  test('passes namespace and selectors to the server', async () => {
    server.upsert(widget('a', 'ns1'));
    server.upsert(widget('b', 'ns2'));
    server.upsert({ metadata: { name: 'c', namespace: 'ns1', labels: { app: 'other' } } });
    const inf = make({ namespace: 'ns1', labelSelector: 'app=x', fieldSelector: 'metadata.name!=zzz' });
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(inf.keys(), ['ns1/a']);
    const l = server.listRequests()[0]!;
    assert.equal(l.path, '/apis/test.dev/v1/namespaces/ns1/widgets');
    assert.equal(l.query.labelSelector, 'app=x');
    assert.equal(l.query.fieldSelector, 'metadata.name!=zzz');
  });

  test('bookmarks advance the resourceVersion; a stream end resumes the watch from it without relisting', async () => {
    server.upsert(widget('a'));
    const inf = make();
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    server.bookmark();
    const bookmarkRv = server.resourceVersion;
    await eventually(() => inf.lastSyncResourceVersion() === bookmarkRv, 'bookmark applied');

    server.endWatches();
    await server.waitFor(() => server.watchRequests().length === 2, 2000, 'second watch');
    assert.equal(server.watchRequests()[1]!.query.resourceVersion, bookmarkRv);
    assert.equal(server.listRequests().length, 1, 'no relist after a clean stream end');
    assert.deepEqual(reasons, ['stream-end']);
  });

  test('410 Gone mid-watch → relist, with deletes for vanished objects and updates for changed ones', async () => {
    server.upsert(widget('keep'));
    server.upsert(widget('change'));
    server.upsert(widget('vanish'));
    const inf = make();
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    rec.clear();

    // Changes the informer does not see (its watch is stalled), then the history is compacted.
    server.stallWatches();
    server.upsert({ ...widget('change'), spec: { size: 9 } });
    server.remove('ns1', 'vanish');
    server.upsert(widget('new'));
    server.expireWatches();

    await eventually(() => rec.events.length === 3, 'relist diff events');
    assert.deepEqual(rec.seen().sort(), ['add ns1/new', 'delete ns1/vanish', 'update ns1/change']);
    assert.equal(rec.events.find((e) => e.key === 'ns1/keep'), undefined, 'unchanged objects are not re-delivered');
    assert.deepEqual(inf.keys().sort(), ['ns1/change', 'ns1/keep', 'ns1/new']);
    assert.equal(server.listRequests().length, 2);
    assert.ok(reasons.includes('gone'));

    // And it keeps watching after the relist.
    rec.clear();
    server.upsert(widget('after'));
    await eventually(() => rec.seen().includes('add ns1/after'), 'event after relist');
  });

  test('410 as an HTTP status on the watch request also relists', async () => {
    server.goneAsHttpStatus = true;
    server.upsert(widget('a'));
    const inf = make();
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    server.stallWatches();
    server.remove('ns1', 'a');
    server.compact();
    server.endWatches(); // the resumed watch then hits 410
    await eventually(() => rec.seen().includes('delete ns1/a'), 'delete after relist');
    assert.equal(server.listRequests().length, 2);
    assert.ok(reasons.includes('gone'));
  });

  test('a watch that goes silent is aborted by the watchdog and resumed from the last resourceVersion', async () => {
    server.upsert(widget('a'));
    const inf = make({ watchSilenceMs: 300, watchTimeoutSeconds: 60 });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    const rvBefore = inf.lastSyncResourceVersion();

    // Half-open connection: the server keeps the socket but delivers nothing.
    server.stallWatches();
    server.upsert({ ...widget('a'), spec: { size: 42 } });
    const started = Date.now();
    await eventually(() => rec.seen().includes('update ns1/a'), 'missed update delivered after watchdog restart', 3000);
    assert.ok(Date.now() - started >= 250, 'not before the silence threshold');
    assert.ok(reasons.includes('silence'));
    assert.equal(server.listRequests().length, 1, 'resumed, not relisted');
    const resumed = server.watchRequests()[1]!;
    assert.equal(resumed.query.resourceVersion, rvBefore);
    assert.deepEqual((inf.get('ns1/a') as { spec?: unknown }).spec, { size: 42 });
  });

  test('server errors on list and watch are retried with growing back-off until they succeed', async () => {
    server.upsert(widget('a'));
    server.failNext('list', 3, 500);
    const inf = make({ backoffBaseMs: 20, backoffMaxMs: 100 });
    const started = Date.now();
    inf.start();
    await inf.waitForSync();
    const elapsed = Date.now() - started;
    assert.equal(server.listRequests().length, 4);
    assert.deepEqual(reasons, ['list-error', 'list-error', 'list-error']);
    // random() = 0.5 → 75 % of 20, 40, 80 ms.
    assert.ok(elapsed >= 100, `back-off waited (${elapsed} ms)`);

    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'first watch');
    server.failNext('watch', 2, 503);
    server.endWatches();
    await server.waitFor(() => server.openWatchCount() === 1 && server.watchRequests().length === 4, 3000, 'watch re-established');
    assert.deepEqual(reasons.slice(3), ['stream-end', 'error', 'error']);
    const rec = recorder();
    inf.addHandler(rec.handlers);
    rec.clear();
    server.upsert(widget('b'));
    await eventually(() => rec.seen().includes('add ns1/b'), 'events flow again');
  });

  test('back-off is capped', async () => {
    server.failNext('list', 1000, 500);
    const inf = make({ backoffBaseMs: 1, backoffMaxMs: 8 });
    inf.start();
    await server.waitFor(() => server.listRequests().length >= 12, 3000, 'many retries');
    // 12 attempts with delays capped at 8 ms would take ~1 s uncapped at 2^11 ms.
    assert.equal(inf.hasSynced(), false);
  });

  test('periodic resync re-delivers cached objects as updates', async () => {
    server.upsert(widget('a'));
    const inf = make({ resyncMs: 40 });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await eventually(() => rec.events.filter((e) => e.type === 'update').length >= 2, 'two resyncs');
    const up = rec.events.find((e) => e.type === 'update')!;
    assert.equal(up.rv, up.oldRv, 'resync passes the same object as old and new');
  });

  test('a resync of many objects yields to the event loop between chunks and delivers each object once', async () => {
    const total = RESYNC_CHUNK * 2 + 500;
    for (let i = 0; i < total; i++) server.upsert(widget(`w${i}`));
    const inf = make({ pageSize: 1000 });
    let updates = 0;
    const seen = new Set<string>();
    inf.addHandler({ onUpdate: (_old, obj) => { updates++; seen.add(obj.metadata!.name!); } });
    inf.start();
    await inf.waitForSync();
    const done = inf.resync();
    assert.equal(updates, RESYNC_CHUNK, 'the first chunk is delivered before resync() returns');
    const between = await new Promise<number>((r) => setImmediate(() => r(updates)));
    assert.ok(between < total, `another task ran before the resync ended (${between} of ${total} delivered)`);
    await done;
    assert.equal(updates, total);
    assert.equal(seen.size, total);
  });

  test('periodic relist re-reads the server', async () => {
    server.upsert(widget('a'));
    const inf = make({ relistMs: 50 });
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.listRequests().length >= 3, 3000, 'relists');
    assert.ok(reasons.includes('relist'));
  });

  test('a throwing handler does not stop the informer or other handlers', async () => {
    const inf = make();
    inf.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    server.upsert(widget('a'));
    server.upsert(widget('b'));
    await eventually(() => rec.events.length === 2, 'both adds reach the second handler');
  });

  test('a handler added after sync receives the existing objects; removing it stops delivery', async () => {
    server.upsert(widget('a'));
    const inf = make();
    inf.start();
    await inf.waitForSync();
    const rec = recorder();
    const off = inf.addHandler(rec.handlers);
    assert.deepEqual(rec.seen(), ['add ns1/a']);
    off();
    server.upsert(widget('b'));
    await eventually(() => inf.size() === 2, 'b cached');
    assert.deepEqual(rec.seen(), ['add ns1/a']);
  });

  test('stop() ends the watch and returns promptly, also during back-off', async () => {
    const inf = make();
    inf.start();
    await inf.waitForSync();
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    await inf.stop();
    await server.waitFor(() => server.openWatchCount() === 0, 2000, 'watch closed on the server');

    server.failNext('list', 1000, 500);
    const slow = make({ backoffBaseMs: 10_000, backoffMaxMs: 10_000 });
    slow.start();
    await server.waitFor(() => server.listRequests().length >= 2, 2000, 'first failed list');
    await delay(20);
    const t = Date.now();
    await slow.stop();
    assert.ok(Date.now() - t < 500, 'stop interrupts the back-off sleep');
  });

  test('metadataOnly asks for PartialObjectMetadata and caches nothing but metadata', async () => {
    server.upsert({ metadata: { name: 's1', namespace: 'ns1', labels: { app: 'x' } }, data: { apiKey: 'c2VjcmV0' } });
    const inf = make({ metadataOnly: true });
    inf.start();
    await inf.waitForSync();
    assert.match(server.listRequests()[0]!.accept ?? '', /as=PartialObjectMetadataList;g=meta.k8s.io;v=v1/);
    await server.waitFor(() => server.openWatchCount() === 1, 2000, 'watch');
    assert.match(server.watchRequests()[0]!.accept ?? '', /as=PartialObjectMetadata;g=meta.k8s.io;v=v1/);
    server.upsert({ metadata: { name: 's2', namespace: 'ns1' }, data: { apiKey: 'c2VjcmV0' } });
    await eventually(() => inf.size() === 2, 'watched object cached');
    for (const o of inf.list()) {
      assert.deepEqual(Object.keys(o).sort(), ['apiVersion', 'kind', 'metadata']);
      assert.equal(o.kind, 'Widget');
      assert.equal(o.apiVersion, 'test.dev/v1');
    }
    assert.ok(!JSON.stringify(inf.list()).includes('c2VjcmV0'));
    assert.match(inf.name, /metadataOnly/);
  });

  test('waitForSync rejects when its signal aborts', async () => {
    server.failNext('list', 1000, 500);
    const inf = make({ backoffBaseMs: 50 });
    inf.start();
    await assert.rejects(inf.waitForSync(AbortSignal.timeout(100)));
  });
});

describe('stripManagedFields', () => {
  test('drops managedFields and leaves metadata a compact (fast-properties) V8 object, not a dictionary', () => {
    // %HasFastProperties needs --allow-natives-syntax, so this runs in a child process.
    const mod = JSON.stringify(new URL('../../../kube/informer.ts', import.meta.url).href);
    const script = `const { stripManagedFields } = await import(${mod});
const text = JSON.stringify({ metadata: { name: 'k', namespace: 'ns', uid: 'u', resourceVersion: '1', generation: 1, labels: { a: 'b' }, managedFields: [{ manager: 'm' }] }, spec: {} });
const viaDelete = JSON.parse(text); delete viaDelete.metadata.managedFields;
const stripped = stripManagedFields(JSON.parse(text));
console.log(JSON.stringify({ deleteIsFast: %HasFastProperties(viaDelete.metadata), fast: %HasFastProperties(stripped.metadata), metadata: stripped.metadata }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    assert.equal(out.deleteIsFast, false, 'the premise: delete makes a dictionary');
    assert.equal(out.fast, true);
    assert.deepEqual(out.metadata, { name: 'k', namespace: 'ns', uid: 'u', resourceVersion: '1', generation: 1, labels: { a: 'b' } });
  });
});
