// Reads the gateway replicas' recent-window summaries (/summary on their admin
// port) and sums them. One read serves every object that asks within maxAgeMs,
// so a hundred ApiInstances do not mean a hundred requests per replica.
import { mergeStats, type WindowStats } from './alert-desired.ts';

export interface ApiFigures extends WindowStats {
  clientErrors: number;
  serverErrors: number;
  meanMs: number;
}

interface RawApi extends Partial<ApiFigures> {}

export class GatewayStats {
  readonly urls: string[];
  #cache = new Map<string, { at: number; value: Promise<Map<string, ApiFigures>> }>();
  #maxAgeMs: number;

  constructor(urls: string[], maxAgeMs = 2000) {
    this.urls = urls;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Figures per API (namespace/name) over the last windowSeconds (all of the gateway's window when undefined). */
  read(windowSeconds?: number): Promise<Map<string, ApiFigures>> {
    const k = String(windowSeconds ?? '');
    const hit = this.#cache.get(k);
    if (hit && Date.now() - hit.at < this.#maxAgeMs) return hit.value;
    const value = Promise.all(this.urls.map((u) => readOne(u, windowSeconds))).then(merge);
    this.#cache.set(k, { at: Date.now(), value });
    value.catch(() => this.#cache.delete(k));
    return value;
  }
}

async function readOne(url: string, windowSeconds: number | undefined): Promise<Record<string, RawApi>> {
  const q = windowSeconds ? `?windowSeconds=${windowSeconds}` : '';
  const res = await fetch(`${url.replace(/\/$/, '')}/summary${q}`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}/summary answered ${res.status}`);
  return ((await res.json()) as { apis?: Record<string, RawApi> }).apis ?? {};
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
