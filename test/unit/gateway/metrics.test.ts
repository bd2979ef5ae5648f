import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DayWindow, GatewayMetrics, RecentWindow } from '../../../gateway/metrics.ts';
import { latencyBucket } from '../../../api/analytics.ts';
import { parseListen } from '../../../gateway/main.ts';

describe('metrics', () => {
  test('client label capped: past maxClients the rest are "_other"; anonymous is "-"', async () => {
    const m = new GatewayMetrics({ maxClients: 2, defaultMetrics: false });
    const now = Date.now();
    for (const c of ['a/1', 'a/2', 'a/3', 'a/1', undefined]) m.observe('ns/api', c, 200, 0.01, now);
    m.observe('ns/api', 'a/4', 503, 0.02, now);
    const text = await m.registry.metrics();
    assert.match(text, /crossgate_gateway_requests_total\{api="ns\/api",client="a\/1",code_class="2xx"\} 2/);
    assert.match(text, /crossgate_gateway_requests_total\{api="ns\/api",client="a\/2",code_class="2xx"\} 1/);
    assert.match(text, /crossgate_gateway_requests_total\{api="ns\/api",client="_other",code_class="2xx"\} 1/);
    assert.match(text, /crossgate_gateway_requests_total\{api="ns\/api",client="_other",code_class="5xx"\} 1/);
    assert.match(text, /crossgate_gateway_requests_total\{api="ns\/api",client="-",code_class="2xx"\} 1/);
    assert.match(text, /crossgate_gateway_request_duration_seconds_count\{api="ns\/api"\} 6/);
  });

  test('recent window: requests and error % per API over the last 5 minutes, older buckets forgotten', () => {
    const w = new RecentWindow(300_000, 10_000);
    const t = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 8; i++) w.record('ns/a', 200, 0.01, t + i * 1000);
    w.record('ns/a', 429, 0.001, t + 9000);
    w.record('ns/a', 502, 0.5, t + 9500);
    w.record('ns/b', 200, 0.02, t);
    const s = w.summary(t + 60_000);
    assert.equal(s.windowSeconds, 300);
    assert.deepEqual(s.apis['ns/a'], {
      requests: 10,
      clientErrors: 1,
      serverErrors: 1,
      errorPercent: 20,
      meanMs: 58.1,
      maxMs: 500,
      statusCodes: { '200': 8, '429': 1, '502': 1 },
      violations: {},
    });
    assert.equal(s.apis['ns/b']?.requests, 1);
    w.record('ns/b', 500, 0.02, t + 301_000);
    const later = w.summary(t + 301_000);
    assert.equal(later.apis['ns/a'], undefined, 'five minutes later ns/a has no traffic in the window');
    assert.deepEqual(later.apis['ns/b'], { requests: 1, clientErrors: 0, serverErrors: 1, errorPercent: 100, meanMs: 20, maxMs: 20, statusCodes: { '500': 1 }, violations: {} });
  });

  test('recent window for Alerts: the last N seconds only, and policy refusals by type', () => {
    const w = new RecentWindow(300_000, 10_000);
    const t = Date.parse('2026-01-01T00:00:00Z');
    w.record('ns/a', 503, 0.9, t);
    w.record('ns/a', 429, 0.001, t + 100_000);
    w.violation('ns/a', 'sla-tier', t + 100_000);
    const recent = w.summary(t + 105_000, 30);
    assert.equal(recent.windowSeconds, 40, 'the buckets overlapping the last 30 s');
    assert.deepEqual(recent.apis['ns/a']?.statusCodes, { '429': 1 }, 'the 503 is older than 30 s');
    assert.deepEqual(recent.apis['ns/a']?.violations, { 'sla-tier': 1 });
    assert.equal(recent.apis['ns/a']?.maxMs, 1);
    assert.deepEqual(w.summary(t + 105_000).apis['ns/a']?.statusCodes, { '503': 1, '429': 1 });
    w.record('ns/b', 500, 0.1, t + 119_000);
    assert.equal(w.summary(t + 121_000, 10).apis['ns/b']?.requests, 1, 'a request 2 s ago counts though its bucket has closed');
  });

  test('parseListen', () => {
    assert.deepEqual(parseListen('0.0.0.0:8080', '127.0.0.1'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseListen(':9090', '127.0.0.1'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseListen('8081', '127.0.0.1'), { host: '127.0.0.1', port: 8081 });
    assert.deepEqual(parseListen('[::1]:0', '127.0.0.1'), { host: '::1', port: 0 });
    assert.throws(() => parseListen('localhost', '127.0.0.1'), /expected host:port/);
    assert.throws(() => parseListen('h:99999', '127.0.0.1'), /bad port/);
  });
});

describe('day window (24 buckets of an hour by default)', () => {
  const t = Date.parse('2026-01-01T00:00:00Z');

  test('sums the live buckets per API and per client; a bucket a day old is reused, so memory stays bounded', () => {
    const w = new DayWindow({ bucketSeconds: 3600, buckets: 24, maxClients: 2 });
    w.record('ns/a', 'k/1', 200, 0.002, t);
    w.record('ns/a', 'k/1', 500, 0.004, t + 3_600_000);
    w.record('ns/a', undefined, 404, 0.001, t + 7_200_000);
    const s = w.summary(t + 7_200_000, ['ns/a', 'ns/b']);
    assert.deepEqual([s.bucketSeconds, s.buckets, s.windowSeconds], [3600, 24, 86400]);
    assert.deepEqual(s.routes, ['ns/a', 'ns/b']);
    const a = s.apis['ns/a']!;
    assert.deepEqual([a.requests, a.clientErrors, a.serverErrors, a.lastRequest], [3, 1, 1, t + 7_200_000]);
    assert.deepEqual(a.clients['k/1'], { requests: 2, errors: 1, latency: { [latencyBucket(2)]: 1, [latencyBucket(4)]: 1 } });
    assert.equal(a.clients['-']?.requests, 1, 'no client: "-"');
    // 24 hours after the first request its bucket is reused: the first request is gone, the others stay.
    w.record('ns/a', 'k/1', 200, 0.002, t + 24 * 3_600_000);
    const later = w.summary(t + 24 * 3_600_000, []).apis['ns/a']!;
    assert.equal(later.requests, 3);
    assert.equal(later.serverErrors, 1);
    // Two days on, nothing is live: the API is dropped from the summary and from memory.
    assert.deepEqual(w.summary(t + 72 * 3_600_000, []).apis, {});
  });

  test('clients past the cap per API and bucket count as "_other"; so does an oversized name', () => {
    const w = new DayWindow({ bucketSeconds: 60, buckets: 3, maxClients: 2 });
    for (const c of ['k/1', 'k/2', 'k/3', 'k/4', 'k/1', 'x'.repeat(400)]) w.record('ns/a', c, 200, 0.001, t);
    const clients = w.summary(t, []).apis['ns/a']!.clients;
    assert.deepEqual(Object.keys(clients).sort(), ['_other', 'k/1', 'k/2']);
    assert.equal(clients['_other']!.requests, 3);
  });

  test('GatewayMetrics.observe (the gateway and crossgate-authz\'s access log) records into the day window too', () => {
    const m = new GatewayMetrics({ defaultMetrics: false, day: { bucketSeconds: 5, buckets: 3 } });
    m.observe('ns/a', 'k/1', 200, 0.01, t);
    assert.equal(m.day.summary(t, []).apis['ns/a']?.clients['k/1']?.requests, 1);
    assert.equal(m.day.summary(t, []).windowSeconds, 15);
  });
});
