// The Alert controller in a Manager over the in-memory API (memory-api.ts),
// with gateway figures from a fake: it writes its status with server-side
// apply as crossgate-alert, owns exactly its fields, and the fields an
// evaluation no longer has (value, since, lastNotification while the gateway
// is unreachable) go. The real apiserver and gateway: test/e2e/alerts.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NO_PLATFORM_SETTINGS } from '../../../api/platform.ts';
import { MAX_NAMESPACE_ALERTS } from '../../../api/v1alpha1/index.ts';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { ALERT_MANAGER, GATEWAY_UNREACHABLE, registerAlertController } from '../../../operator/controllers/alert.ts';
import type { ApiFigures, GatewayStats } from '../../../operator/controllers/gateway-stats.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn } from './memory-api.ts';
import { eventually } from './helpers.ts';

const NS = 'max-prod';

describe('Alert controller (in-memory API): status applies as crossgate-alert', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  let mgr: Manager;
  let down = false;
  const figures = (requests: number): ApiFigures => ({ requests, statusCodes: { '200': requests }, violations: {}, maxMs: 5, clientErrors: 0, serverErrors: 0, meanMs: 2 });
  const stats = {
    urls: ['http://gateway-admin'],
    read: async () => {
      if (down) throw new Error('http://10.244.3.7:9090/summary?windowSeconds=60 answered 503');
      return new Map([[`${NS}/flights`, figures(10)]]);
    },
  } as unknown as GatewayStats;
  const status = () => api.get('alerts', `${NS}/busy`)?.status as Record<string, any> | undefined;

  before(async () => {
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    registerAlertController(mgr, { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api, ownership) }), events, stats, intervalMs: 20 });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('firing, then the gateway unreachable: every write an apply by crossgate-alert; value, since and lastNotification go', async () => {
    api.upsert('alerts', {
      apiVersion: 'crossgate.dev/v1alpha1',
      kind: 'Alert',
      metadata: { name: 'busy', namespace: NS, generation: 1 },
      // A loopback receiver is refused by the address rules: nothing is sent, the record says why.
      spec: { apiInstanceRef: { name: 'flights' }, condition: { type: 'request-count', threshold: 5, periodSeconds: 60 }, notify: { url: 'http://127.0.0.1:9/hook' } },
    });
    await eventually(() => status()?.state === 'Firing', 'firing');
    assert.equal(status()!.value, 10);
    assert.ok(status()!.since);
    assert.equal(status()!.lastNotification.delivered, false);
    assert.equal(ALERT_MANAGER, 'crossgate-alert');
    assert.deepEqual(ownership.owners(`alerts/${NS}/busy`), {
      'crossgate-alert': ['conditions/Ready', 'lastEvaluation', 'lastNotification', 'observedGeneration', 'since', 'state', 'value'],
    });

    down = true;
    await eventually(() => status()?.state === 'Unknown', 'unknown while the gateway is unreachable');
    const unknown = status()!;
    assert.equal(unknown.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'GatewayUnreachable');
    // Tenants read the status: the gateway replica's address and answer stay in the operator's log.
    assert.equal(unknown.conditions.find((c: { type: string }) => c.type === 'Ready').message, GATEWAY_UNREACHABLE);
    assert.doesNotMatch(JSON.stringify(unknown), /10\.244\.3\.7|9090|503/);
    assert.ok(unknown.lastEvaluation);
    for (const field of ['value', 'since', 'lastNotification']) assert.equal(field in unknown, false, `${field} removed`);
    assert.ok(ownership.writes.length >= 2);
    assert.deepEqual(ownership.writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== ALERT_MANAGER), [], 'every status write is an apply by crossgate-alert');
  });
});

// Row 36 of docs/security-model.md: an organization admin's many Alerts whose state changes (each notification takes
// the whole timeout, so that its timing tells nothing) must not hold back another organization's Alerts.
describe('Alert controller (in-memory API): one organization\'s notifications do not delay another\'s Alerts', () => {
  const api = new MemoryApi();
  let mgr: Manager;
  let receiver: Server;
  const received: string[] = [];
  const ATTACKER = 'mallory-prod';
  const ATTACKER_ALERTS = 12;
  const TIMEOUT_MS = 400;
  const figures = (requests: number): ApiFigures => ({ requests, statusCodes: { '200': requests }, violations: {}, maxMs: 5, clientErrors: 0, serverErrors: 0, meanMs: 2 });
  const stats = {
    urls: ['http://gateway-admin'],
    read: async () => new Map([[`${NS}/flights`, figures(10)], [`${ATTACKER}/noise`, figures(10)]]),
  } as unknown as GatewayStats;
  const alert = (namespace: string, name: string, apiInstance: string, url: string) => ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Alert',
    metadata: { name, namespace, generation: 1 },
    spec: { apiInstanceRef: { name: apiInstance }, condition: { type: 'request-count', threshold: 5, periodSeconds: 60 }, notify: { url } },
  });

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(String(JSON.parse(body)[0]?.labels?.namespace));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const pair = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const settings = { ...NO_PLATFORM_SETTINGS, loopbackUpstreams: new Set([pair]) };
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    registerAlertController(mgr, {
      http: api as unknown as KubeHttp,
      status: new StatusWriter({ client: statusClientOn(api, new StatusOwnership()) }),
      events,
      stats,
      intervalMs: 60_000,
      settings,
      notifyTimeoutMs: TIMEOUT_MS,
    });
    // The attacker's Alerts are there first: every one fires at its first evaluation and notifies.
    for (let i = 0; i < ATTACKER_ALERTS; i++) api.upsert('alerts', alert(ATTACKER, `noise-${i}`, 'noise', `http://${pair}/hook`));
    api.upsert('alerts', alert(NS, 'busy', 'flights', `http://${pair}/hook`));
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
    receiver.close();
  });

  test('the victim\'s Alert fires and its notification is delivered within one timeout, not behind the attacker\'s', async () => {
    const started = Date.now();
    const victim = () => api.get('alerts', `${NS}/busy`)?.status as Record<string, any> | undefined;
    // Serially, the victim waited ATTACKER_ALERTS × TIMEOUT_MS (4.8 s) for its first evaluation.
    await eventually(() => victim()?.state === 'Firing', 'the victim\'s alert firing', 2 * TIMEOUT_MS);
    await eventually(() => victim()?.lastNotification?.delivered === true, 'the victim\'s notification delivered', 4 * TIMEOUT_MS);
    assert.ok(Date.now() - started < 4 * TIMEOUT_MS, `victim done after ${Date.now() - started} ms`);
    assert.ok(received.includes(NS));
    assert.equal(victim()!.lastNotification.state, 'Firing');
    assert.equal(victim()!.lastNotification.message, 'delivered');
    // The attacker's notifications are all delivered too, in its own lane.
    await eventually(
      () => Array.from({ length: ATTACKER_ALERTS }, (_, i) => api.get('alerts', `${ATTACKER}/noise-${i}`)?.status as Record<string, any> | undefined).every((s) => s?.lastNotification?.delivered === true),
      'the attacker\'s notifications delivered',
      (ATTACKER_ALERTS + 4) * TIMEOUT_MS,
    );
  });
});

// Row 38: an organization's thousands of Alerts (webhook skipped) are not all evaluated: the oldest
// MAX_NAMESPACE_ALERTS of a namespace are, the rest say why (TooManyAlerts) and take no turn on the shared worker.
describe('Alert controller (in-memory API): at most MAX_NAMESPACE_ALERTS evaluated per namespace', () => {
  const api = new MemoryApi();
  let mgr: Manager;
  const ATTACKER = 'mallory-prod';
  let reads = 0;
  const stats = {
    urls: ['http://gateway-admin'],
    read: async () => {
      reads++;
      return new Map();
    },
  } as unknown as GatewayStats;
  const alert = (name: string, created: string) => ({
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Alert',
    metadata: { name, namespace: ATTACKER, generation: 1, creationTimestamp: created },
    spec: { apiInstanceRef: { name: 'noise' }, condition: { type: 'request-count', threshold: 5, periodSeconds: 60 } },
  });
  const status = (name: string) => api.get('alerts', `${ATTACKER}/${name}`)?.status as Record<string, any> | undefined;

  before(async () => {
    for (let i = 0; i < MAX_NAMESPACE_ALERTS; i++) api.upsert('alerts', alert(`a-${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()));
    api.upsert('alerts', alert('late', '2026-01-02T00:00:00Z'));
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    registerAlertController(mgr, { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClientOn(api, new StatusOwnership()) }), events, stats, intervalMs: 200 });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('the newest is not evaluated (Ready=False TooManyAlerts, state Unknown) until an older one goes', async () => {
    await eventually(() => Array.from({ length: MAX_NAMESPACE_ALERTS }, (_, i) => status(`a-${i}`)?.state).every((s) => s === 'Inactive'), 'the oldest evaluated');
    await eventually(() => status('late')?.conditions !== undefined, 'the newest has a condition');
    const late = status('late')!;
    assert.equal(late.state, 'Unknown');
    assert.equal(late.lastEvaluation, undefined, 'not evaluated');
    const ready = late.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'TooManyAlerts');
    assert.match(ready.message, new RegExp(`^namespace "${ATTACKER}" holds more than ${MAX_NAMESPACE_ALERTS} Alerts and only the ${MAX_NAMESPACE_ALERTS} oldest are evaluated: this one is not`));
    assert.ok(reads > 0);
    api.remove('alerts', `${ATTACKER}/a-0`);
    await eventually(() => status('late')?.state === 'Inactive', 'evaluated once an older one is gone', 3000);
  });
});
