// Analytics: Prometheus metrics per API instance (route id), client and
// status class, a recent-window summary per API (requests, errors and
// error % over the last 5 minutes, what Alerts read), and the 24-hour figures
// API Manager shows per API (DayWindow: requests, errors, latency histograms
// per API and per client, the last request), which the operator sums over
// every replica into ApiInstance status.analytics.
//
// Label cardinality: `client` is the consumer's ApiKey (namespace/name), one
// series per client per API per status class. Past maxClients distinct
// clients the rest are counted as client="_other", so the number of keys
// never grows the scrape; "-" is a request without an identified client.
import { Registry, collectDefaultMetrics, type Counter, type Gauge, type Histogram } from 'prom-client';
import { metricsIn } from '../kube/metrics.ts';
import { ANONYMOUS, MAX_CLIENT_NAME, OTHER_CLIENTS, capClients, latencyBucket, type ApiDay, type ClientDay, type DaySummary, type Histogram as LatencyCounts } from '../api/analytics.ts';

export { ANONYMOUS, OTHER_CLIENTS };

export interface ApiSummary {
  requests: number;
  clientErrors: number;
  serverErrors: number;
  /** (4xx + 5xx) / requests × 100, one decimal. */
  errorPercent: number;
  /** Mean duration in ms. */
  meanMs: number;
  /** Slowest response in the window, ms (Alert: response-time). */
  maxMs: number;
  /** Responses by status code (Alert: response-codes). */
  statusCodes: Record<string, number>;
  /** Requests refused by a policy, by policy type (Alert: policy-violations). */
  violations: Record<string, number>;
}

export interface Summary {
  windowSeconds: number;
  apis: Record<string, ApiSummary>;
}

/** What a bucket counts, and what a summary adds up from the buckets of its window (summaryOf derives the rest). */
type Tally = Pick<ApiSummary, 'requests' | 'clientErrors' | 'serverErrors' | 'statusCodes' | 'violations'> & { seconds: number; maxSeconds: number };

const emptyTally = (): Tally => ({ requests: 0, clientErrors: 0, serverErrors: 0, seconds: 0, maxSeconds: 0, statusCodes: {}, violations: {} });

const addCount = (into: Record<string, number>, key: string, n: number) => {
  into[key] = (into[key] ?? 0) + n;
};

function addTally(into: Tally, t: Tally): void {
  into.requests += t.requests;
  into.clientErrors += t.clientErrors;
  into.serverErrors += t.serverErrors;
  into.seconds += t.seconds;
  into.maxSeconds = Math.max(into.maxSeconds, t.maxSeconds);
  for (const k in t.statusCodes) addCount(into.statusCodes, k, t.statusCodes[k]!);
  for (const k in t.violations) addCount(into.violations, k, t.violations[k]!);
}

/** Milliseconds, one decimal. */
const ms = (seconds: number) => Math.round(seconds * 10000) / 10;

function summaryOf(t: Tally): ApiSummary {
  const { requests, clientErrors, serverErrors } = t;
  return {
    requests,
    clientErrors,
    serverErrors,
    errorPercent: requests ? Math.round(((clientErrors + serverErrors) / requests) * 1000) / 10 : 0,
    meanMs: requests ? ms(t.seconds / requests) : 0,
    maxMs: ms(t.maxSeconds),
    statusCodes: t.statusCodes,
    violations: t.violations,
  };
}

type Bucket = Tally & { start: number };

const emptyBucket = (start: number): Bucket => ({ start, ...emptyTally() });

/**
 * Ring of fixed buckets per API: O(1) per request, the sum of live buckets on
 * read, over the whole window or its last N seconds (what an Alert asks for).
 */
export class RecentWindow {
  readonly bucketMs: number;
  readonly buckets: number;
  #apis = new Map<string, Bucket[]>();

  constructor(windowMs = 300_000, bucketMs = 10_000) {
    this.bucketMs = bucketMs;
    this.buckets = Math.ceil(windowMs / bucketMs);
  }

  #bucket(api: string, now: number): Bucket {
    let ring = this.#apis.get(api);
    if (!ring) this.#apis.set(api, (ring = Array.from({ length: this.buckets }, () => emptyBucket(-1))));
    const start = now - (now % this.bucketMs);
    const i = Math.floor(start / this.bucketMs) % this.buckets;
    if (ring[i]!.start !== start) ring[i] = emptyBucket(start);
    return ring[i]!;
  }

  record(api: string, status: number, seconds: number, now: number): void {
    const b = this.#bucket(api, now);
    b.requests++;
    if (status >= 500) b.serverErrors++;
    else if (status >= 400) b.clientErrors++;
    b.seconds += seconds;
    if (seconds > b.maxSeconds) b.maxSeconds = seconds;
    addCount(b.statusCodes, String(status), 1);
  }

  violation(api: string, policy: string, now: number): void {
    addCount(this.#bucket(api, now).violations, policy, 1);
  }

  /**
   * Sums the buckets that overlap the last `windowSeconds` (so a request is
   * never missed because a bucket just rolled over; at most the whole ring).
   */
  summary(now: number, windowSeconds?: number): Summary {
    const n = Math.min(this.buckets, Math.floor(((windowSeconds ?? Infinity) * 1000) / this.bucketMs) + 1);
    const oldest = now - (now % this.bucketMs) - (n - 1) * this.bucketMs;
    const apis: Record<string, ApiSummary> = {};
    for (const [api, ring] of this.#apis) {
      const total = emptyTally();
      for (const b of ring) if (b.start >= oldest) addTally(total, b);
      if (total.requests === 0 && Object.keys(total.violations).length === 0) continue;
      apis[api] = summaryOf(total);
    }
    return { windowSeconds: (n * this.bucketMs) / 1000, apis };
  }
}

/** One bucket of one API in the day ring: counts, a latency histogram, per-client figures (at most maxClients names). */
interface DayBucket {
  start: number;
  requests: number;
  clientErrors: number;
  serverErrors: number;
  last: number;
  latency: LatencyCounts;
  clients: Map<string, ClientDay>;
  /** Clients tracked by name (not "-" nor "_other"). */
  named: number;
}

export interface DayWindowOptions {
  /** Length of one bucket; default 3600 s (an hour). */
  bucketSeconds?: number;
  /** Buckets in the ring; default 24 (a day of hours). */
  buckets?: number;
  /** Clients tracked by name per API and bucket; the rest count as "_other". Default 20. */
  maxClients?: number;
}

/**
 * The 24-hour figures per API in bounded memory: a ring of `buckets` buckets of `bucketSeconds` per API, each
 * holding at most maxClients named clients plus "-" (anonymous) and "_other" (the rest), and sparse
 * histograms of at most LATENCY_BOUNDS_MS.length + 1 counts. O(1) per request; summed on read.
 */
export class DayWindow {
  readonly bucketMs: number;
  readonly buckets: number;
  readonly maxClients: number;
  #apis = new Map<string, DayBucket[]>();

  constructor(opts: DayWindowOptions = {}) {
    this.bucketMs = Math.max(1, opts.bucketSeconds ?? 3600) * 1000;
    this.buckets = Math.max(1, opts.buckets ?? 24);
    this.maxClients = Math.max(1, opts.maxClients ?? 20);
  }

  record(api: string, client: string | undefined, status: number, seconds: number, now: number): void {
    let ring = this.#apis.get(api);
    if (!ring) this.#apis.set(api, (ring = []));
    const start = now - (now % this.bucketMs);
    const i = Math.floor(start / this.bucketMs) % this.buckets;
    let b = ring[i];
    if (!b || b.start !== start) ring[i] = b = { start, requests: 0, clientErrors: 0, serverErrors: 0, last: 0, latency: {}, clients: new Map(), named: 0 };
    const error = status >= 400;
    b.requests++;
    if (status >= 500) b.serverErrors++;
    else if (error) b.clientErrors++;
    if (now > b.last) b.last = now;
    const bucket = String(latencyBucket(seconds * 1000));
    b.latency[bucket] = (b.latency[bucket] ?? 0) + 1;
    let name = client ?? ANONYMOUS;
    if (name !== ANONYMOUS && !b.clients.has(name)) {
      if (name.length > MAX_CLIENT_NAME || name === OTHER_CLIENTS || b.named >= this.maxClients) name = OTHER_CLIENTS;
      else b.named++;
    }
    let c = b.clients.get(name);
    if (!c) b.clients.set(name, (c = { requests: 0, errors: 0, latency: {} }));
    c.requests++;
    if (error) c.errors++;
    c.latency[bucket] = (c.latency[bucket] ?? 0) + 1;
  }

  /** The sum of the live buckets per API (at most maxClients + 1 client entries, "_other" included); APIs without a live bucket are dropped. */
  summary(now: number, routes: string[]): DaySummary {
    const oldest = now - (now % this.bucketMs) - (this.buckets - 1) * this.bucketMs;
    const apis: Record<string, ApiDay> = {};
    for (const [api, ring] of this.#apis) {
      const live = ring.filter((b) => b && b.start >= oldest);
      if (live.length === 0) {
        this.#apis.delete(api); // nothing left in the window: the API's memory goes
        continue;
      }
      const day: ApiDay = { requests: 0, clientErrors: 0, serverErrors: 0, latency: {}, clients: {} };
      const clients: Record<string, ClientDay> = {};
      for (const b of live) {
        day.requests += b.requests;
        day.clientErrors += b.clientErrors;
        day.serverErrors += b.serverErrors;
        day.lastRequest = Math.max(day.lastRequest ?? 0, b.last);
        for (const k in b.latency) day.latency[k] = (day.latency[k] ?? 0) + b.latency[k]!;
        for (const [name, c] of b.clients) {
          const into = (clients[name] ??= { requests: 0, errors: 0, latency: {} });
          into.requests += c.requests;
          into.errors += c.errors;
          for (const k in c.latency) into.latency[k] = (into.latency[k] ?? 0) + c.latency[k]!;
        }
      }
      day.clients = capClients(clients, this.maxClients + 1);
      apis[api] = day;
    }
    const bucketSeconds = this.bucketMs / 1000;
    return { bucketSeconds, buckets: this.buckets, windowSeconds: bucketSeconds * this.buckets, routes, apis };
  }
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'client' | 'code_class'>;
  readonly duration: Histogram<'api'>;
  readonly violations: Counter<'api' | 'policy'>;
  readonly upstreamErrors: Counter<'api' | 'kind'>;
  readonly configGeneration: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly credentials: Gauge;
  readonly configPartsKeptBack: Gauge<'kind'>;
  readonly counterStoreErrors: Counter;
  readonly counterCapRefusals: Counter;
  readonly accessLogLines: Counter<'result'>;
  readonly recent = new RecentWindow();
  readonly day: DayWindow;
  readonly maxClients: number;
  #clients = new Set<string>();

  constructor(opts: { maxClients?: number; defaultMetrics?: boolean; day?: DayWindowOptions } = {}) {
    this.maxClients = opts.maxClients ?? 1000;
    this.day = new DayWindow(opts.day);
    const registry = (this.registry = new Registry());
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'crossgate_gateway_' });
    const metric = metricsIn(registry);
    this.requests = metric.counter('crossgate_gateway_requests_total', 'Requests answered, by API instance, client (ApiKey) and status class.', ['api', 'client', 'code_class']);
    this.duration = metric.histogram('crossgate_gateway_request_duration_seconds', 'Time from request to the end of the response, by API instance.', ['api'], [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]);
    this.violations = metric.counter('crossgate_gateway_policy_violations_total', 'Requests refused by a policy, by API instance and policy type (sla-tier for tier limits).', ['api', 'policy']);
    this.upstreamErrors = metric.counter('crossgate_gateway_upstream_errors_total', 'Upstream failures, by API instance and kind (timeout, connect, reset, header, protocol).', ['api', 'kind']);
    this.configGeneration = metric.gauge('crossgate_gateway_config_generation', 'Generation of the config in force.');
    this.configReloads = metric.counter(
      'crossgate_gateway_config_reloads_total',
      'Config assembly attempts that changed something: loaded, pending (parts still arriving) or refused (invalid).',
      ['result'],
    );
    this.credentials = metric.gauge('crossgate_gateway_credentials', 'API key hashes in the config in force.');
    this.configPartsKeptBack = metric.gauge(
      'crossgate_gateway_config_parts_kept_back',
      'Parts the manifest in force lists that were not loaded (invalid or missing): their previous content, or none, stays in force. By kind (Routes, Credentials).',
      ['kind'],
    );
    this.counterCapRefusals = metric.counter('crossgate_gateway_counter_cap_refusals_total', 'Requests refused (429) because the memory store already holds its maximum of per-address counters.');
    this.accessLogLines = metric.counter(
      'crossgate_gateway_access_log_lines_total',
      "crossgate-authz: access-log datagrams from the proxy, by result: recorded, unknown_route (ignored), malformed, oversized, refused_source (dropped).",
      ['result'],
    );
    this.counterStoreErrors = metric.counter('crossgate_gateway_counter_store_errors_total', 'Shared counter store failures (the request was counted locally instead).');
  }

  clientLabel(client: string | undefined): string {
    if (client === undefined) return ANONYMOUS;
    if (this.#clients.has(client)) return client;
    if (this.#clients.size >= this.maxClients) return OTHER_CLIENTS;
    this.#clients.add(client);
    return client;
  }

  observe(api: string, client: string | undefined, status: number, seconds: number, now: number): void {
    const cls = CLASSES[Math.floor(status / 100) - 1] ?? 'other';
    this.requests.inc({ api, client: this.clientLabel(client), code_class: cls });
    this.duration.observe({ api }, seconds);
    this.recent.record(api, status, seconds, now);
    this.day.record(api, client, status, seconds, now);
  }

  violation(api: string, policy: string, now = Date.now()): void {
    this.violations.labels(api, policy).inc();
    this.recent.violation(api, policy, now);
  }
}
