// The gateway's 24-hour analytics as served at admin /summary/day and summed by
// the operator over every replica: counts and fixed log-scale latency
// histograms, which add up across replicas (percentiles never do: they are
// read from the summed histogram, never averaged). Pure values, no I/O.

/** Upper bounds (ms) of the latency buckets: 0.1 ms × 1.25^i up to ~2 min, three significant digits; one overflow bucket past the last. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from({ length: 64 }, (_, i) => Number((0.1 * 1.25 ** i).toPrecision(3)));

/** A sparse latency histogram: bucket index (into LATENCY_BOUNDS_MS; its length = overflow) → count. */
export type Histogram = Record<string, number>;

/** The gateway's recent-window bucket (gateway/metrics.ts RecentWindow): a window is answered in whole buckets. */
export const RECENT_BUCKET_SECONDS = 10;

/**
 * The window that gets the same answer as `windowSeconds` (RecentWindow sums floor(w / bucket) + 1 buckets): the
 * operator asks for this one, so 291 distinct Alert periods make 30 distinct reads of every replica, not 291.
 */
export function recentWindowKey(windowSeconds: number): number {
  return windowSeconds < RECENT_BUCKET_SECONDS ? windowSeconds : Math.floor(windowSeconds / RECENT_BUCKET_SECONDS) * RECENT_BUCKET_SECONDS;
}

/** The client entry that stands for every client past the cap. */
export const OTHER_CLIENTS = '_other';
/** The client of a request without an identified ApiKey or Application. */
export const ANONYMOUS = '-';
/** Clients ApiInstance status lists (top by requests, the rest folded into "_other"): the schema's maxItems. */
export const STATUS_CLIENTS = 10;
/** Longest client identity tracked by name ("namespace/name" of an ApiKey or Application); a longer one counts as _other. */
export const MAX_CLIENT_NAME = 320;

export interface ClientDay {
  requests: number;
  /** 4xx and 5xx responses. */
  errors: number;
  latency: Histogram;
}

export interface ApiDay {
  requests: number;
  clientErrors: number;
  serverErrors: number;
  /** Epoch ms of the latest request this replica recorded (within its window). */
  lastRequest?: number;
  latency: Histogram;
  /** Per client (ApiKey or Application "namespace/name", "-" anonymous, "_other" past the cap). */
  clients: Record<string, ClientDay>;
}

export interface DaySummary {
  /** Length of one bucket; also what "Inactive" waits for (no request within one bucket). */
  bucketSeconds: number;
  buckets: number;
  /** bucketSeconds × buckets. */
  windowSeconds: number;
  /** Ids (namespace/name) of the routes this replica serves (loaded and not withheld). */
  routes: string[];
  apis: Record<string, ApiDay>;
}

/** Index of the bucket a duration of `ms` falls in. */
export function latencyBucket(ms: number): number {
  if (!(ms > LATENCY_BOUNDS_MS[0]!)) return 0;
  let i = Math.min(LATENCY_BOUNDS_MS.length, Math.ceil(Math.log(ms / 0.1) / Math.log(1.25)));
  // The bounds are rounded: step to the first bound ≥ ms.
  while (i > 0 && LATENCY_BOUNDS_MS[i - 1]! >= ms) i--;
  while (i < LATENCY_BOUNDS_MS.length && LATENCY_BOUNDS_MS[i]! < ms) i++;
  return i;
}

/** Adds `from` into `into` (counts per bucket index; anything not a valid index or count is ignored). */
export function addHistogram(into: Histogram, from: Histogram | undefined): Histogram {
  for (const k in from ?? {}) {
    const n = from![k]!;
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i > LATENCY_BOUNDS_MS.length || !(n > 0)) continue;
    into[k] = (into[k] ?? 0) + n;
  }
  return into;
}

/**
 * The q-quantile (0 < q ≤ 1) in ms: the upper bound of the bucket where the cumulative count reaches q × total (at
 * most 25 % above the true value); the last bound for the overflow bucket; 0 for an empty histogram.
 */
export function percentileMs(h: Histogram, q: number): number {
  const entries = Object.entries(h)
    .map(([k, n]) => [Number(k), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [i, n] of entries) {
    seen += n;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

const emptyClient = (): ClientDay => ({ requests: 0, errors: 0, latency: {} });

function addClient(into: ClientDay, c: Partial<ClientDay>): void {
  into.requests += c.requests ?? 0;
  into.errors += c.errors ?? 0;
  addHistogram(into.latency, c.latency);
}

/**
 * Keeps the `max` clients with the most requests (ties by name) and folds the rest, "_other" included, into one
 * "_other" entry; the result has at most `max` entries (`max` ≥ 1).
 */
export function capClients(clients: Record<string, Partial<ClientDay>>, max: number): Record<string, ClientDay> {
  const named = Object.entries(clients)
    .filter(([k]) => k !== OTHER_CLIENTS)
    .sort((a, b) => (b[1].requests ?? 0) - (a[1].requests ?? 0) || (a[0] < b[0] ? -1 : 1));
  const other = clients[OTHER_CLIENTS];
  const fits = named.length + (other ? 1 : 0) <= max;
  const keep = fits ? named : named.slice(0, max - 1);
  const out: Record<string, ClientDay> = {};
  for (const [k, c] of keep) addClient((out[k] = emptyClient()), c);
  const rest = fits ? [] : named.slice(max - 1).map(([, c]) => c);
  if (other) rest.push(other);
  if (rest.length) {
    const o = (out[OTHER_CLIENTS] = emptyClient());
    for (const c of rest) addClient(o, c);
  }
  return out;
}

/** `clients` with every client `keep` refuses counted in "_other" (the status must not name it). */
export function foldClients(clients: Record<string, ClientDay>, keep: (name: string) => boolean): Record<string, ClientDay> {
  const out: Record<string, ClientDay> = {};
  for (const [name, c] of Object.entries(clients)) addClient((out[keep(name) ? name : OTHER_CLIENTS] ??= emptyClient()), c);
  return out;
}

/** Sums one API's figures over replicas; clients past `maxClients` (after summing) become "_other". */
export function mergeApiDays(parts: readonly Partial<ApiDay>[], maxClients: number): ApiDay {
  const out: ApiDay = { requests: 0, clientErrors: 0, serverErrors: 0, latency: {}, clients: {} };
  const clients: Record<string, ClientDay> = {};
  for (const p of parts) {
    out.requests += p.requests ?? 0;
    out.clientErrors += p.clientErrors ?? 0;
    out.serverErrors += p.serverErrors ?? 0;
    if (typeof p.lastRequest === 'number' && p.lastRequest > (out.lastRequest ?? -Infinity)) out.lastRequest = p.lastRequest;
    addHistogram(out.latency, p.latency);
    for (const [name, c] of Object.entries(p.clients ?? {})) addClient((clients[name] ??= emptyClient()), c);
  }
  out.clients = capClients(clients, maxClients);
  return out;
}

/** What the operator knows after reading every replica: the summed figures and, per route, how many replicas serve it. */
export interface MergedDay {
  /** Replicas read. */
  replicas: number;
  /** The longest bucket any replica uses (what "Inactive" waits for). */
  bucketSeconds: number;
  windowSeconds: number;
  /** Route id → replicas that serve it. */
  routes: Map<string, number>;
  apis: Map<string, ApiDay>;
}

/** Sums the replicas' /summary/day answers. */
export function mergeDays(replicas: readonly Partial<DaySummary>[], maxClients: number): MergedDay {
  const routes = new Map<string, number>();
  for (const r of replicas) for (const id of new Set(r.routes ?? [])) routes.set(id, (routes.get(id) ?? 0) + 1);
  const ids = new Set(replicas.flatMap((r) => Object.keys(r.apis ?? {})));
  const apis = new Map<string, ApiDay>();
  for (const id of ids) apis.set(id, mergeApiDays(replicas.map((r) => r.apis?.[id]).filter((x): x is ApiDay => Boolean(x)), maxClients));
  return {
    replicas: replicas.length,
    bucketSeconds: Math.max(0, ...replicas.map((r) => r.bucketSeconds ?? 0)),
    windowSeconds: Math.max(0, ...replicas.map((r) => r.windowSeconds ?? 0)),
    routes,
    apis,
  };
}
