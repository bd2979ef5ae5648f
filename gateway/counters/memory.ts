// Per-replica counters in a Map. Synchronous (no await on the hot path);
// expired windows are swept periodically so the map holds only live windows.
//
// Per-address counters (consume(..., bounded = true)) are keyed by whatever
// address a request comes from, so their number is capped (maxBounded,
// default 100,000 windows): when the cap is reached, ended windows are swept
// at once, and if it is still full a request that would need a NEW bounded
// counter is refused (fail closed, 429) until windows end; addresses already
// counted keep their counters. Other counters (per API, tier, client) are not
// capped: their keys come from the config, not from the request.
import { windowStart, type ConsumeResult, type CounterStore, type CounterWindow, type WindowState } from './types.ts';

interface Slot {
  count: number;
  resetAt: number;
  bounded: boolean;
}

/** Default cap on per-address counter windows in one store. */
export const MAX_BOUNDED_COUNTERS = 100_000;

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  #slots = new Map<string, Slot>();
  #sweep: NodeJS.Timeout | undefined;
  #bounded = 0;
  readonly maxBounded: number;
  /** Requests refused because the cap was reached. */
  saturatedRefusals = 0;

  #onCapRefusal: (() => void) | undefined;

  constructor(opts: { sweepMs?: number; maxBounded?: number; onCapRefusal?: () => void } = {}) {
    this.maxBounded = opts.maxBounded ?? MAX_BOUNDED_COUNTERS;
    this.#onCapRefusal = opts.onCapRefusal;
    const every = opts.sweepMs ?? 10_000;
    if (every > 0) {
      this.#sweep = setInterval(() => this.sweep(Date.now()), every);
      this.#sweep.unref();
    }
  }

  /** Drops windows that have ended. */
  sweep(now: number): void {
    for (const [k, s] of this.#slots) {
      if (s.resetAt > now) continue;
      this.#slots.delete(k);
      if (s.bounded) this.#bounded--;
    }
  }

  /** Live per-address counter windows. */
  boundedSize(): number {
    return this.#bounded;
  }

  size(): number {
    return this.#slots.size;
  }

  consume(key: string, windows: readonly CounterWindow[], now: number, bounded = false): ConsumeResult {
    const n = windows.length;
    const slots: Slot[] = new Array(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const start = windowStart(now, w.windowMs);
      const k = `${key}|${w.windowMs}|${start}`;
      let s = this.#slots.get(k);
      if (!s) {
        if (bounded && this.#bounded >= this.maxBounded) {
          this.sweep(now);
          if (this.#bounded >= this.maxBounded) return this.#saturated(windows, now);
        }
        s = { count: 0, resetAt: start + w.windowMs, bounded };
        this.#slots.set(k, s);
        if (bounded) this.#bounded++;
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
    this.#bounded = 0;
  }
}
