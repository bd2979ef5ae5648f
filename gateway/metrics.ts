// Analytics: Prometheus metrics per API instance (route id), client and
// status class, and a recent-window summary per API (requests, errors and
// error % over the last 5 minutes), the figures API Manager shows per API
// and the operator can copy into ApiInstance status.
//
// Label cardinality: `client` is the consumer's ApiKey (namespace/name), one
// series per client per API per status class. Past maxClients distinct
// clients the rest are counted as client="_other", so 100,000 keys cannot
// blow up the scrape; "-" is a request without an identified client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const ANONYMOUS = '-';
export const OTHER_CLIENTS = '_other';

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

interface Bucket {
  start: number;
  req: number;
  c4: number;
  c5: number;
  dur: number;
  max: number;
  codes: Map<number, number>;
  violations: Map<string, number>;
}

const emptyBucket = (start: number): Bucket => ({ start, req: 0, c4: 0, c5: 0, dur: 0, max: 0, codes: new Map(), violations: new Map() });

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
    b.req++;
    if (status >= 500) b.c5++;
    else if (status >= 400) b.c4++;
    b.dur += seconds;
    if (seconds > b.max) b.max = seconds;
    b.codes.set(status, (b.codes.get(status) ?? 0) + 1);
  }

  violation(api: string, policy: string, now: number): void {
    const b = this.#bucket(api, now);
    b.violations.set(policy, (b.violations.get(policy) ?? 0) + 1);
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
      let req = 0, c4 = 0, c5 = 0, dur = 0, max = 0;
      const codes: Record<string, number> = {};
      const violations: Record<string, number> = {};
      for (const b of ring) {
        if (b.start < oldest) continue;
        req += b.req;
        c4 += b.c4;
        c5 += b.c5;
        dur += b.dur;
        max = Math.max(max, b.max);
        for (const [k, v] of b.codes) codes[k] = (codes[k] ?? 0) + v;
        for (const [k, v] of b.violations) violations[k] = (violations[k] ?? 0) + v;
      }
      if (req === 0 && Object.keys(violations).length === 0) continue;
      apis[api] = {
        requests: req,
        clientErrors: c4,
        serverErrors: c5,
        errorPercent: req ? Math.round(((c4 + c5) / req) * 1000) / 10 : 0,
        meanMs: req ? Math.round((dur / req) * 10000) / 10 : 0,
        maxMs: Math.round(max * 10000) / 10,
        statusCodes: codes,
        violations,
      };
    }
    return { windowSeconds: (n * this.bucketMs) / 1000, apis };
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
  readonly recent = new RecentWindow();
  readonly maxClients: number;
  #clients = new Set<string>();

  constructor(opts: { maxClients?: number; defaultMetrics?: boolean } = {}) {
    this.maxClients = opts.maxClients ?? 1000;
    const registry = (this.registry = new Registry());
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'crossgate_gateway_' });
    this.requests = new Counter({
      name: 'crossgate_gateway_requests_total',
      help: 'Requests answered, by API instance, client (ApiKey) and status class.',
      labelNames: ['api', 'client', 'code_class'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'crossgate_gateway_request_duration_seconds',
      help: 'Time from request to the end of the response, by API instance.',
      labelNames: ['api'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.violations = new Counter({
      name: 'crossgate_gateway_policy_violations_total',
      help: 'Requests refused by a policy, by API instance and policy type (sla-tier for tier limits).',
      labelNames: ['api', 'policy'],
      registers: [registry],
    });
    this.upstreamErrors = new Counter({
      name: 'crossgate_gateway_upstream_errors_total',
      help: 'Upstream failures, by API instance and kind (timeout, connect, reset, header, protocol).',
      labelNames: ['api', 'kind'],
      registers: [registry],
    });
    this.configGeneration = new Gauge({ name: 'crossgate_gateway_config_generation', help: 'Generation of the config in force.', registers: [registry] });
    this.configReloads = new Counter({
      name: 'crossgate_gateway_config_reloads_total',
      help: 'Config assembly attempts that changed something: loaded, pending (parts still arriving) or refused (invalid).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.credentials = new Gauge({ name: 'crossgate_gateway_credentials', help: 'API key hashes in the config in force.', registers: [registry] });
    this.configPartsKeptBack = new Gauge({
      name: 'crossgate_gateway_config_parts_kept_back',
      help: 'Parts the manifest in force lists that were not loaded (invalid or missing): their previous content, or none, stays in force. By kind (Routes, Credentials).',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.counterCapRefusals = new Counter({
      name: 'crossgate_gateway_counter_cap_refusals_total',
      help: 'Requests refused (429) because the memory store already holds its maximum of per-address counters.',
      registers: [registry],
    });
    this.counterStoreErrors = new Counter({
      name: 'crossgate_gateway_counter_store_errors_total',
      help: 'Shared counter store failures (the request was counted locally instead).',
      registers: [registry],
    });
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
  }

  violation(api: string, policy: string, now = Date.now()): void {
    this.violations.labels(api, policy).inc();
    this.recent.violation(api, policy, now);
  }
}
