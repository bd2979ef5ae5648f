// String interning for cached objects: JSON.parse copies every string, so
// thousands of cached objects would hold thousands of copies of their
// namespace, kind, tier and condition reasons. Equal short strings share one
// copy. The pool is generational (a young and an old Map, the young one
// becoming the old one at half the capacity), so values seen once pass through,
// values that recur stay, and no lookup deletes from a Map (V8 keeps deleted
// entries as holes that later lookups walk). Figures: docs/performance.md.
const MAX_LENGTH = 256;

export class StringPool {
  #young = new Map<string, string>();
  #old = new Map<string, string>();
  readonly #generation: number;

  /** capacity: the most strings held, over both generations. */
  constructor(capacity = 20_000) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  /** Strings held (a string moved to the young generation may be counted twice until the old one is dropped). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  has(s: string): boolean {
    return this.#young.has(s) || this.#old.has(s);
  }

  /** The pooled copy of `s` (adding it). */
  string(s: string): string {
    if (s.length > MAX_LENGTH) return s;
    const young = this.#young.get(s);
    if (young !== undefined) return young;
    const pooled = this.#old.get(s) ?? s;
    this.#young.set(s, pooled);
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    return pooled;
  }

  /** Replaces the string values of a JSON-shaped value in place (object keys are interned by V8 already); returns it. */
  intern<T>(value: T): T {
    this.#walk(value);
    return value;
  }

  #walk(v: unknown): void {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === 'string') v[i] = this.string(x);
        else if (x && typeof x === 'object') this.#walk(x);
      }
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if (typeof x === 'string') o[k] = this.string(x);
        else if (x && typeof x === 'object') this.#walk(x);
      }
    }
  }
}

/** One pool for every informer of the process: the same namespaces and kinds recur across kinds. */
export const sharedStrings = new StringPool();
