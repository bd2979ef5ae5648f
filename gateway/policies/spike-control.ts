// spike-control: protects the upstream from bursts. A sliding window
// (the previous fixed window's count weighted by how much of it still
// overlaps, plus the current one's), so a burst straddling a window edge
// cannot pass 2× maxRequests as with plain fixed windows. Always counted in
// this replica: it protects what this replica sends to the upstream.
import type { SpikeControlPolicyConfig } from '../../api/policies.ts';
import { tooManyRequests } from './limits.ts';
import type { PolicyContext, PolicyHandler } from './types.ts';

export class SlidingWindow {
  readonly max: number;
  readonly windowMs: number;
  #start = 0;
  #current = 0;
  #previous = 0;

  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  #roll(now: number): void {
    const start = now - (now % this.windowMs);
    if (start === this.#start) return;
    this.#previous = start - this.#start === this.windowMs ? this.#current : 0;
    this.#current = 0;
    this.#start = start;
  }

  /** Estimated requests in the last windowMs, this one not included. */
  estimate(now: number): number {
    this.#roll(now);
    const overlap = 1 - (now - this.#start) / this.windowMs;
    return this.#previous * overlap + this.#current;
  }

  /** Admits and counts the request, or returns ms to wait before one would be admitted. */
  tryAcquire(now: number): { ok: true } | { ok: false; retryMs: number } {
    const est = this.estimate(now);
    if (est + 1 <= this.max) {
      this.#current++;
      return { ok: true };
    }
    // Wait until the previous window's weight has decayed enough (or the current window ends).
    let retryMs = this.#start + this.windowMs - now;
    if (this.#previous > 0 && this.#current + 1 <= this.max) {
      const needOverlap = (this.max - 1 - this.#current) / this.#previous;
      retryMs = Math.max(1, Math.ceil((1 - needOverlap) * this.windowMs - (now - this.#start)));
    }
    return { ok: false, retryMs };
  }
}

export function compileSpikeControl(name: string, cfg: SpikeControlPolicyConfig): PolicyHandler {
  // One window per compiled policy; a config swap that keeps the Routes part keeps it.
  const win = new SlidingWindow(cfg.maxRequests, cfg.windowMs);
  return {
    type: 'spike-control',
    name,
    preflight: true,
    onRequest(ctx: PolicyContext) {
      const r = win.tryAcquire(ctx.now);
      if (r.ok) return undefined;
      return tooManyRequests('spike-control', `More than ${cfg.maxRequests} requests in ${cfg.windowMs} ms reached this API.`, Math.max(1, Math.ceil(r.retryMs / 1000)), undefined);
    },
  };
}
