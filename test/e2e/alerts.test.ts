// Alerts end to end: traffic through the real gateway, the operator reading
// the gateway's recent-window summary, and on each state change an Event, the
// Alert's status and an Alertmanager-compatible POST received on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_NAMESPACE_ALERTS } from '../../api/v1alpha1/index.ts';
import {
  applyStory, applyYaml, condition, deleteStory, freePort, getJson, kubectl, rawKeyOf, startGatewayProcess, startOperator, startUpstream, startWebhook, waitFor, waitForCondition,
  type RunningGateway, type RunningOperator, type RunningWebhookProcess, type Upstream,
} from './support/index.ts';

const OWNER = 'max-airlines-prod';
/** An admin of the owner's organization (impersonated): every field of its own namespaces is hers. */
const MALLORY = { as: 'mallory', groups: ['max-airlines:admins'] };
type Posted = Array<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt?: string }>;

describe('Alerts', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;
  let gw: RunningGateway;
  let upstream: Upstream;
  let receiver: Server;
  let receiverUrl: string;
  const received: Posted[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body) as Posted);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/v2/alerts`;
    upstream = await startUpstream();
    const adminPort = await freePort();
    // The platform allows exactly the upstream and the alert receiver on loopback.
    const loopbackUpstreams = [upstream.hostPort, new URL(receiverUrl).host];
    webhook = await startWebhook({ loopbackUpstreams });
    op = await startOperator({ loopbackUpstreams, env: { CROSSGATE_GATEWAY_ADMIN_URLS: `http://127.0.0.1:${adminPort}`, CROSSGATE_ALERT_INTERVAL_MS: '1000', CROSSGATE_ANALYTICS_INTERVAL_MS: '1000' } });
    await applyStory(upstream.url);
    gw = await startGatewayProcess({ adminPort, loopbackUpstreams });
  });
  after(async () => {
    await kubectl(['delete', 'alerts', '--all', '-n', OWNER, '--ignore-not-found'], { allowFail: true });
    await gw?.stop();
    await deleteStory();
    await op?.proc.stop();
    await webhook?.stop();
    await upstream?.close();
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  });

  test('responses with given codes: Firing with an Event and a notification, then resolved when the window passes', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Alert
metadata: {name: unauthorized-calls, namespace: ${OWNER}}
spec:
  apiInstanceRef: {name: flights}
  severity: critical
  condition: {type: response-codes, statusCodes: [401], threshold: 2, periodSeconds: 10}
  notify: {url: "${receiverUrl}"}
`);
    await waitFor(async () => (await getJson(['alert', 'unauthorized-calls', '-n', OWNER]))?.status?.state === 'Inactive', { what: 'alert evaluated' });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${gw.url}/flights/v1/flights`)).status, 401);
    const firing = await waitFor(async () => {
      const a = await getJson(['alert', 'unauthorized-calls', '-n', OWNER]);
      return a?.status?.state === 'Firing' ? a : undefined;
    }, { what: 'alert firing' });
    assert.equal(firing.status.value, 3);
    await waitFor(() => received.length >= 1, { what: 'a notification' });
    const [n] = received[0]!;
    assert.equal(n!.labels['alertname'], 'unauthorized-calls');
    assert.equal(n!.labels['severity'], 'critical');
    assert.equal(n!.labels['apiinstance'], 'flights');
    assert.equal(n!.endsAt, undefined);
    assert.match(n!.annotations['summary']!, /responses 401 over 10s above 2/);
    const events = (await kubectl(['get', 'events', '-n', OWNER, '--field-selector', 'involvedObject.name=unauthorized-calls'])).stdout;
    assert.match(events, /AlertFiring/);
    const table = (await kubectl(['get', 'alerts', '-n', OWNER])).stdout;
    assert.match(table, /unauthorized-calls\s+flights\s+response-codes\s+2\s+3\s+Firing/);

    await waitFor(async () => (await getJson(['alert', 'unauthorized-calls', '-n', OWNER]))?.status?.state === 'Inactive', { what: 'alert resolved', timeoutMs: 40_000 });
    await waitFor(() => received.length >= 2, { what: 'the resolved notification' });
    assert.ok(received[1]![0]!.endsAt, 'a resolved alert carries endsAt');
    // Issue 14: the status says delivered or not, never the receiver's status code. The record follows the state:
    // the notification runs in its namespace's lane for the whole timeout (security-model row 36).
    const { time, ...notification } = await waitFor(async () => {
      const last = (await getJson(['alert', 'unauthorized-calls', '-n', OWNER]))?.status?.lastNotification;
      return last?.state === 'Inactive' ? last : undefined;
    }, { what: 'the resolved notification recorded' });
    assert.ok(time);
    assert.deepEqual(notification, { state: 'Inactive', delivered: true, message: 'delivered' });
  });

  test('recent traffic on the ApiInstance status, shown by kubectl get -o wide', async () => {
    const inst = await waitFor(async () => {
      const i = await getJson(['apiinstance', 'flights', '-n', OWNER]);
      return i?.status?.analytics?.requests > 0 ? i : undefined;
    }, { what: 'analytics on the ApiInstance' });
    assert.equal(inst.status.analytics.windowSeconds, 300);
    assert.ok(inst.status.analytics.errorPercent > 0, 'the 401s count as errors');
    const wide = (await kubectl(['get', 'apiinstance', 'flights', '-n', OWNER, '-o', 'wide'])).stdout;
    assert.match(wide, /REQUESTS\s+ERRORS %/);
  });

  test('policy violations: tier refusals count', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Alert
metadata: {name: over-tier, namespace: ${OWNER}}
spec:
  apiInstanceRef: {name: flights}
  condition: {type: policy-violations, threshold: 0, periodSeconds: 60}
`);
    const key = await rawKeyOf('trial-app-apikey', 'mule-united-prod');
    for (let i = 0; i < 5; i++) await fetch(`${gw.url}/flights/v1/flights`, { headers: { 'x-api-key': key } });
    const a = await waitFor(async () => {
      const x = await getJson(['alert', 'over-tier', '-n', OWNER]);
      return x?.status?.state === 'Firing' ? x : undefined;
    }, { what: 'policy-violation alert firing' });
    assert.ok(a.status.value >= 2);
  });

  test('a notify.url the platform does not allow is refused at admission and, with the webhook out of the way, never called', async () => {
    let calls = 0;
    const sneaky = createServer((_req, res) => {
      calls++;
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => sneaky.listen(0, '127.0.0.1', r));
    try {
      const yaml = `apiVersion: crossgate.dev/v1alpha1
kind: Alert
metadata: {name: sneaky, namespace: ${OWNER}}
spec:
  apiInstanceRef: {name: flights}
  condition: {type: request-count, threshold: 0, periodSeconds: 10}
  notify: {url: "http://localhost:${(sneaky.address() as AddressInfo).port}/api/v2/alerts"}
`;
      const r = await applyYaml(yaml, { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Alert "sneaky": spec\.notify\.url names host "localhost", a loopback address/);
      await webhook.stop();
      try {
        await applyYaml(yaml);
        await fetch(`${gw.url}/flights/v1/flights`);
        const a = await waitFor(async () => {
          const x = await getJson(['alert', 'sneaky', '-n', OWNER]);
          return x?.status?.lastNotification ? x : undefined;
        }, { what: 'the refused notification recorded' });
        assert.equal(a.status.lastNotification.delivered, false);
        assert.match(a.status.lastNotification.message, /^not sent: spec\.notify\.url names host "localhost", a loopback address/);
        assert.equal(calls, 0, 'the operator never called the refused URL');
      } finally {
        webhook = await startWebhook({ loopbackUpstreams: [upstream.hostPort, new URL(receiverUrl).host] });
      }
    } finally {
      await kubectl(['delete', 'alert', 'sneaky', '-n', OWNER, '--ignore-not-found'], { allowFail: true });
      await new Promise<void>((r) => sneaky.close(() => r()));
    }
  });
  // Security-model row 38: the Alert worker is shared by every organization; one namespace's Alerts beyond
  // MAX_NAMESPACE_ALERTS are refused, and with the webhook out of the way stored but not evaluated.
  test('an organization admin\'s Alert beyond the namespace\'s limit is refused, and not evaluated without the webhook', async () => {
    const doc = (name: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Alert
metadata: {name: ${name}, namespace: ${OWNER}}
spec:
  apiInstanceRef: {name: flights}
  condition: {type: request-count, threshold: 1000000, periodSeconds: 60}
`;
    const existing = ((await getJson(['alerts', '-n', OWNER]))?.items ?? []).length;
    const flood = Array.from({ length: MAX_NAMESPACE_ALERTS - existing }, (_, i) => `flood-${i}`);
    try {
      const r = await applyYaml(flood.map(doc).join('---\n'), MALLORY);
      assert.equal(r.code, 0, r.stderr);
      const refused = await applyYaml(doc('one-more'), { ...MALLORY, allowFail: true });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        new RegExp(`Alert "one-more": namespace "${OWNER}" already holds ${MAX_NAMESPACE_ALERTS} Alerts, the most one namespace may hold \\(${MAX_NAMESPACE_ALERTS}\\): each is evaluated every interval by the operator all organizations share`),
      );
      await webhook.stop();
      try {
        const w = await applyYaml(doc('one-more'), { ...MALLORY, allowFail: true });
        assert.equal(w.code, 0, w.stderr);
        const a = await waitForCondition(['alert', 'one-more', '-n', OWNER], 'Ready', 'False', { reason: 'TooManyAlerts' });
        assert.match(condition(a, 'Ready')!.message, new RegExp(`^namespace "${OWNER}" holds more than ${MAX_NAMESPACE_ALERTS} Alerts and only the ${MAX_NAMESPACE_ALERTS} oldest are evaluated: this one is not`));
        assert.equal(a.status.state, 'Unknown');
        assert.equal(a.status.lastEvaluation, undefined);
        assert.match((await kubectl(['get', 'alert', 'one-more', '-n', OWNER])).stdout, /one-more\s+flights\s+request-count\s+1000000\s+Unknown/);
      } finally {
        webhook = await startWebhook({ loopbackUpstreams: [upstream.hostPort, new URL(receiverUrl).host] });
      }
    } finally {
      await kubectl(['delete', 'alert', '-n', OWNER, 'one-more', ...flood, '--ignore-not-found', '--wait=false'], { allowFail: true });
    }
  });
});
