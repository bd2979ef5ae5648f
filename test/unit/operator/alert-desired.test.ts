import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertValue, alertmanagerPayload, mergeStats, type WindowStats } from '../../../operator/controllers/alert-desired.ts';
import type { Alert } from '../../../api/v1alpha1/index.ts';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { NOT_DELIVERED, notificationRecord } from '../../../operator/controllers/alert-desired.ts';
import { deliverNotification } from '../../../operator/controllers/alert.ts';
import { Agent } from 'undici';
import { ConnectGuard, type Lookup } from '../../../kube/connect-guard.ts';

const stats = (s: Partial<WindowStats>): WindowStats => ({ requests: 0, statusCodes: {}, violations: {}, maxMs: 0, ...s });
const alert = (condition: Alert['spec']['condition']): Alert =>
  ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Alert', metadata: { name: 'errors', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, severity: 'critical', condition } }) as Alert;

test('replicas are summed; the slowest response is the max', () => {
  const m = mergeStats([stats({ requests: 3, statusCodes: { '200': 2, '503': 1 }, violations: { 'rate-limit': 1 }, maxMs: 40 }), stats({ requests: 2, statusCodes: { '503': 2 }, maxMs: 90 })]);
  assert.deepEqual(m, { requests: 5, statusCodes: { '200': 2, '503': 3 }, violations: { 'rate-limit': 1 }, maxMs: 90 });
});

test('each condition type reads its value', () => {
  const s = stats({ requests: 10, statusCodes: { '200': 6, '500': 1, '503': 3 }, violations: { 'api-key': 2, 'sla-tier': 4 }, maxMs: 1234 });
  assert.equal(alertValue({ type: 'request-count', threshold: 5, periodSeconds: 60 }, s), 10);
  assert.equal(alertValue({ type: 'response-codes', threshold: 1, periodSeconds: 60, statusCodes: [500, 503] }, s), 4);
  assert.equal(alertValue({ type: 'response-time', threshold: 1000, periodSeconds: 60 }, s), 1234);
  assert.equal(alertValue({ type: 'policy-violations', threshold: 1, periodSeconds: 60 }, s), 6);
  assert.equal(alertValue({ type: 'policy-violations', threshold: 1, periodSeconds: 60, policyTypes: ['api-key'] }, s), 2);
});

test('the Alertmanager payload: labels, annotations, and endsAt only when resolved', () => {
  const a = alert({ type: 'response-codes', threshold: 1, periodSeconds: 60, statusCodes: [503] });
  const [firing] = alertmanagerPayload(a, true, 4, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z');
  assert.deepEqual(firing!.labels, { alertname: 'errors', namespace: 'prod', apiinstance: 'flights', severity: 'critical', type: 'response-codes', source: 'crossgate' });
  assert.equal(firing!.annotations['summary'], 'prod/flights: responses 503 over 60s above 1');
  assert.equal(firing!.endsAt, undefined);
  const [resolved] = alertmanagerPayload(a, false, 0, '2026-01-01T00:00:00Z', '2026-01-01T00:05:00Z');
  assert.equal(resolved!.endsAt, '2026-01-01T00:05:00Z');
});

// Issue 14, weakness 7: the Alert's status is readable by the tenant, so it says only delivered or not.

test('notificationRecord: delivered, not delivered (one fixed sentence), or not sent with the platform rule', () => {
  assert.deepEqual(notificationRecord(undefined, true), { delivered: true, message: 'delivered' });
  assert.deepEqual(notificationRecord(undefined, false), { delivered: false, message: NOT_DELIVERED });
  assert.equal(
    NOT_DELIVERED,
    "not delivered: the receiver did not accept it (no 2xx answer within the timeout). What it answered is not recorded here, so that notify.url cannot be used to probe addresses; a platform admin finds it in the operator's log.",
  );
  assert.deepEqual(notificationRecord('spec.notify.url names host "localhost", a loopback address', false), { delivered: false, message: 'not sent: spec.notify.url names host "localhost", a loopback address' });
});

test('deliverNotification: 2xx accepted; 500, a redirect, a closed port, a silent server all not accepted, all after the same fixed time', async () => {
  const listen = (s: Server | ReturnType<typeof createNetServer>) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
  const answer = (status: number, headers: Record<string, string> = {}) => createServer((req, res) => req.resume().on('end', () => res.writeHead(status, headers).end('secret body')));
  const servers = { ok: answer(202), error: answer(500), redirect: answer(302, { location: 'http://169.254.169.254/' }), silent: createNetServer(() => {}) };
  const closed = createNetServer();
  const closedPort = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const ports = Object.fromEntries(await Promise.all(Object.entries(servers).map(async ([k, s]) => [k, await listen(s)] as const)));
  try {
    const timeoutMs = 400;
    const cases: Array<[string, number, boolean, RegExp]> = [
      ['ok', ports['ok']!, true, /^202$/],
      ['error', ports['error']!, false, /^500$/],
      ['redirect', ports['redirect']!, false, /^302$/],
      ['closed', closedPort, false, /ECONNREFUSED|fetch failed/],
      ['silent', ports['silent']!, false, /timeout|abort/i],
    ];
    const results = await Promise.all(
      cases.map(async ([what, port]) => {
        const started = performance.now();
        const d = await deliverNotification(`http://127.0.0.1:${port}/api/v2/alerts`, [{ labels: {} }], timeoutMs);
        return { what, d, ms: performance.now() - started };
      }),
    );
    for (const [i, [what, , accepted, detail]] of cases.entries()) {
      const r = results[i]!;
      assert.equal(r.d.accepted, accepted, what);
      assert.match(r.d.detail, detail, what);
      // No answer comes sooner than the timeout (a refused port is as slow as a silent one): the property that
      // keeps timing from telling ports apart. The upper bound only catches a hang (a loaded machine is slow).
      assert.ok(r.ms >= timeoutMs - 5 && r.ms < timeoutMs + 3000, `${what}: ${r.ms} ms`);
    }
  } finally {
    for (const s of Object.values(servers)) {
      s.close();
      if ('closeAllConnections' in s) s.closeAllConnections();
    }
  }
});

test('deliverNotification through the connect guard: a name that resolves to loopback is not called unless its exact pair is allowed', async () => {
  const seen: string[] = [];
  const receiver = createServer((req, res) => req.resume().on('end', () => { seen.push(req.url ?? ''); res.writeHead(200).end(); }));
  const port = await new Promise<number>((r) => receiver.listen(0, '127.0.0.1', () => r((receiver.address() as AddressInfo).port)));
  // DNS an attacker controls: the name passed admission as an external host, and now resolves to loopback.
  const lookup: Lookup = (_name, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
  const via = (pairs: string[]) => new Agent({ connect: new ConnectGuard({ settings: { loopbackUpstreams: new Set(pairs), clusterCidrs: [] }, lookup }).connector({ timeoutMs: 1000 }) });
  try {
    const refused = await deliverNotification(`http://receiver.example:${port}/api/v2/alerts`, [], 200, via([]));
    assert.equal(refused.accepted, false);
    assert.match(refused.detail, /loopback|refused|fetch failed/i);
    assert.deepEqual(seen, [], 'the receiver on loopback was never called');
    const allowed = await deliverNotification(`http://receiver.example:${port}/api/v2/alerts`, [], 200, via([`127.0.0.1:${port}`]));
    assert.equal(allowed.accepted, true);
    assert.deepEqual(seen, ['/api/v2/alerts']);
  } finally {
    receiver.close();
    receiver.closeAllConnections();
  }
});
