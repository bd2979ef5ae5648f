// The Alert controller in a Manager over the in-memory API (memory-api.ts),
// with gateway figures from a fake: it writes its status with server-side
// apply as crossgate-alert, owns exactly its fields, and the fields an
// evaluation no longer has (value, since, lastNotification while the gateway
// is unreachable) go. The real apiserver and gateway: test/e2e/alerts.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { APPLY_PATCH, StatusWriter } from '../../../kube/status.ts';
import { EventRecorder } from '../../../kube/events.ts';
import { ALERT_MANAGER, registerAlertController } from '../../../operator/controllers/alert.ts';
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
      if (down) throw new Error('connect ECONNREFUSED');
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
    assert.ok(unknown.lastEvaluation);
    for (const field of ['value', 'since', 'lastNotification']) assert.equal(field in unknown, false, `${field} removed`);
    assert.ok(ownership.writes.length >= 2);
    assert.deepEqual(ownership.writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== ALERT_MANAGER), [], 'every status write is an apply by crossgate-alert');
  });
});
