// Reads every gateway replica's summaries (/summary and /summary/day on their
// admin port) and sums them. Each URL's host is resolved on every read and
// every address is read: a headless Service (the chart's <gateway>-admin-peers)
// names each ready replica, so the sums cover all of them, not the one a
// ClusterIP Service would pick. One read serves every object that asks within
// maxAgeMs, so a hundred ApiInstances do not mean a hundred requests per replica.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { mergeDays, recentWindowKey, type DaySummary, type MergedDay } from '../../api/analytics.ts';
import { mergeStats, type WindowStats } from './alert-desired.ts';

export interface ApiFigures extends WindowStats {
  clientErrors: number;
  serverErrors: number;
  meanMs: number;
}

interface RawApi extends Partial<ApiFigures> {}

/** Client entries kept per API once the replicas are summed (the status shows fewer). */
export const MERGED_CLIENTS = 50;

/** The addresses of `host` to read: itself when an IP; else every IPv4 address, or every IPv6 one when it has none (a dual-stack pod is read once). */
export type Resolve = (host: string) => Promise<string[]>;

export const resolveAll: Resolve = async (host) => {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [bare];
  const all = await lookup(bare, { all: true });
  const v4 = all.filter((a) => a.family === 4).map((a) => a.address);
  return [...new Set(v4.length ? v4 : all.map((a) => a.address))].sort();
};

/** One URL per replica: each configured URL with its host replaced by each of its addresses (duplicates read once). */
export async function replicaUrls(urls: readonly string[], resolve: Resolve = resolveAll): Promise<string[]> {
  const out = new Set<string>();
  for (const raw of urls) {
    const u = new URL(raw);
    for (const addr of await resolve(u.hostname)) {
      const one = new URL(u);
      one.hostname = isIP(addr) === 6 ? `[${addr}]` : addr;
      out.add(one.toString().replace(/\/$/, ''));
    }
  }
  return [...out];
}

export class GatewayStats {
  readonly urls: string[];
  #cache = new Map<string, { at: number; value: Promise<unknown> }>();
  #maxAgeMs: number;
  #resolve: Resolve;

  constructor(urls: string[], maxAgeMs = 2000, resolve: Resolve = resolveAll) {
    this.urls = urls;
    this.#maxAgeMs = maxAgeMs;
    this.#resolve = resolve;
  }

  #cached<T>(k: string, make: () => Promise<T>, maxAgeMs = this.#maxAgeMs): Promise<T> {
    const hit = this.#cache.get(k);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.value as Promise<T>;
    const value = make();
    this.#cache.set(k, { at: Date.now(), value });
    value.catch(() => this.#cache.delete(k));
    return value;
  }

  /** Figures per API (namespace/name) over the last windowSeconds (all of the gateway's window when undefined). */
  read(windowSeconds?: number): Promise<Map<string, ApiFigures>> {
    // Periods the gateway answers alike share one read (a tenant picks its Alerts' periods).
    const q = windowSeconds ? `?windowSeconds=${recentWindowKey(windowSeconds)}` : '';
    return this.#cached(`recent${q}`, async () => merge(await this.#readAll<{ apis?: Record<string, RawApi> }>(`/summary${q}`).then((rs) => rs.map((r) => r.apis ?? {}))));
  }

  /** The day figures of every replica, summed; which replicas serve which route. Fails when any replica does not answer. */
  readDay(maxAgeMs?: number): Promise<MergedDay> {
    return this.#cached('day', async () => mergeDays(await this.#readAll<Partial<DaySummary>>('/summary/day'), MERGED_CLIENTS), maxAgeMs);
  }

  async #readAll<T>(path: string): Promise<T[]> {
    const urls = await replicaUrls(this.urls, this.#resolve);
    // No replica to read is not "no traffic": the figures are unknown, and nothing is written.
    if (urls.length === 0) throw new Error(`no gateway replica behind ${this.urls.join(', ')}`);
    return Promise.all(urls.map((u) => readOne<T>(u, path)));
  }
}

async function readOne<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}${path} answered ${res.status}`);
  return (await res.json()) as T;
}

function merge(replicas: Array<Record<string, RawApi>>): Map<string, ApiFigures> {
  const out = new Map<string, ApiFigures>();
  const apis = new Set(replicas.flatMap((r) => Object.keys(r)));
  for (const api of apis) {
    const parts = replicas.map((r) => r[api]).filter((x): x is RawApi => Boolean(x));
    const base = mergeStats(parts.map((p) => ({ requests: p.requests ?? 0, statusCodes: p.statusCodes ?? {}, violations: p.violations ?? {}, maxMs: p.maxMs ?? 0 })));
    const totalMs = parts.reduce((n, p) => n + (p.meanMs ?? 0) * (p.requests ?? 0), 0);
    out.set(api, {
      ...base,
      clientErrors: parts.reduce((n, p) => n + (p.clientErrors ?? 0), 0),
      serverErrors: parts.reduce((n, p) => n + (p.serverErrors ?? 0), 0),
      meanMs: base.requests ? Math.round((totalMs / base.requests) * 10) / 10 : 0,
    });
  }
  return out;
}
