// Analytics: Prometheus metrics per API instance (route id), client and
// status class, a recent-window summary per API (requests, errors and
// error % over the last 5 minutes, what Alerts read), and the 24-hour figures
// API Manager shows per API (DayWindow: requests, errors, latency histograms
// per API and per client, the last request), which the operator sums over
// every replica into ApiInstance status.analytics.
//
// Label cardinality: `client` is the consumer's ApiKey (namespace/name), one
// series per client per API per status class. Past maxClients distinct
// clients per API owner (the route id's namespace) the rest of that owner's
// are counted as client="_other", so the number of keys never grows the
// scrape, and one organization's many clients never use up the budget of
// another's APIs; "-" is a request without an identified client.
import { Counter, Registry, collectDefaultMetrics, type Gauge, type Histogram } from 'prom-client';
import { metricsIn } from '../kube/metrics.ts';
import { ANONYMOUS, MAX_CLIENT_NAME, OTHER_CLIENTS, RECENT_BUCKET_SECONDS, capClients, latencyBucket, type ApiDay, type ClientDay, type DaySummary, type Histogram as LatencyCounts } from '../api/analytics.ts';

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

  constructor(windowMs = 300_000, bucketMs = RECENT_BUCKET_SECONDS * 1000) {
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
    // A number key is the property its decimal string names, without making the string.
    b.statusCodes[status] = (b.statusCodes[status] ?? 0) + 1;
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
  /** Clients tracked by name per API and bucket (the busiest: a newcomer takes the place of the one with fewest requests); the rest count as "_other". Default 20. */
  maxClients?: number;
}

/**
 * Folds the named client with the fewest requests into "_other", so that a full bucket names its busiest clients, not
 * its first: 20 keys sending one request each at the start of every hour (a consumer of the API, its own keys) would
 * otherwise turn every other consumer into "_other" in the owner's figures (security-model row 40). O(names), only
 * when a new client arrives at a full bucket.
 */
function foldSmallest(clients: Map<string, ClientDay>): void {
  let smallest: string | undefined;
  let fewest = Infinity;
  for (const [name, c] of clients) {
    if (name !== ANONYMOUS && name !== OTHER_CLIENTS && c.requests < fewest) {
      smallest = name;
      fewest = c.requests;
    }
  }
  if (smallest === undefined) return;
  const gone = clients.get(smallest)!;
  clients.delete(smallest);
  let other = clients.get(OTHER_CLIENTS);
  if (!other) clients.set(OTHER_CLIENTS, (other = { requests: 0, errors: 0, latency: {} }));
  other.requests += gone.requests;
  other.errors += gone.errors;
  for (const k in gone.latency) other.latency[k] = (other.latency[k] ?? 0) + gone.latency[k]!;
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
    // The bucket index as a number key: the same property as its decimal string, without making the string.
    const bucket = latencyBucket(seconds * 1000);
    b.latency[bucket] = (b.latency[bucket] ?? 0) + 1;
    let c = b.clients.get(client ?? ANONYMOUS);
    if (!c) {
      let name = client ?? ANONYMOUS;
      if (name !== ANONYMOUS) {
        if (name.length > MAX_CLIENT_NAME || name === OTHER_CLIENTS) name = OTHER_CLIENTS;
        else if (b.named < this.maxClients) b.named++;
        else foldSmallest(b.clients); // its place goes to the newcomer: the bucket's first comers do not keep the names
      }
      c = b.clients.get(name);
      if (!c) b.clients.set(name, (c = { requests: 0, errors: 0, latency: {} }));
    }
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

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'];
/** Index into CLASSES of a status: its class, or "other" (the last) for anything outside 100–599. */
const classOf = (status: number): number => {
  const k = Math.floor(status / 100) - 1;
  return k >= 0 && k < 5 ? k : 5;
};

/** One label set's increments not yet handed to its prom-client Counter. */
interface PendingCell<L extends string> {
  readonly labels: Partial<Record<L, string>>;
  n: number;
}

/**
 * A prom-client Counter counted per request with one addition on a cached cell, handed to the Counter on collect
 * (every scrape and get()): the Counter's own inc() validates and hashes the labels into a string on every call
 * (~0.7 µs, once per request on the access-log and proxy paths). The cells are the Counter's label sets, so they
 * are bounded as its series are; a cell is in `#dirty` exactly while n > 0.
 */
export class CounterCells<L extends string> {
  readonly counter: Counter<L>;
  #dirty: PendingCell<L>[] = [];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
    const flush = () => this.flush();
    this.counter = new Counter<L>({ name, help, labelNames, registers: [registry], collect: flush });
  }

  /** A cell for one label set (keep it: each call makes a new one). */
  cell(labels: Partial<Record<L, string>>): PendingCell<L> {
    return { labels, n: 0 };
  }

  inc(cell: PendingCell<L>): void {
    if (cell.n++ === 0) this.#dirty.push(cell);
  }

  /** Hands the pending increments to the Counter (what its collect does). */
  flush(): void {
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const c of dirty) {
      const n = c.n;
      c.n = 0;
      this.counter.inc(c.labels, n);
    }
  }
}

/** One API's latency histogram: counts per bound (not cumulative; past the last: count only), sum and count. */
interface DurationCell {
  readonly labels: { api: string };
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * crossgate_gateway_request_duration_seconds by API: the same series, values and text as a prom-client Histogram
 * with these buckets (test/unit/gateway/metrics.test.ts compares them), observed with one bucket search and three
 * additions (prom-client's observe validates, hashes the labels and keys its buckets by the bound's text per
 * call, ~0.8 µs). Registered as a metric of the Registry (name, help, type, get, reset: what it reads). One cell
 * per API, as prom-client keeps one series per API.
 */
export class DurationHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['api'];
  readonly bounds: readonly number[];
  #apis = new Map<string, DurationCell>();

  constructor(registry: Registry, name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = Object.freeze([...bounds].sort((a, b) => a - b));
    registry.registerMetric(this as unknown as Histogram);
  }

  cell(api: string): DurationCell {
    let c = this.#apis.get(api);
    if (!c) this.#apis.set(api, (c = { labels: { api }, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 }));
    return c;
  }

  observeIn(c: DurationCell, seconds: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        c.counts[i]!++;
        break;
      }
    }
    c.sum += seconds;
    c.count++;
  }

  observe(labels: { api: string }, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    this.observeIn(this.cell(labels.api), seconds);
  }

  /** Zeroes every cell in place (callers keep theirs); a zero cell is left out of get(), as prom-client drops its series. */
  reset(): void {
    for (const c of this.#apis.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }

  /** What prom-client's Histogram.get() returns: per API, cumulative buckets, +Inf, sum and count. */
  async get() {
    const values: { value: number; metricName: string; exemplar: null | undefined; labels: Record<string, string | number> }[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.#apis.values()) {
      if (c.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ value: acc, metricName: bucket, exemplar: null, labels: { le: this.bounds[i]!, ...c.labels } });
      }
      values.push({ value: c.count, metricName: bucket, exemplar: null, labels: { le: '+Inf', ...c.labels } });
      values.push({ value: c.sum, metricName: `${this.name}_sum`, exemplar: undefined, labels: { ...c.labels } });
      values.push({ value: c.count, metricName: `${this.name}_count`, exemplar: undefined, labels: { ...c.labels } });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** The access-log outcomes crossgate_gateway_access_log_lines_total counts. */
export type AccessLogResult = 'recorded' | 'unknown_route' | 'malformed' | 'oversized' | 'refused_source';
const ACCESS_LOG_RESULTS: readonly AccessLogResult[] = ['recorded', 'unknown_route', 'malformed', 'oversized', 'refused_source'];

/** One API's cached series: its latency histogram and, per client label, its requests cells by status class. */
interface ApiSeries {
  readonly duration: DurationCell;
  readonly clients: Map<string, (PendingCell<'api' | 'client' | 'code_class'> | undefined)[]>;
}

export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'client' | 'code_class'>;
  readonly duration: DurationHistogram;
  readonly violations: Counter<'api' | 'policy'>;
  readonly upstreamErrors: Counter<'api' | 'kind'>;
  readonly configGeneration: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly credentials: Gauge;
  readonly configPartsKeptBack: Gauge<'kind'>;
  readonly counterStoreErrors: Counter;
  readonly counterCapRefusals: Counter;
  readonly clientConnectionsRefused: Counter;
  readonly accessLogLines: Counter<'result'>;
  readonly recent = new RecentWindow();
  readonly day: DayWindow;
  readonly maxClients: number;
  /** Named client labels per API owner (the route id's namespace): each at most maxClients. */
  #clients = new Map<string, Set<string>>();
  readonly #requests: CounterCells<'api' | 'client' | 'code_class'>;
  /** Per API: bounded as the series are (one per API; per client label, at most maxClients + 2). */
  #series = new Map<string, ApiSeries>();
  readonly #lines: CounterCells<'result'>;
  readonly #lineCells: Record<AccessLogResult, PendingCell<'result'>>;

  constructor(opts: { maxClients?: number; defaultMetrics?: boolean; day?: DayWindowOptions } = {}) {
    this.maxClients = opts.maxClients ?? 1000;
    this.day = new DayWindow(opts.day);
    const registry = (this.registry = new Registry());
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'crossgate_gateway_' });
    const metric = metricsIn(registry);
    this.#requests = new CounterCells(registry, 'crossgate_gateway_requests_total', 'Requests answered, by API instance, client (ApiKey) and status class.', ['api', 'client', 'code_class']);
    this.requests = this.#requests.counter;
    this.duration = new DurationHistogram(registry, 'crossgate_gateway_request_duration_seconds', 'Time from request to the end of the response, by API instance.', [
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
    this.clientConnectionsRefused = metric.counter('crossgate_gateway_client_connections_refused_total', 'Connections closed at once (503) because their client address (an IPv6 /64) already held the most connections allowed (--max-connections-per-client).');
    this.counterCapRefusals = metric.counter('crossgate_gateway_counter_cap_refusals_total', 'Requests refused (429) because the memory store already holds its maximum of per-address counters.');
    this.#lines = new CounterCells(
      registry,
      'crossgate_gateway_access_log_lines_total',
      "crossgate-authz: access-log datagrams from the proxy, by result: recorded, unknown_route (ignored), malformed, oversized, refused_source (dropped).",
      ['result'],
    );
    this.accessLogLines = this.#lines.counter;
    this.#lineCells = Object.fromEntries(ACCESS_LOG_RESULTS.map((result) => [result, this.#lines.cell({ result })])) as Record<AccessLogResult, PendingCell<'result'>>;
    this.counterStoreErrors = metric.counter('crossgate_gateway_counter_store_errors_total', 'Shared counter store failures (the request was counted locally instead).');
  }

  /** The `client` label of `client` on `api`: its name while the API's owner (namespace) has budget left, else "_other". */
  clientLabel(client: string | undefined, api: string): string {
    if (client === undefined) return ANONYMOUS;
    const slash = api.indexOf('/');
    const owner = slash < 0 ? api : api.slice(0, slash);
    let named = this.#clients.get(owner);
    if (!named) this.#clients.set(owner, (named = new Set()));
    if (named.has(client)) return client;
    if (named.size >= this.maxClients) return OTHER_CLIENTS;
    named.add(client);
    return client;
  }

  /** One access-log datagram's outcome (crossgate_gateway_access_log_lines_total{result}). */
  accessLogLine(result: AccessLogResult): void {
    this.#lines.inc(this.#lineCells[result]);
  }

  observe(api: string, client: string | undefined, status: number, seconds: number, now: number): void {
    // What prom-client's histogram refused, before anything is counted.
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    let series = this.#series.get(api);
    if (!series) this.#series.set(api, (series = { duration: this.duration.cell(api), clients: new Map() }));
    const label = this.clientLabel(client, api);
    let byClass = series.clients.get(label);
    if (!byClass) series.clients.set(label, (byClass = []));
    const k = classOf(status);
    this.#requests.inc((byClass[k] ??= this.#requests.cell({ api, client: label, code_class: CLASSES[k]! })));
    this.duration.observeIn(series.duration, seconds);
    this.recent.record(api, status, seconds, now);
    this.day.record(api, client, status, seconds, now);
  }

  violation(api: string, policy: string, now = Date.now()): void {
    this.violations.labels(api, policy).inc();
    this.recent.violation(api, policy, now);
  }
}
