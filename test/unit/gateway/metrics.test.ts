import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterCells, DayWindow, GatewayMetrics, RecentWindow } from '../../../gateway/metrics.ts';
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

  // Security model row 8h: one organization's many clients (its own keys on its own API) must not use up
  // the label budget of every other organization's APIs.
  test("the client label budget is per API owner (the route's namespace): another namespace's many clients never turn this one's into _other", async () => {
    const m = new GatewayMetrics({ maxClients: 3, defaultMetrics: false });
    const now = Date.now();
    for (let i = 0; i < 50; i++) m.observe('attacker-prod/api', `attacker-prod/key-${i}`, 200, 0.01, now);
    m.observe('victim-prod/api', 'buyer/portal', 200, 0.01, now);
    m.observe('victim-prod/other', 'buyer/portal', 500, 0.01, now);
    const text = await m.registry.metrics();
    assert.match(text, /crossgate_gateway_requests_total\{api="victim-prod\/api",client="buyer\/portal",code_class="2xx"\} 1/);
    assert.match(text, /crossgate_gateway_requests_total\{api="victim-prod\/other",client="buyer\/portal",code_class="5xx"\} 1/);
    // The attacker's own namespace is capped as before.
    assert.match(text, /crossgate_gateway_requests_total\{api="attacker-prod\/api",client="_other",code_class="2xx"\} 47/);
    assert.equal(m.clientLabel('attacker-prod/key-9', 'attacker-prod/api'), '_other');
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

  test('clients past the cap per API and bucket count as "_other" (a newcomer takes the place of the one with fewest requests); so does an oversized name', () => {
    const w = new DayWindow({ bucketSeconds: 60, buckets: 3, maxClients: 2 });
    for (const c of ['k/1', 'k/2', 'k/2', 'k/3', 'k/4', 'k/2', 'x'.repeat(400)]) w.record('ns/a', c, 200, 0.001, t);
    const clients = w.summary(t, []).apis['ns/a']!.clients;
    assert.deepEqual(Object.keys(clients).sort(), ['_other', 'k/2', 'k/4']);
    assert.equal(clients['k/2']!.requests, 3);
    assert.equal(clients['_other']!.requests, 3, 'k/1, k/3 (each folded when a newcomer came) and the oversized name');
    assert.deepEqual(Object.values(clients).reduce((n, c) => n + c.requests, 0), 7, 'every request counted once');
  });

  // security-model row 40: a consumer's 20 keys, one request each at the start of every hour, took every client name of
  // the API's bucket: the owner's real consumers all showed as "_other".
  test("an API's busiest clients keep their names when another consumer's 25 keys come first", () => {
    const w = new DayWindow({ bucketSeconds: 3600, buckets: 24, maxClients: 20 });
    for (let i = 0; i < 25; i++) w.record('max-prod/flights', `mallory-prod/key-${i}`, 200, 0.001, t);
    for (let r = 0; r < 50; r++) for (const c of ['partner-prod/portal', 'acme-prod/app']) w.record('max-prod/flights', c, 200, 0.001, t + 1000 + r);
    for (let i = 0; i < 25; i++) w.record('max-prod/flights', `mallory-prod/key-${i}`, 200, 0.001, t + 2000);
    const day = w.summary(t + 3000, []).apis['max-prod/flights']!;
    assert.equal(day.clients['partner-prod/portal']?.requests, 50);
    assert.equal(day.clients['acme-prod/app']?.requests, 50);
    assert.equal(Object.keys(day.clients).length, 21, 'still 20 names and "_other"');
    assert.equal(Object.values(day.clients).reduce((n, c) => n + c.requests, 0), 150);
  });

  test('GatewayMetrics.observe (the gateway and crossgate-authz\'s access log) records into the day window too', () => {
    const m = new GatewayMetrics({ defaultMetrics: false, day: { bucketSeconds: 5, buckets: 3 } });
    m.observe('ns/a', 'k/1', 200, 0.01, t);
    assert.equal(m.day.summary(t, []).apis['ns/a']?.clients['k/1']?.requests, 1);
    assert.equal(m.day.summary(t, []).windowSeconds, 15);
  });
});

// GatewayMetrics counts requests_total and the duration histogram on its own cells (one addition per request) and
// hands them to the registry at scrape: the exposition must be what prom-client's Counter.inc and Histogram.observe
// per request gave (the reference below is that code), at every scrape.
describe('per-request series on cached cells', () => {
  const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const NAMES = ['crossgate_gateway_requests_total', 'crossgate_gateway_request_duration_seconds'];

  /** GatewayMetrics.observe's Prometheus part as it was: prom-client per request. */
  function reference(maxClients: number) {
    const registry = new Registry();
    const requests = new Counter({ name: NAMES[0]!, help: 'Requests answered, by API instance, client (ApiKey) and status class.', labelNames: ['api', 'client', 'code_class'], registers: [registry] });
    const duration = new Histogram({ name: NAMES[1]!, help: 'Time from request to the end of the response, by API instance.', labelNames: ['api'], buckets: BOUNDS, registers: [registry] });
    // The label budget is per API owner (the api's namespace).
    const clients = new Map<string, Set<string>>();
    const label = (api: string, c: string | undefined) => {
      if (c === undefined) return '-';
      const owner = api.split('/')[0]!;
      const named = clients.get(owner) ?? clients.set(owner, new Set()).get(owner)!;
      if (named.has(c)) return c;
      if (named.size >= maxClients) return '_other';
      named.add(c);
      return c;
    };
    return {
      registry,
      observe(api: string, client: string | undefined, status: number, seconds: number) {
        requests.inc({ api, client: label(api, client), code_class: ['1xx', '2xx', '3xx', '4xx', '5xx'][Math.floor(status / 100) - 1] ?? 'other' });
        duration.observe({ api }, seconds);
      },
    };
  }

  const only = async (r: Registry) => {
    const text = (await r.metrics()).split('\n\n').map((block) => block.trim()).filter((block) => NAMES.some((n) => block.includes(`# TYPE ${n} `)));
    const json = (await r.getMetricsAsJSON()).filter((m) => NAMES.includes(m.name));
    return { text, json };
  };

  const api = fc.constantFrom('ns/a', 'ns/b', 'x/"quoted\\\n');
  const client = fc.option(fc.constantFrom('k/1', 'k/2', 'k/3', 'k/4', 'k/5', '_other', '-'), { nil: undefined });
  const status = fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constantFrom(0, 99, 600, 1000, -200, 250.5));
  const seconds = fc.oneof(fc.constantFrom(...BOUNDS, 0, -1, 10.000001, 1e9, 0.0009999), fc.double({ min: -1, max: 20, noNaN: true }));
  const request = fc.tuple(api, client, status, seconds, fc.boolean());

  test('fast-check: the same text and JSON as prom-client per request, scraped at random points', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 60 }), async (requests) => {
        const m = new GatewayMetrics({ defaultMetrics: false, maxClients: 3 });
        const ref = reference(3);
        for (const [a, c, s, sec, scrape] of requests) {
          m.observe(a, c, s, sec, 1_000_000);
          ref.observe(a, c, s, sec);
          if (scrape) assert.deepEqual(await only(m.registry), await only(ref.registry));
        }
        assert.deepEqual(await only(m.registry), await only(ref.registry));
      }),
      { numRuns: 300 },
    );
  });

  test("counts between scrapes add up; the Counter's own get() hands them over too", async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    for (let i = 0; i < 3; i++) m.observe('ns/a', 'k/1', 200, 0.01, 0);
    assert.deepEqual((await m.requests.get()).values.map((v) => v.value), [3]);
    for (let i = 0; i < 2; i++) m.observe('ns/a', 'k/1', 204, 0.01, 0);
    assert.match(await m.registry.metrics(), /crossgate_gateway_requests_total\{api="ns\/a",client="k\/1",code_class="2xx"\} 5\n/);
    assert.match(await m.registry.metrics(), /crossgate_gateway_requests_total\{api="ns\/a",client="k\/1",code_class="2xx"\} 5\n/, 'a second scrape adds nothing');
    m.accessLogLine('recorded');
    m.accessLogLine('recorded');
    m.accessLogLine('oversized');
    const text = await m.registry.metrics();
    assert.match(text, /crossgate_gateway_access_log_lines_total\{result="recorded"\} 2\n/);
    assert.match(text, /crossgate_gateway_access_log_lines_total\{result="oversized"\} 1\n/);
    assert.doesNotMatch(text, /result="malformed"/, 'a result never counted has no series, as before');
  });

  test('a cell per label set: as many as the Counter has series, bounded by the client cap', async () => {
    const cells = new CounterCells(new Registry(), 'test_total', 'test', ['k']);
    const a = cells.cell({ k: 'a' });
    for (let i = 0; i < 1000; i++) cells.inc(a);
    cells.inc(cells.cell({ k: 'b' }));
    assert.deepEqual((await cells.counter.get()).values.map((v) => [v.labels.k, v.value]), [['a', 1000], ['b', 1]]);
    const m = new GatewayMetrics({ defaultMetrics: false, maxClients: 2 });
    for (let i = 0; i < 500; i++) m.observe('ns/a', `k/${i}`, 200 + (i % 4) * 100, 0.01, 0);
    const series = (await m.requests.get()).values;
    // k/0, k/1, "_other": 3 clients × 4 classes at most.
    assert.ok(series.length <= 12, `${series.length} series`);
    assert.deepEqual(new Set(series.map((v) => v.labels.client)), new Set(['k/0', 'k/1', '_other']));
  });

  test('a duration that is not a number is refused before anything is counted (prom-client threw on it too)', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    assert.throws(() => m.observe('ns/a', 'k/1', 200, Number.NaN, 0), /not a valid number/);
    assert.throws(() => m.observe('ns/a', 'k/1', 200, Infinity, 0), /not a valid number/);
    assert.deepEqual((await m.requests.get()).values, []);
    assert.deepEqual((await m.duration.get()).values, []);
    assert.deepEqual(m.recent.summary(0).apis, {});
    m.observe('ns/a', 'k/1', 200, 0.5, 0);
    m.duration.reset();
    assert.deepEqual((await m.duration.get()).values, [], 'reset empties the histogram, as prom-client did');
    m.observe('ns/a', 'k/1', 200, 0.5, 0);
    assert.match(await m.registry.metrics(), /crossgate_gateway_request_duration_seconds_count\{api="ns\/a"\} 1\n/, 'and counts again after it');
  });
});
