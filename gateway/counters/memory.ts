// Per-replica counters in a Map. Synchronous (no await on the hot path);
// expired windows are swept periodically so the map holds only live windows.
import { windowStart, type ConsumeResult, type CounterStore, type CounterWindow, type WindowState } from './types.ts';

interface Slot {
  count: number;
  resetAt: number;
}

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  #slots = new Map<string, Slot>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(opts: { sweepMs?: number } = {}) {
    const every = opts.sweepMs ?? 10_000;
    if (every > 0) {
      this.#sweep = setInterval(() => this.sweep(Date.now()), every);
      this.#sweep.unref();
    }
  }

  /** Drops windows that have ended. */
  sweep(now: number): void {
    for (const [k, s] of this.#slots) if (s.resetAt <= now) this.#slots.delete(k);
  }

  size(): number {
    return this.#slots.size;
  }

  consume(key: string, windows: readonly CounterWindow[], now: number): ConsumeResult {
    const n = windows.length;
    const slots: Slot[] = new Array(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const start = windowStart(now, w.windowMs);
      const k = `${key}|${w.windowMs}|${start}`;
      let s = this.#slots.get(k);
      if (!s) {
        s = { count: 0, resetAt: start + w.windowMs };
        this.#slots.set(k, s);
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

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#slots.clear();
  }
}
