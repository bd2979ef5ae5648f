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
}

export interface Summary {
  windowSeconds: number;
  apis: Record<string, ApiSummary>;
}

/** Ring of fixed buckets per API: O(1) per request, the sum of live buckets on read. */
export class RecentWindow {
  readonly bucketMs: number;
  readonly buckets: number;
  #apis = new Map<string, { start: Float64Array; req: Uint32Array; c4: Uint32Array; c5: Uint32Array; dur: Float64Array }>();

  constructor(windowMs = 300_000, bucketMs = 10_000) {
    this.bucketMs = bucketMs;
    this.buckets = Math.ceil(windowMs / bucketMs);
  }

  record(api: string, status: number, seconds: number, now: number): void {
    let a = this.#apis.get(api);
    if (!a) {
      const n = this.buckets;
      a = { start: new Float64Array(n).fill(-1), req: new Uint32Array(n), c4: new Uint32Array(n), c5: new Uint32Array(n), dur: new Float64Array(n) };
      this.#apis.set(api, a);
    }
    const start = now - (now % this.bucketMs);
    const i = Math.floor(start / this.bucketMs) % this.buckets;
    if (a.start[i] !== start) {
      a.start[i] = start;
      a.req[i] = 0;
      a.c4[i] = 0;
      a.c5[i] = 0;
      a.dur[i] = 0;
    }
    a.req[i]!++;
    if (status >= 500) a.c5[i]!++;
    else if (status >= 400) a.c4[i]!++;
    a.dur[i]! += seconds;
  }

  summary(now: number): Summary {
    const oldest = now - now % this.bucketMs - (this.buckets - 1) * this.bucketMs;
    const apis: Record<string, ApiSummary> = {};
    for (const [api, a] of this.#apis) {
      let req = 0;
      let c4 = 0;
      let c5 = 0;
      let dur = 0;
      for (let i = 0; i < this.buckets; i++) {
        if (a.start[i]! < oldest) continue;
        req += a.req[i]!;
        c4 += a.c4[i]!;
        c5 += a.c5[i]!;
        dur += a.dur[i]!;
      }
      if (req === 0) continue;
      apis[api] = {
        requests: req,
        clientErrors: c4,
        serverErrors: c5,
        errorPercent: Math.round(((c4 + c5) / req) * 1000) / 10,
        meanMs: Math.round((dur / req) * 10000) / 10,
      };
    }
    return { windowSeconds: (this.buckets * this.bucketMs) / 1000, apis };
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
  readonly counterStoreErrors: Counter;
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
      help: 'Upstream failures, by API instance and kind (timeout, connect, reset).',
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

  violation(api: string, policy: string): void {
    this.violations.labels(api, policy).inc();
  }
}
