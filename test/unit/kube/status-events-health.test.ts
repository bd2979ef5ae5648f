// Status writes (server-side apply on /status, skipped when unchanged), Event
// aggregation, the health/metrics server, and the kube error helpers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { CoreV1Event } from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';
import { leftovers, mergePatch, overlay, StatusWriter, type StatusClient } from '../../../kube/status.ts';
import { EventRecorder, type EventClient } from '../../../kube/events.ts';
import { startHealthServer } from '../../../kube/health.ts';
import { OperatorMetrics } from '../../../kube/metrics.ts';
import { KubeHttp, describeError, isAlreadyExists, isConflict, isGone, isNotFound, isWriteRace, statusCodeOf } from '../../../kube/kube.ts';
import { eventClientOver, statusClientOver } from '../../../kube/api-writers.ts';
import { ownConditions, setCondition } from '../../../kube/conditions.ts';

describe('status', () => {
  test('mergePatch: nulls for removed members, nested diffs, arrays replaced, undefined when equal', () => {
    assert.equal(mergePatch({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }), undefined);
    assert.equal(mergePatch({ a: 1 }, { a: 1, u: undefined }), undefined, 'undefined members do not count');
    assert.deepEqual(mergePatch({ a: 1, gone: 'x', n: { x: 1, y: 2 } }, { a: 2, n: { x: 1, y: 3 }, arr: [1] }), {
      gone: null,
      a: 2,
      n: { y: 3 },
      arr: [1],
    });
    assert.deepEqual(mergePatch({ l: [1, 2] }, { l: [1] }), { l: [1] });
  });

  function fakeClient() {
    const calls: Array<{ scope: 'ns' | 'cluster'; param: Record<string, unknown> }> = [];
    const client: StatusClient = {
      patchNamespacedCustomObjectStatus: async (param) => void calls.push({ scope: 'ns', param }),
      patchClusterCustomObjectStatus: async (param) => void calls.push({ scope: 'cluster', param }),
    };
    return { calls, client };
  }

  test('applyStatus on a cluster-scoped object: the cluster endpoint, no write for a recomputed equal status, a dropped member left out', async () => {
    const { calls, client } = fakeClient();
    const w = new StatusWriter({ client });
    const now = new Date('2025-01-01T00:00:00Z');
    const ready = { type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'ok' };
    const conditions = ownConditions([], [ready], 2, now);
    const obj = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o', generation: 2, resourceVersion: '7' }, status: { observedGeneration: 1, conditions, mutual: true } };
    assert.equal(await w.applyStatus(obj, 'organizations', { observedGeneration: 2, conditions, mutual: true }, 'crossgate-organization'), true);
    assert.deepEqual(calls[0], {
      scope: 'cluster',
      param: {
        group: 'crossgate.dev',
        version: 'v1alpha1',
        plural: 'organizations',
        name: 'o',
        body: { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o' }, status: { observedGeneration: 2, conditions, mutual: true } },
        fieldManager: 'crossgate-organization',
        force: true,
      },
    });
    // Same conditions recomputed later (the cache caught up): lastTransitionTime kept → no write.
    const caughtUp = { ...obj, metadata: { ...obj.metadata, resourceVersion: '8' }, status: { ...obj.status, observedGeneration: 2 } };
    const again = ownConditions(obj.status.conditions, [ready], 2, new Date());
    assert.equal(await w.applyStatus(caughtUp, 'organizations', { observedGeneration: 2, conditions: again, mutual: true }, 'crossgate-organization'), false);
    assert.equal(calls.length, 1);

    assert.equal(await w.applyStatus(caughtUp, 'organizations', { observedGeneration: 2, conditions, mutual: undefined }, 'crossgate-organization'), true);
    assert.deepEqual((calls[1]!.param.body as { status: unknown }).status, { observedGeneration: 2, conditions });
  });

  test('a desired null member means absent: no patch once the stored status lacks it, a removal while it has it', () => {
    assert.equal(mergePatch({ state: 'Approved' }, { state: 'Approved', previousKeyValidUntil: null }), undefined);
    assert.deepEqual(mergePatch({ state: 'Approved', previousKeyValidUntil: 'x' }, { state: 'Approved', previousKeyValidUntil: null }), { previousKeyValidUntil: null });
    assert.equal(mergePatch({ a: { b: 1 } }, { a: { b: 1, c: null } }), undefined);
  });

  test('a reconcile woken before the cache has its last write neither writes it again nor loses what it wrote', async () => {
    const { calls, client } = fakeClient();
    const w = new StatusWriter({ client });
    const stale = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'k', namespace: 'ns', uid: 'u1', resourceVersion: '10' } };
    const desired = { observedGeneration: 1, state: 'Approved' };
    assert.equal(await w.applyStatus(stale, 'apikeys', desired, 'crossgate-apikey'), true);
    // The cache still shows resourceVersion 10 without a status: the same status is not written twice,
    // and current() answers with what was written (for previous conditions and state-change Events).
    assert.equal(await w.applyStatus(stale, 'apikeys', desired, 'crossgate-apikey'), false);
    assert.deepEqual(w.current(stale), desired);
    assert.equal(calls.length, 1);
    // Once the cache moves on (our write or another writer's), it is the truth again.
    const caughtUp = { ...stale, metadata: { ...stale.metadata, resourceVersion: '11' }, status: { observedGeneration: 1, state: 'Pending' } };
    assert.deepEqual(w.current(caughtUp), caughtUp.status);
    assert.equal(await w.applyStatus(caughtUp, 'apikeys', desired, 'crossgate-apikey'), true);
    assert.deepEqual((calls[1]!.param.body as { status: unknown }).status, { observedGeneration: 1, state: 'Approved' });
  });

  test('applyStatus sends only its manager\'s fields and conditions as an apply with force, and skips what changes nothing', async () => {
    const { calls, client } = fakeClient();
    const w = new StatusWriter({ client });
    const t0 = new Date('2025-01-01T00:00:00Z');
    // The other manager's condition and field are on the object; this one's Ready holds since t0.
    const stored = [
      ...setCondition([], { type: 'Ready', status: 'True', reason: 'Routed', message: 'served' }, 1, t0),
      ...setCondition([], { type: 'Analysed', status: 'True', reason: 'Read', message: 'figures' }, 1, t0),
    ];
    const obj = {
      apiVersion: 'crossgate.dev/v1alpha1',
      kind: 'ApiInstance',
      metadata: { name: 'i', namespace: 'ns', uid: 'u1', resourceVersion: '5' },
      status: { observedGeneration: 1, conditions: stored, gateway: 'default', endpoint: 'http://gw/old', analytics: { requests: 3 } },
    };
    const ready = { type: 'Ready', status: 'True' as const, reason: 'Routed', message: 'served' };
    const desired = { observedGeneration: 1, conditions: ownConditions(stored, [ready], 1, new Date()), gateway: 'default', endpoint: 'http://gw/x' };
    assert.equal(desired.conditions[0]!.lastTransitionTime, '2025-01-01T00:00:00Z', 'lastTransitionTime kept while the status holds');
    assert.deepEqual(desired.conditions.map((c) => c.type), ['Ready'], 'never the other manager\'s condition types');

    // What the object already shows is no write, also the first time after a start (no burst of writes at every start).
    assert.equal(await w.applyStatus({ ...obj, status: { ...obj.status, endpoint: 'http://gw/x' } }, 'apiinstances', desired, 'crossgate-apiinstance'), false);
    assert.equal(calls.length, 0);
    assert.equal(await w.applyStatus(obj, 'apiinstances', desired, 'crossgate-apiinstance'), true);
    assert.deepEqual(calls[0], {
      scope: 'ns',
      param: {
        group: 'crossgate.dev',
        version: 'v1alpha1',
        namespace: 'ns',
        plural: 'apiinstances',
        name: 'i',
        body: { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns' }, status: desired },
        fieldManager: 'crossgate-apiinstance',
        force: true,
      },
    });
    // Then the same desired fields are a no-op (the cache caught up: a newer resourceVersion, the same status).
    const caughtUp = { ...obj, metadata: { ...obj.metadata, resourceVersion: '6' }, status: { ...obj.status, endpoint: 'http://gw/x' } };
    assert.equal(await w.applyStatus(caughtUp, 'apiinstances', desired, 'crossgate-apiinstance'), false);
    // Another manager's write goes out with its own fields only.
    assert.equal(await w.applyStatus(caughtUp, 'apiinstances', { analytics: { requests: 4 } }, 'crossgate-apianalytics'), true);
    assert.deepEqual(calls[1]!.param.body, { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns' }, status: { analytics: { requests: 4 } } });
    assert.equal(calls[1]!.param.fieldManager, 'crossgate-apianalytics');

    // A field the manager no longer sets (undefined) is left out of the body, and that is a change.
    const lost = { ...desired, endpoint: undefined };
    assert.equal(await w.applyStatus(caughtUp, 'apiinstances', lost, 'crossgate-apiinstance'), true);
    assert.deepEqual(calls[2]!.param.body, { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns' }, status: { observedGeneration: 1, conditions: desired.conditions, gateway: 'default' } });
    // Until the cache catches up, current() shows the write over everything else: the other manager's condition and analytics stay.
    assert.deepEqual(w.current(caughtUp), { observedGeneration: 1, conditions: stored, gateway: 'default', analytics: { requests: 4 } });
    assert.equal(await w.applyStatus(caughtUp, 'apiinstances', lost, 'crossgate-apiinstance'), false, 'not written twice');
    assert.equal(calls.length, 3);

    await assert.rejects(w.applyStatus({ apiVersion: 'crossgate.dev/v1alpha1', metadata: { name: 'x' } }, 'apiinstances', {}, 'm'), /applyStatus needs the object's kind \(crossgate.dev\/v1alpha1 x\)/);
  });

  test('applyStatus removes a dropped member the apply left in place (still owned by the merge-patch manager of earlier versions)', async () => {
    const calls: Array<{ body: unknown; fieldManager?: string; force?: boolean; contentType?: string }> = [];
    const answers = [{ status: { gateway: 'default', endpoint: 'http://gw/x' } }, { status: { gateway: 'default' } }];
    const client: StatusClient = {
      patchNamespacedCustomObjectStatus: async (p, o) => (calls.push({ body: p.body, fieldManager: p.fieldManager, force: p.force, contentType: o?.contentType }), answers.shift()),
      patchClusterCustomObjectStatus: async () => assert.fail('namespaced'),
    };
    const w = new StatusWriter({ client });
    const obj = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns', resourceVersion: '4' }, status: { gateway: 'default', endpoint: 'http://gw/x' } };
    assert.equal(await w.applyStatus(obj, 'apiinstances', { gateway: 'default', endpoint: undefined }, 'crossgate-apiinstance'), true);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.contentType, 'application/apply-patch+yaml');
    assert.deepEqual(calls[1], { body: { status: { endpoint: null } }, fieldManager: 'crossgate-apiinstance', force: undefined, contentType: 'application/merge-patch+json' });
    assert.deepEqual(w.current(obj), { gateway: 'default' });
    // An apply that removed what it dropped needs no second write.
    const again = { ...obj, metadata: { ...obj.metadata, resourceVersion: '6' }, status: { gateway: 'other', endpoint: 'http://gw/x' } };
    answers.push({ status: { gateway: 'default' } });
    assert.equal(await w.applyStatus(again, 'apiinstances', { gateway: 'default', endpoint: undefined }, 'crossgate-apiinstance'), true);
    assert.equal(calls.length, 3);
  });

  test('applyStatus removes the entries and fields of a member it sets that the apply left in place (co-owned by the merge-patch manager of earlier versions)', async () => {
    const calls: Array<{ body: unknown; contentType?: string }> = [];
    // The server kept the environment and the summary field this manager no longer sends (another manager co-owns them).
    const answer = {
      status: {
        conditions: [{ type: 'Ready', status: 'True' }, { type: 'Old', status: 'True' }],
        environments: [{ name: 'dev', ready: true }, { name: 'prod', ready: true }],
        summary: { title: 'T', pathCount: 2 },
        count: 1,
      },
    };
    const client: StatusClient = {
      patchNamespacedCustomObjectStatus: async () => assert.fail('cluster-scoped'),
      patchClusterCustomObjectStatus: async (p, o) => (calls.push({ body: p.body, contentType: o?.contentType }), calls.length === 1 ? answer : undefined),
    };
    const w = new StatusWriter({ client });
    const obj = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o', resourceVersion: '4' } };
    const desired = { conditions: [{ type: 'Ready', status: 'True' }], environments: [{ name: 'dev', ready: true }], summary: { title: 'T' }, count: 1 };
    assert.equal(await w.applyStatus(obj, 'organizations', desired, 'crossgate-organization'), true);
    assert.equal(calls.length, 2);
    // Lists are replaced whole, nested fields removed with null; conditions (shared by type) and equal members are left alone.
    assert.deepEqual(calls[1], { body: { status: { environments: [{ name: 'dev', ready: true }], summary: { pathCount: null } } }, contentType: 'application/merge-patch+json' });
    assert.equal(leftovers({ status: { count: 1 } }, { count: 1, gone: undefined }), undefined, 'nothing left');
    assert.equal(leftovers(undefined, { count: 1 }), undefined, 'an answer without a status tells nothing');
  });

  test('overlay: members replaced or removed, conditions replaced per type and new types appended', () => {
    const c = (type: string, status: string) => ({ type, status });
    assert.deepEqual(overlay({ a: 1, b: 2, conditions: [c('A', 'True'), c('B', 'True')] }, { b: undefined, d: { x: null, y: 1 }, conditions: [c('B', 'False'), c('C', 'True')] }), {
      a: 1,
      d: { y: 1 },
      conditions: [c('A', 'True'), c('B', 'False'), c('C', 'True')],
    });
    assert.deepEqual(overlay(null, { conditions: [c('A', 'True')] }), { conditions: [c('A', 'True')] });
  });

  test('over KubeHttp: PATCH …/status as an apply, then a merge patch for what it left; Events POSTed and merge-patched', async () => {
    const seen: Array<{ method?: string; url?: string; ct?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, ct: req.headers['content-type'], body });
        // The ApiKey's apply leaves a member it dropped (co-owned by the merge-patch manager of earlier versions).
        const answer = req.url?.includes('/apikeys/') && req.headers['content-type'] === 'application/apply-patch+yaml' ? { status: { phase: 'Active', secretName: 's' } } : {};
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const kc = new k8s.KubeConfig();
      const port = (server.address() as { port: number }).port;
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
        currentContext: 'c',
      });
      const kube = new KubeHttp(kc);
      const w = new StatusWriter({ client: statusClientOver(kube) });
      await w.applyStatus({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'k', namespace: 'ns' } }, 'apikeys', { phase: 'Active', secretName: undefined }, 'crossgate-apikey');
      await w.applyStatus({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'o' } }, 'organizations', { ready: true }, 'crossgate-organization');
      await w.applyStatus({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns' } }, 'apiinstances', { gateway: 'default' }, 'crossgate-apiinstance');
      const [keyApply, keyMerge, orgApply, apply] = seen.splice(0, 4) as Array<(typeof seen)[number]>;
      assert.equal(apply!.method, 'PATCH');
      assert.equal(apply!.url, '/apis/crossgate.dev/v1alpha1/namespaces/ns/apiinstances/i/status?fieldManager=crossgate-apiinstance&force=true');
      assert.equal(apply!.ct, 'application/apply-patch+yaml');
      assert.deepEqual(JSON.parse(apply!.body), { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: 'i', namespace: 'ns' }, status: { gateway: 'default' } });
      assert.equal(keyApply!.url, '/apis/crossgate.dev/v1alpha1/namespaces/ns/apikeys/k/status?fieldManager=crossgate-apikey&force=true');
      assert.deepEqual(JSON.parse(keyApply!.body).status, { phase: 'Active' });
      // What the apply left: removed with a merge patch by the same manager, without force.
      assert.equal(keyMerge!.method, 'PATCH');
      assert.equal(keyMerge!.url, '/apis/crossgate.dev/v1alpha1/namespaces/ns/apikeys/k/status?fieldManager=crossgate-apikey');
      assert.equal(keyMerge!.ct, 'application/merge-patch+json');
      assert.deepEqual(JSON.parse(keyMerge!.body), { status: { secretName: null } });
      assert.equal(orgApply!.url, '/apis/crossgate.dev/v1alpha1/organizations/o/status?fieldManager=crossgate-organization&force=true');
      assert.equal(seen.length, 0);

      const r = new EventRecorder({ client: eventClientOver(kube), host: 'op-0' });
      const key = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'k', namespace: 'ns', uid: 'u1' } };
      r.normal(key, 'KeyIssued', 'key written');
      await r.flush();
      r.normal(key, 'KeyIssued', 'key written');
      await r.flush();
      assert.equal(seen[0]!.method, 'POST');
      assert.equal(seen[0]!.url, '/api/v1/namespaces/ns/events');
      assert.equal(seen[0]!.ct, 'application/json');
      const event = JSON.parse(seen[0]!.body);
      assert.equal(event.reason, 'KeyIssued');
      assert.match(event.firstTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(seen[1]!.method, 'PATCH');
      assert.equal(seen[1]!.url, `/api/v1/namespaces/ns/events/${event.metadata.name}`);
      assert.equal(seen[1]!.ct, 'application/merge-patch+json');
      assert.equal(JSON.parse(seen[1]!.body).count, 2);
      await kube.close();
    } finally {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    }
  });
});

describe('EventRecorder', () => {
  function fakeEvents() {
    const created: CoreV1Event[] = [];
    const patched: Array<{ name: string; body: unknown; ct?: string }> = [];
    let failCreate = false;
    let expire = false;
    const client: EventClient = {
      createNamespacedEvent: async ({ body }) => {
        if (failCreate) throw Object.assign(new Error('HTTP-Code: 403'), { code: 403 });
        created.push(body);
        return body;
      },
      patchNamespacedEvent: async ({ name, body }, opts) => {
        if (expire) throw Object.assign(new Error('HTTP-Code: 404'), { code: 404 });
        patched.push({ name, body, ct: opts?.contentType });
        return {} as CoreV1Event;
      },
    };
    return { client, created, patched, setFailCreate: (v: boolean) => (failCreate = v), setExpire: (v: boolean) => (expire = v) };
  }
  const apikey = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'team-a', namespace: 'mule-united-dev', uid: 'u1', resourceVersion: '5' } };
  const org = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Organization', metadata: { name: 'max-airlines', uid: 'u2' } };

  test('creates an Event with involvedObject, source and reportingComponent', async () => {
    const f = fakeEvents();
    const r = new EventRecorder({ client: f.client, host: 'op-0' });
    r.normal(apikey, 'Approved', 'contract approved at tier gold');
    await r.flush();
    assert.equal(f.created.length, 1);
    const e = f.created[0]!;
    assert.equal(e.metadata?.namespace, 'mule-united-dev');
    assert.match(e.metadata?.name ?? '', /^team-a\.[0-9a-f]+$/);
    assert.deepEqual(e.involvedObject, { apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiKey', name: 'team-a', namespace: 'mule-united-dev', uid: 'u1', resourceVersion: '5' });
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Approved');
    assert.equal(e.count, 1);
    assert.equal(e.reportingComponent, 'crossgate-operator');
    assert.equal(e.reportingInstance, 'op-0');
    assert.deepEqual(e.source, { component: 'crossgate-operator', host: 'op-0' });
  });

  test('aggregates repeats into count/lastTimestamp; different messages make new Events', async () => {
    const f = fakeEvents();
    const r = new EventRecorder({ client: f.client });
    r.warning(apikey, 'TrustNotMutual', 'peer does not trust back');
    r.warning(apikey, 'TrustNotMutual', 'peer does not trust back');
    r.warning(apikey, 'TrustNotMutual', 'peer does not trust back');
    r.warning(apikey, 'TrustNotMutual', 'something else');
    await r.flush();
    assert.equal(f.created.length, 2);
    assert.equal(f.patched.length, 2);
    assert.equal(f.patched[0]!.name, f.created[0]!.metadata?.name);
    assert.equal((f.patched[1]!.body as { count: number }).count, 3);
    assert.equal(f.patched[0]!.ct, 'application/merge-patch+json', 'sent as a merge patch');
  });

  test('cluster-scoped objects get Events in "default"; an expired Event is recreated', async () => {
    const f = fakeEvents();
    const r = new EventRecorder({ client: f.client });
    r.normal(org, 'Ready', 'namespaces labelled');
    await r.flush();
    assert.equal(f.created[0]!.metadata?.namespace, 'default');
    f.setExpire(true);
    r.normal(org, 'Ready', 'namespaces labelled');
    await r.flush();
    assert.equal(f.created.length, 2);
  });

  test('never throws into the caller; failures are only logged', async () => {
    const f = fakeEvents();
    f.setFailCreate(true);
    const r = new EventRecorder({ client: f.client });
    assert.doesNotThrow(() => r.warning(apikey, 'Failed', 'x'));
    await r.flush();
    assert.equal(f.created.length, 0);
    const long = 'y'.repeat(5000);
    f.setFailCreate(false);
    r.normal(apikey, 'Long', long);
    await r.flush();
    assert.equal(f.created[0]!.message?.length, 1024);
  });
});

describe('health server', () => {
  test('/healthz, /readyz following a ready check, /metrics, 404', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: true });
    let synced = false;
    const hs = await startHealthServer({ port: 0, registry: metrics.registry, readyChecks: { informers: () => synced } });
    try {
      assert.equal(hs.host, '127.0.0.1');
      const get = async (path: string) => {
        const res = await fetch(`${hs.url}${path}`);
        return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
      };
      assert.equal((await get('/healthz')).status, 200);
      const notReady = await get('/readyz');
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /\[-\]informers failed/);
      synced = true;
      assert.deepEqual([(await get('/readyz')).status, (await get('/readyz')).text], [200, 'ok']);
      assert.match((await get('/readyz?verbose')).text, /\[\+\]informers ok/);
      hs.addHealthCheck('broken', () => {
        throw new Error('x');
      });
      assert.equal((await get('/healthz')).status, 503);
      metrics.leaderStatus.set({ name: 'crossgate-operator' }, 1);
      const m = await get('/metrics');
      assert.equal(m.status, 200);
      assert.match(m.type ?? '', /text\/plain/);
      assert.match(m.text, /leader_election_master_status\{name="crossgate-operator"\} 1/);
      assert.match(m.text, /nodejs_heap_size_used_bytes/);
      assert.equal((await get('/nope')).status, 404);
    } finally {
      await hs.close();
    }
  });
});

describe('kube error helpers', () => {
  test('understand ApiException (code + JSON string body), Watch errors (statusCode) and Status bodies', () => {
    const notFound = new k8s.ApiException(404, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'x not found' }), {});
    assert.ok(isNotFound(notFound));
    assert.equal(describeError(notFound), 'HTTP 404 NotFound: x not found');
    const conflict = new k8s.ApiException(409, 'm', JSON.stringify({ code: 409, reason: 'Conflict' }), {});
    const exists = new k8s.ApiException(409, 'm', JSON.stringify({ code: 409, reason: 'AlreadyExists' }), {});
    assert.ok(isConflict(conflict) && !isAlreadyExists(conflict));
    assert.ok(isAlreadyExists(exists) && !isConflict(exists));
    // A lost race of either kind means "re-read and decide again" (the webhook's TLS Secret and its configuration).
    assert.ok(isWriteRace(conflict) && isWriteRace(exists) && isWriteRace(Object.assign(new Error('m'), { code: 409 })));
    assert.ok(!isWriteRace(notFound));
    assert.ok(isGone(Object.assign(new Error('Gone'), { statusCode: 410 })));
    assert.ok(isGone({ body: { code: 410 } }));
    assert.equal(statusCodeOf(new Error('plain')), undefined);
    assert.equal(statusCodeOf(undefined), undefined);
    assert.equal(describeError(new Error('plain')), 'plain');
  });

  test('a timed-out request is a timeout, not "HTTP 23" (the legacy code of a DOMException TimeoutError)', async () => {
    const timeout = await new Promise<unknown>((resolve) => {
      const signal = AbortSignal.timeout(1);
      signal.addEventListener('abort', () => resolve(signal.reason));
    });
    assert.equal((timeout as { code?: number }).code, 23);
    assert.equal(statusCodeOf(timeout), undefined);
    assert.ok(!isNotFound(timeout) && !isConflict(timeout));
    assert.match(describeError(timeout), /^timed out \(.+\)$/);
  });
});
