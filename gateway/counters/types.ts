// Fixed-window request counters behind one interface, so the tier and
// rate-limit policies do not care whether counts live in this process
// (default: each replica enforces its own count) or in a shared store (Redis:
// every replica counts against the same number).
//
// Windows are aligned to the epoch (start = now - now % windowMs), so every
// replica and the shared store agree on when a window starts and ends.
//
// consume() is all-or-nothing: if any window is already at its limit the
// request is refused and NO window is incremented (a refused request does not
// eat into the hourly budget because the per-minute one was exhausted).

export interface CounterWindow {
  /** Name in the RateLimit headers, e.g. "gold-60s". */
  name: string;
  limit: number;
  windowMs: number;
}

export interface WindowState {
  name: string;
  limit: number;
  /** Requests left in the window after this one (0 when refused). */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  windowMs: number;
  /** This window was at its limit (the request is refused). */
  exceeded: boolean;
}

export interface ConsumeResult {
  allowed: boolean;
  windows: WindowState[];
  /** Refused because the store holds as many bounded (per-address) counters as it may: a new address is not counted, it is refused. */
  saturated?: boolean;
}

export interface CounterStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Counts one request under `key` in every window, unless one is full.
   * `scope`: set when the key names a subject a client chooses (its address);
   * such counters are capped per scope (the route) where the store's memory is ours.
   */
  consume(key: string, windows: readonly CounterWindow[], now: number, scope?: string): ConsumeResult | Promise<ConsumeResult>;
  close(): Promise<void>;
}

export function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}
