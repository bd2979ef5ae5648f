// Per-replica counters in a Map. Synchronous (no await on the hot path);
// expired windows are swept periodically so the map holds only live windows.
//
// Per-address counters (consume(..., scope)) are keyed by whatever address a
// request comes from, so their number is capped per scope (the route: one
// tenant's traffic never exhausts another's; maxBounded, default 10,000
// windows per route), per owner (the scope's namespace, "ns/name" → "ns":
// an organization's many routes share maxBoundedPerOwner, default 50,000, so
// the number of routes one organization makes never multiplies what the
// shared process holds) and in all (maxBoundedTotal, default 500,000, some
// 85 MB: what keeps the process under its memory limit whatever the number of
// namespaces): when a scope, its owner or the store is full, ended windows are
// swept (at most once a second on the request path), and if it is still full
// a request that would need a NEW counter there is refused (fail closed, 429)
// until windows end; addresses already counted keep their counters. Other
// counters (per API, tier, client) are not capped: their keys come from the
// config.
import { windowStart, type ConsumeResult, type CounterStore, type CounterWindow, type WindowState } from './types.ts';

interface Slot {
  count: number;
  resetAt: number;
  /** The scope whose cap this per-address window counts against. */
  scope: string | undefined;
}

/** Default cap on per-address counter windows of one scope (route). */
export const MAX_BOUNDED_COUNTERS = 10_000;
/** Default cap on per-address counter windows of one owner (the routes of one namespace together). */
export const MAX_BOUNDED_COUNTERS_PER_OWNER = 50_000;
/** Default cap on per-address counter windows in all. */
export const MAX_BOUNDED_COUNTERS_TOTAL = 500_000;

/** The owner of a scope: its namespace ("ns/name" → "ns"). */
function ownerOf(scope: string): string {
  const slash = scope.indexOf('/');
  return slash < 0 ? scope : scope.slice(0, slash);
}
/** The request path sweeps a full scope at most this often. */
const SWEEP_ON_REQUEST_MS = 1000;

function add(counts: Map<string, number>, k: string, delta: number): void {
  const n = (counts.get(k) ?? 0) + delta;
  if (n > 0) counts.set(k, n);
  else counts.delete(k);
}

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  #slots = new Map<string, Slot>();
  #sweep: NodeJS.Timeout | undefined;
  #bounded = new Map<string, number>();
  /** Per owner (namespace): the sum of its scopes' windows. */
  #owned = new Map<string, number>();
  #sweptAt = 0;
  readonly maxBounded: number;
  readonly maxBoundedPerOwner: number;
  readonly maxBoundedTotal: number;
  /** Per-address windows held now, over every scope. */
  #boundedTotal = 0;
  /** Requests refused because the cap was reached. */
  saturatedRefusals = 0;

  #onCapRefusal: (() => void) | undefined;

  constructor(opts: { sweepMs?: number; maxBounded?: number; maxBoundedPerOwner?: number; maxBoundedTotal?: number; onCapRefusal?: () => void } = {}) {
    this.maxBounded = opts.maxBounded ?? MAX_BOUNDED_COUNTERS;
    this.maxBoundedPerOwner = opts.maxBoundedPerOwner ?? MAX_BOUNDED_COUNTERS_PER_OWNER;
    this.maxBoundedTotal = opts.maxBoundedTotal ?? MAX_BOUNDED_COUNTERS_TOTAL;
    this.#onCapRefusal = opts.onCapRefusal;
    const every = opts.sweepMs ?? 10_000;
    if (every > 0) {
      this.#sweep = setInterval(() => this.sweep(Date.now()), every);
      this.#sweep.unref();
    }
  }

  /** Drops windows that have ended. */
  sweep(now: number): void {
    this.#sweptAt = now;
    for (const [k, s] of this.#slots) {
      if (s.resetAt > now) continue;
      this.#slots.delete(k);
      if (s.scope !== undefined) this.#count(s.scope, -1);
    }
  }

  #count(scope: string, delta: number): void {
    add(this.#bounded, scope, delta);
    add(this.#owned, ownerOf(scope), delta);
    this.#boundedTotal += delta;
  }

  /** The scope, its owner or the store holds as many windows as it may. */
  #full(scope: string): boolean {
    return this.#boundedTotal >= this.maxBoundedTotal || (this.#bounded.get(scope) ?? 0) >= this.maxBounded || (this.#owned.get(ownerOf(scope)) ?? 0) >= this.maxBoundedPerOwner;
  }

  /** Live per-address counter windows, of one scope or of all. */
  boundedSize(scope?: string): number {
    if (scope !== undefined) return this.#bounded.get(scope) ?? 0;
    let n = 0;
    for (const v of this.#bounded.values()) n += v;
    return n;
  }

  size(): number {
    return this.#slots.size;
  }

  consume(key: string, windows: readonly CounterWindow[], now: number, scope?: string): ConsumeResult {
    const n = windows.length;
    const slots: Slot[] = new Array(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const start = windowStart(now, w.windowMs);
      const k = `${key}|${w.windowMs}|${start}`;
      let s = this.#slots.get(k);
      if (!s) {
        if (scope !== undefined && this.#full(scope)) {
          if (now - this.#sweptAt >= SWEEP_ON_REQUEST_MS) this.sweep(now);
          if (this.#full(scope)) return this.#saturated(windows, now);
        }
        s = { count: 0, resetAt: start + w.windowMs, scope };
        this.#slots.set(k, s);
        if (scope !== undefined) this.#count(scope, 1);
      }
      slots[i] = s;
      if (s.count >= w.limit) allowed = false;
    }
    const states: WindowState[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const s = slots[i]!;
      const exceeded = s.count >= w.limit;
      if (allowed) s.count++;
      states[i] = { name: w.name, limit: w.limit, remaining: Math.max(0, w.limit - s.count), resetMs: s.resetAt - now, windowMs: w.windowMs, exceeded };
    }
    return { allowed, windows: states };
  }

  /** Refusal without counting: every window reported full until its end. */
  #saturated(windows: readonly CounterWindow[], now: number): ConsumeResult {
    this.saturatedRefusals++;
    this.#onCapRefusal?.();
    const states = windows.map((w): WindowState => ({ name: w.name, limit: w.limit, remaining: 0, resetMs: windowStart(now, w.windowMs) + w.windowMs - now, windowMs: w.windowMs, exceeded: true }));
    return { allowed: false, windows: states, saturated: true };
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#slots.clear();
    this.#bounded.clear();
    this.#owned.clear();
    this.#boundedTotal = 0;
  }
}
