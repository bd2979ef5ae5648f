// A rate-limited work queue with client-go / controller-runtime semantics.
//
// Guarantees:
// - De-duplication: a key waiting in the queue is queued once, however many
//   times it is added (the "dirty" set). Reconcilers are level-triggered, so
//   one pass over the latest state covers every event that led to it.
// - Exclusion: a key is handed to at most one worker at a time (the
//   "processing" set). A key added while it is being processed is marked
//   dirty and queued again when its worker calls done(), so the change that
//   arrived mid-reconcile is never lost.
// - Per-key exponential back-off for failures (addRateLimited), reset with
//   forget() after a success.
// - addAfter() delays; repeated delays for one key keep the earliest deadline.
// - Fairness between namespaces: waiting keys are served round-robin by
//   namespace (FairQueue), FIFO within one; a namespace with thousands of
//   waiting keys delays another namespace's key by one key, not thousands.
//
// Shutdown: shutDown() stops handing out keys at once (waiting get() calls
// resolve to undefined) and drops queued and delayed keys: they are
// level-triggered and will be found again by whoever runs next (a restarted
// process or the next leader relists everything). shutDownWithDrain()
// additionally waits until the keys being processed are done.

/** Decides how long a key waits before its next retry. */
export interface RateLimiter {
  /** Delay in ms before `item` may be retried; counts a failure. */
  when(item: string): number;
  /** Clear the failure history of `item` (after a success). */
  forget(item: string): void;
  /** Failures recorded for `item` since the last forget(). */
  numRequeues(item: string): number;
}

/**
 * base * 2^failures, capped: client-go's ItemExponentialFailureRateLimiter.
 * Defaults are controller-runtime's: 5 ms growing to 1000 s.
 */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  readonly baseMs: number;
  readonly maxMs: number;
  #failures = new Map<string, number>();

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(item: string): number {
    const exp = this.#failures.get(item) ?? 0;
    this.#failures.set(item, exp + 1);
    const backoff = this.baseMs * 2 ** exp;
    return !Number.isFinite(backoff) || backoff > this.maxMs ? this.maxMs : backoff;
  }

  forget(item: string): void {
    this.#failures.delete(item);
  }

  numRequeues(item: string): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket (qps, burst) across all keys: client-go's
 * BucketRateLimiter. It keeps a burst of failures (say, every key failing
 * while the API server is down) from turning into a retry storm.
 */
export class BucketRateLimiter implements RateLimiter {
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  #now: () => number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.qps = qps;
    this.burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  when(_item: string): number {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
    // Reserve a token, possibly going into debt: the debt is the wait.
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }

  forget(_item: string): void {}

  numRequeues(_item: string): number {
    return 0;
  }

  /** True when the bucket has refilled to its burst: forgetting it changes nothing. */
  full(): boolean {
    return this.#tokens + ((this.#now() - this.#last) / 1000) * this.qps >= this.burst;
  }
}

/**
 * A token bucket per namespace (a key's lane, laneOf) in front of an overall
 * one. The overall bucket alone (client-go's) went into debt with every
 * failure of every key: a namespace whose objects fail on every pass, written
 * in a storm, put the bucket thousands of tokens in debt and every other
 * namespace's retry minutes to hours behind. Here a failure is charged to the
 * overall bucket only while its namespace's bucket has tokens, so one
 * namespace takes at most its own rate (qps) of the overall one; the overall
 * bucket still bounds the retries of every namespace at once (the API server
 * down). Buckets of quiet namespaces are dropped once full again.
 */
export class NamespaceFairBucketRateLimiter implements RateLimiter {
  readonly qps: number;
  readonly burst: number;
  readonly overall: BucketRateLimiter;
  #lanes = new Map<string, BucketRateLimiter>();
  #now: () => number;

  constructor(opts: { qps?: number; burst?: number; overallQps?: number; overallBurst?: number; now?: () => number } = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.#now = opts.now ?? Date.now;
    this.overall = new BucketRateLimiter(opts.overallQps ?? 100, opts.overallBurst ?? 1000, this.#now);
  }

  when(item: string): number {
    const name = laneOf(item);
    let lane = this.#lanes.get(name);
    if (!lane) {
      if (this.#lanes.size >= 1024) this.#dropFull();
      lane = new BucketRateLimiter(this.qps, this.burst, this.#now);
      this.#lanes.set(name, lane);
    }
    const own = lane.when(item);
    return own > 0 ? own : this.overall.when(item);
  }

  forget(_item: string): void {}

  numRequeues(_item: string): number {
    return 0;
  }

  /** Namespaces holding a bucket (tests). */
  laneCount(): number {
    return this.#lanes.size;
  }

  #dropFull(): void {
    for (const [name, lane] of this.#lanes) if (lane.full()) this.#lanes.delete(name);
  }
}

/** The longest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(item: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }
  forget(item: string): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** controller-runtime's per-key 5 ms → 1000 s; its 10 qps / burst 100 per namespace, within 100 qps / burst 1000 overall. */
export function defaultControllerRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new NamespaceFairBucketRateLimiter());
}

/** Hooks for queue metrics (see metrics.ts for the Prometheus implementation). */
export interface WorkQueueMetrics {
  /** workqueue_adds_total */
  add(): void;
  /** workqueue_depth */
  depth(n: number): void;
  /** workqueue_retries_total */
  retry(): void;
  /** workqueue_queue_duration_seconds: time from add to get. */
  queueLatency(seconds: number): void;
  /** workqueue_work_duration_seconds: time from get to done. */
  workDuration(seconds: number): void;
}

export interface WorkQueueOptions {
  name: string;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  /** Monotonic clock in ms; injectable for tests. */
  now?: () => number;
}

/** A FIFO with O(1) push/shift (Array#shift is O(n), painful at 100k keys). */
class Fifo {
  #items: string[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(s: string): void {
    this.#items.push(s);
  }
  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const s = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return s;
  }
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

/**
 * The namespace a key belongs to: before its first "/" ("" for a cluster-scoped
 * or other bare key). Keys of one namespace share one lane of the queue.
 */
export function laneOf(item: string): string {
  const slash = item.indexOf('/');
  return slash < 0 ? '' : item.slice(0, slash);
}

/**
 * Fair queueing: one FIFO per namespace (lane), served round-robin, one key
 * per lane per turn. With one FIFO, a namespace whose admin writes thousands
 * of objects (or rewrites them in a storm) put thousands of keys ahead of
 * every other organization's; now another namespace's key waits for at most
 * one key of each busy lane. Order within a lane is FIFO; push and shift stay O(1).
 */
class FairQueue {
  #lanes = new Map<string, Fifo>();
  /** Lanes with waiting keys, in turn order; each appears once. */
  #turns = new Fifo();
  #length = 0;
  get length(): number {
    return this.#length;
  }
  push(s: string): void {
    const name = laneOf(s);
    let lane = this.#lanes.get(name);
    if (!lane) {
      lane = new Fifo();
      this.#lanes.set(name, lane);
      this.#turns.push(name);
    }
    lane.push(s);
    this.#length++;
  }
  shift(): string | undefined {
    const name = this.#turns.shift();
    if (name === undefined) return undefined;
    const lane = this.#lanes.get(name)!;
    const s = lane.shift()!;
    this.#length--;
    if (lane.length > 0) this.#turns.push(name);
    else this.#lanes.delete(name);
    return s;
  }
  clear(): void {
    this.#lanes.clear();
    this.#turns.clear();
    this.#length = 0;
  }
}

export class WorkQueue {
  readonly name: string;
  readonly rateLimiter: RateLimiter;
  #metrics: WorkQueueMetrics | undefined;
  #now: () => number;

  #queue = new FairQueue();
  #dirty = new Set<string>();
  #processing = new Set<string>();
  #waiters: Array<(item: string | undefined) => void> = [];
  #addedAt = new Map<string, number>();
  #startedAt = new Map<string, number>();
  #delayed = new Map<string, { readyAt: number; timer: NodeJS.Timeout }>();
  #shuttingDown = false;
  #drainWaiters: Array<() => void> = [];

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.#metrics = opts.metrics;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Queue `item` unless it is already queued; if it is being processed, queue it again once done. */
  add(item: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(item)) return;
    this.#metrics?.add();
    this.#dirty.add(item);
    if (this.#processing.has(item)) return;
    this.#addedAt.set(item, this.#now());
    this.#queue.push(item);
    this.#metrics?.depth(this.#queue.length);
    this.#dispatch();
  }

  /** add() after `ms`; a key already waiting keeps the earlier of the two deadlines. */
  addAfter(item: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const readyAt = this.#now() + ms;
    const existing = this.#delayed.get(item);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(item);
      this.add(item);
    }, ms);
    this.#delayed.set(item, { readyAt, timer });
  }

  /** Retry `item` after its rate limiter's back-off (counts a failure). */
  addRateLimited(item: string): void {
    if (this.#shuttingDown) return;
    this.#metrics?.retry();
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Forget the failure history of `item` (call after it succeeded). */
  forget(item: string): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: string): number {
    return this.rateLimiter.numRequeues(item);
  }

  /**
   * The next key to process, waiting until one is available; undefined once
   * the queue is shut down. The caller must call done(key) when finished.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const item = this.#take();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Mark `item` finished; if it was re-added meanwhile, it is queued again now. */
  done(item: string): void {
    if (!this.#processing.delete(item)) return;
    const started = this.#startedAt.get(item);
    this.#startedAt.delete(item);
    if (started !== undefined) this.#metrics?.workDuration((this.#now() - started) / 1000);
    if (this.#dirty.has(item) && !this.#shuttingDown) {
      this.#addedAt.set(item, this.#now());
      this.#queue.push(item);
      this.#metrics?.depth(this.#queue.length);
      this.#dispatch();
    }
    if (this.#processing.size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys waiting to be processed (not counting delayed or in-process keys). */
  len(): number {
    return this.#queue.length;
  }

  /** Keys currently being processed. */
  processingCount(): number {
    return this.#processing.size;
  }

  /** Keys waiting for a delayed add. */
  delayedCount(): number {
    return this.#delayed.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Seconds the in-flight work has been running in total, and the longest one (controller-runtime gauges). */
  inFlightSeconds(): { unfinished: number; longest: number } {
    const now = this.#now();
    let unfinished = 0;
    let longest = 0;
    for (const t of this.#startedAt.values()) {
      const s = (now - t) / 1000;
      unfinished += s;
      if (s > longest) longest = s;
    }
    return { unfinished, longest };
  }

  /** Stop handing out keys; drop queued and delayed ones. In-flight keys may still call done(). */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#queue.clear();
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#metrics?.depth(0);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
  }

  /** shutDown(), then resolve once every in-flight key is done (or after timeoutMs, if given). */
  shutDownWithDrain(timeoutMs?: number): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.#drainWaiters.push(finish);
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
    });
  }

  #take(): string | undefined {
    const item = this.#queue.shift();
    if (item === undefined) return undefined;
    this.#metrics?.depth(this.#queue.length);
    this.#dirty.delete(item);
    this.#processing.add(item);
    const now = this.#now();
    const added = this.#addedAt.get(item);
    this.#addedAt.delete(item);
    if (added !== undefined) this.#metrics?.queueLatency((now - added) / 1000);
    this.#startedAt.set(item, now);
    return item;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      const item = this.#take();
      if (item === undefined) break;
      this.#waiters.shift()!(item);
    }
  }
}
