// String interning for cached objects. JSON.parse makes a new copy of every
// string value, so 10,000 cached ApiKeys hold 10,000 copies of their
// namespace, apiVersion, kind, tier, condition reasons and messages: in a heap
// snapshot at 10,000 keys and 1,000 instances, 18 of the 43 MB of strings were
// such repeats. Cached objects go through intern() once, and equal short
// strings then share one copy. The pool is an LRU of bounded size, so values
// seen once (uids, resourceVersions) pass through it without piling up, while
// values that recur stay.
const MAX_LENGTH = 256;

export class StringPool {
  readonly #pool = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacity = 20_000) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#pool.size;
  }

  has(s: string): boolean {
    return this.#pool.has(s);
  }

  /** The pooled copy of `s` (adding it), most recently used last. */
  string(s: string): string {
    if (s.length > MAX_LENGTH) return s;
    const found = this.#pool.get(s);
    if (found !== undefined) {
      this.#pool.delete(s);
      this.#pool.set(s, found);
      return found;
    }
    this.#pool.set(s, s);
    if (this.#pool.size > this.#capacity) this.#pool.delete(this.#pool.keys().next().value!);
    return s;
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
