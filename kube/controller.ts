// Controllers and the Manager that runs them (controller-runtime's shape).
//
// A Controller turns informer events into keys of its primary kind (the
// object itself, or the owner/target a secondary object maps to), queues them
// in a WorkQueue and runs `reconcile(key)` on N workers:
//   - throw                      → addRateLimited (per-key exponential back-off)
//   - { requeueAfterMs: n }      → forget, then addAfter(n)
//   - { requeue: true }          → addRateLimited
//   - anything else              → forget (success)
// Reconcilers are level-triggered: they get a key, not an event, and read the
// current state from the informer caches.
//
// The Manager owns the informers, one per (resource, namespace, selectors),
// shared by every controller that asks for the same one, so each collection is
// listed and watched once. It starts the caches, waits for them to sync, then
// starts the controllers. With leader election, call startCaches() at once
// (warm standby, fast takeover; /readyz follows the caches) and
// startControllers() from onStartedLeading.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Informer, type EventHandlers, type InformerOptions, type RestartReason } from './informer.ts';
import { describeError, statusCodeOf, type ListWatchClient } from './kube.ts';
import { joinKey, objectKey, splitKey, type KubernetesObject, type ResourceRef } from './keys.ts';
import { silentLogger } from './logger.ts';
import type { OperatorMetrics, ReconcileResultLabel } from './metrics.ts';
import { WorkQueue, type RateLimiter } from './workqueue.ts';

export interface ReconcileResult {
  /** Reconcile again after this many ms (and reset the failure back-off). */
  requeueAfterMs?: number;
  /** Reconcile again after the rate limiter's back-off. */
  requeue?: boolean;
}

export interface ReconcileContext {
  controller: string;
  key: string;
  namespace: string | undefined;
  name: string;
  /** Child logger with controller, request and reconcileID bound. */
  log: Logger;
  /** Aborted when the controller stops (leadership lost, shutdown): pass it to long operations. */
  signal: AbortSignal;
  /** How many times this key has failed in a row. */
  retries: number;
}

export type ReconcileFunc = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** Maps an object to the keys of primary objects to reconcile. */
export type MapFunc<T extends KubernetesObject = KubernetesObject> = (obj: T) => Iterable<string> | string | null | undefined;

export interface EventInfo<T extends KubernetesObject = KubernetesObject> {
  type: 'add' | 'update' | 'delete';
  obj: T;
  /** For updates. oldObj === obj (same resourceVersion) on a resync. */
  oldObj?: T;
}

/** Filters events before mapping; return false to ignore. */
export type Predicate<T extends KubernetesObject = KubernetesObject> = (ev: EventInfo<T>) => boolean;

// ---------------------------------------------------------------------------
// Mapping helpers

/** The object's own key (watching the primary kind). */
export const enqueueSelf: MapFunc = (obj) => objectKey(obj);

/**
 * Keys of the owners of kind `owner.kind` (and group `owner.group`) in the
 * object's ownerReferences. A namespaced owner lives in the object's
 * namespace (Kubernetes forbids cross-namespace owners); a cluster-scoped
 * owner (`namespaced: false`) has a bare-name key.
 */
export function enqueueOwner(owner: ResourceRef, opts: { controllerOnly?: boolean } = {}): MapFunc {
  if (!owner.kind) throw new Error('enqueueOwner needs owner.kind');
  return (obj) => {
    const keys: string[] = [];
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      if (ref.kind !== owner.kind) continue;
      const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
      if (group !== owner.group) continue;
      if (opts.controllerOnly && !ref.controller) continue;
      keys.push(owner.namespaced === false ? ref.name : joinKey(obj.metadata?.namespace, ref.name));
    }
    return keys;
  };
}

/**
 * Keys named by a label on the object, e.g. objects labelled
 * crossgate.dev/organization=<org> map to that Organization. Without a
 * namespace option the key is the bare label value (cluster-scoped primary);
 * with `sameNamespace`, it is "<object namespace>/<value>".
 */
export function enqueueByLabel(label: string, opts: { sameNamespace?: boolean } = {}): MapFunc {
  return (obj) => {
    const v = obj.metadata?.labels?.[label];
    if (!v) return [];
    return opts.sameNamespace ? joinKey(obj.metadata?.namespace, v) : v;
  };
}

// ---------------------------------------------------------------------------
// Predicates

/**
 * Pass adds, deletes, resyncs and updates that changed metadata.generation
 * (spec changes of CRDs with a status subresource); drop status-only and
 * metadata-only updates, so a controller is not woken by its own status
 * writes. Like controller-runtime's GenerationChangedPredicate, but resyncs
 * pass so periodic resync still reaches the reconciler.
 */
export const generationChanged: Predicate = (ev) => {
  if (ev.type !== 'update' || !ev.oldObj) return true;
  if (ev.oldObj === ev.obj || ev.oldObj.metadata?.resourceVersion === ev.obj.metadata?.resourceVersion) return true;
  return ev.oldObj.metadata?.generation !== ev.obj.metadata?.generation;
};

/**
 * For watches that fan out to many keys: pass adds, deletes, and updates that
 * changed metadata.generation (the spec), labels or deletionTimestamp; drop
 * resyncs (the fanned-out keys are resynced by their own informer) and
 * status-only updates.
 */
export const specOrDeletionChanged: Predicate = (ev) => {
  if (ev.type !== 'update' || !ev.oldObj) return true;
  if (ev.oldObj === ev.obj || ev.oldObj.metadata?.resourceVersion === ev.obj.metadata?.resourceVersion) return false;
  const a = ev.oldObj.metadata;
  const b = ev.obj.metadata;
  return (
    a?.generation !== b?.generation ||
    String(a?.deletionTimestamp ?? '') !== String(b?.deletionTimestamp ?? '') ||
    JSON.stringify(a?.labels ?? {}) !== JSON.stringify(b?.labels ?? {})
  );
};

/** generationChanged, but also pass label, annotation, finalizer and deletionTimestamp changes. */
export const generationOrMetadataChanged: Predicate = (ev) => {
  if (generationChanged(ev)) return true;
  const a = ev.oldObj?.metadata;
  const b = ev.obj.metadata;
  return (
    JSON.stringify(a?.labels ?? {}) !== JSON.stringify(b?.labels ?? {}) ||
    JSON.stringify(a?.annotations ?? {}) !== JSON.stringify(b?.annotations ?? {}) ||
    JSON.stringify(a?.finalizers ?? []) !== JSON.stringify(b?.finalizers ?? []) ||
    String(a?.deletionTimestamp ?? '') !== String(b?.deletionTimestamp ?? '')
  );
};

// ---------------------------------------------------------------------------
// Controller

export interface ControllerOptions {
  name: string;
  reconcile: ReconcileFunc;
  /** Concurrent workers; default 1 (controller-runtime's MaxConcurrentReconciles). */
  workers?: number;
  logger?: Logger;
  metrics?: OperatorMetrics;
  rateLimiter?: RateLimiter;
}

/** Longest a worker keeps the event loop before letting timers and I/O run. */
const YIELD_AFTER_MS = 20;

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly workers: number;
  #reconcile: ReconcileFunc;
  #log: Logger;
  #metrics: OperatorMetrics | undefined;
  #unsubscribe: Array<() => void> = [];
  #running: Promise<void>[] = [];
  #started = false;
  #stopped = false;
  #stop = new AbortController();

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.workers = Math.max(1, opts.workers ?? 1);
    this.#reconcile = opts.reconcile;
    this.#log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
    this.#metrics = opts.metrics;
    this.queue = new WorkQueue({ name: opts.name, rateLimiter: opts.rateLimiter, metrics: opts.metrics?.workqueue(opts.name) });
    opts.metrics?.registerQueue(this.queue);
  }

  /**
   * Enqueue keys for events of `informer`: `map` turns an object into primary
   * keys (default: its own key). Updates map both the old and the new object,
   * so a secondary object that moved from one owner to another wakes both.
   * With `delayMs`, mapped keys are queued that much later, and events within
   * that window coalesce into one reconcile (for summaries such as a count
   * that would otherwise be written once per event).
   */
  watch<T extends KubernetesObject>(informer: Informer<T>, map: MapFunc<T> = enqueueSelf as MapFunc<T>, predicate?: Predicate<T>, delayMs = 0): this {
    const queue = (k: string) => (delayMs > 0 ? this.queue.addAfter(k, delayMs) : this.queue.add(k));
    const enqueue = (obj: T) => {
      let keys: Iterable<string> | string | null | undefined;
      try {
        keys = map(obj);
      } catch (err) {
        this.#log.error({ err: describeError(err), request: objectKey(obj) }, 'map function threw');
        return;
      }
      if (keys == null) return;
      if (typeof keys === 'string') queue(keys);
      else for (const k of keys) queue(k);
    };
    const h: EventHandlers<T> = {
      onAdd: (obj) => {
        if (!predicate || predicate({ type: 'add', obj })) enqueue(obj);
      },
      onUpdate: (oldObj, obj) => {
        if (predicate && !predicate({ type: 'update', obj, oldObj })) return;
        if (oldObj !== obj) enqueue(oldObj);
        enqueue(obj);
      },
      onDelete: (obj) => {
        if (!predicate || predicate({ type: 'delete', obj })) enqueue(obj);
      },
    };
    this.#unsubscribe.push(informer.addHandler(h));
    return this;
  }

  /** Queue a key directly (tests, or reconcilers that wake another object). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Start the workers. Keys queued before start are processed now. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#metrics?.maxConcurrentReconciles.set({ controller: this.name }, this.workers);
    this.#log.info({ workers: this.workers }, 'starting workers');
    for (let i = 0; i < this.workers; i++) this.#running.push(this.#worker());
  }

  isStarted(): boolean {
    return this.#started && !this.#stopped;
  }

  /**
   * Stop: no new keys are handed out, event handlers are unregistered, the
   * reconcile signal aborts, and in-flight reconciles are awaited (up to
   * drainTimeoutMs, default 30 s).
   */
  async stop(drainTimeoutMs = 30_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.#stop.abort(new Error(`controller ${this.name} stopping`));
    await this.queue.shutDownWithDrain(drainTimeoutMs);
    await Promise.race([Promise.all(this.#running), new Promise((r) => setTimeout(r, drainTimeoutMs).unref())]);
    this.#metrics?.unregisterQueue(this.queue);
    this.#log.info('stopped');
  }

  async #worker(): Promise<void> {
    let turn = performance.now();
    for (;;) {
      // queue.get() resolves at once while keys wait, so a run of reconciles
      // that write nothing (a resync, a fan-out over every key) would go on in
      // microtasks and starve timers and sockets: lease renewals, watches,
      // probes. Let the event loop turn at least every YIELD_AFTER_MS.
      if (performance.now() - turn >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        turn = performance.now();
      }
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.#process(key);
    }
  }

  async #process(key: string): Promise<void> {
    const started = performance.now();
    const { namespace, name } = splitKey(key);
    const retries = this.queue.numRequeues(key);
    const log = this.#log.child({ request: key, reconcileID: randomUUID() });
    const labels = { controller: this.name };
    this.#metrics?.activeWorkers.inc(labels);
    let result: ReconcileResultLabel;
    try {
      const res = await this.#reconcile(key, { controller: this.name, key, namespace, name, log, signal: this.#stop.signal, retries });
      if (res && typeof res.requeueAfterMs === 'number' && res.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfterMs);
        result = 'requeue_after';
      } else if (res && res.requeue) {
        this.queue.addRateLimited(key);
        result = 'requeue';
      } else {
        this.queue.forget(key);
        result = 'success';
      }
    } catch (err) {
      result = 'error';
      this.queue.addRateLimited(key);
      this.#metrics?.reconcileErrors.inc(labels);
      // describeError: status code/reason/message only, never ApiException's
      // embedded headers and bodies. Reconcilers must not put secrets in errors.
      const code = statusCodeOf(err);
      // A conflict only means the cache was behind the write; the retry reads the newer object.
      if (code === 409 && retries < 3) log.info({ err: describeError(err), code, retries: retries + 1 }, 'reconcile conflicted, retrying');
      else log.error({ err: describeError(err), code, retries: retries + 1 }, 'reconcile failed');
    } finally {
      this.queue.done(key);
      this.#metrics?.activeWorkers.dec(labels);
    }
    this.#metrics?.reconcileTotal.inc({ controller: this.name, result });
    this.#metrics?.reconcileTime.observe(labels, (performance.now() - started) / 1000);
  }
}

// ---------------------------------------------------------------------------
// Manager

/** Which objects an informer holds. */
export interface InformerSpec extends ResourceRef {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Trim objects before they are cached (e.g. drop a Secret's data), so the
   * cache holds only what reconcilers read. Named, because informers are shared
   * by spec: two specs with different transforms are two caches.
   */
  transform?: { name: string; fn: (obj: KubernetesObject) => KubernetesObject };
  /**
   * Watch PartialObjectMetadata: the server sends, and the cache holds, only
   * apiVersion, kind and metadata (see InformerOptions.metadataOnly). Applied
   * before `transform`.
   */
  metadataOnly?: boolean;
  /**
   * A kind the cluster may not serve (another project's CRD, e.g. the Gateway
   * API): the informer runs (retrying with back-off while the kind is absent)
   * but startCaches() and cachesSynced() do not wait for it, so its absence
   * never keeps the operator from starting or from being ready. Reconcilers
   * must not rely on its cache being complete.
   */
  optional?: boolean;
}

/** Informer tuning shared by all informers of a manager. */
export type InformerTuning = Pick<
  InformerOptions<KubernetesObject>,
  'watchSilenceMs' | 'watchTimeoutSeconds' | 'resyncMs' | 'relistMs' | 'backoffBaseMs' | 'backoffMaxMs' | 'pageSize' | 'listTimeoutMs'
>;

export interface ManagerOptions {
  /** KubeHttp (or any ListWatchClient) for the informers. */
  client: ListWatchClient;
  logger?: Logger;
  metrics?: OperatorMetrics;
  informerDefaults?: InformerTuning;
  /** startCaches() rejects if the caches have not synced by then; default 120 s (controller-runtime's CacheSyncTimeout). */
  cacheSyncTimeoutMs?: number;
}

export interface ControllerSpec {
  name: string;
  reconcile: ReconcileFunc;
  workers?: number;
  rateLimiter?: RateLimiter;
  /** The primary kind: its own events enqueue its own key. */
  for: InformerSpec & { predicate?: Predicate };
  /** Kinds this controller creates with an ownerReference to the primary (needs for.kind). */
  owns?: Array<InformerSpec & { predicate?: Predicate; controllerOnly?: boolean }>;
  /** Other kinds, mapped to primary keys by a function. */
  watches?: Array<{ resource: InformerSpec; map: MapFunc; predicate?: Predicate; delayMs?: number }>;
}

export class Manager {
  readonly client: ListWatchClient;
  readonly metrics: OperatorMetrics | undefined;
  #log: Logger;
  #defaults: InformerTuning;
  #cacheSyncTimeoutMs: number;
  #informers = new Map<string, Informer<KubernetesObject>>();
  /** Ids of optional informers (InformerSpec.optional): not waited for. */
  #optional = new Set<string>();
  #controllers: Controller[] = [];
  #cachesStarted = false;
  #synced = false;
  #controllersStarted = false;
  #stopped = false;

  constructor(opts: ManagerOptions) {
    this.client = opts.client;
    this.metrics = opts.metrics;
    this.#log = opts.logger ?? silentLogger();
    this.#defaults = opts.informerDefaults ?? {};
    this.#cacheSyncTimeoutMs = opts.cacheSyncTimeoutMs ?? 120_000;
  }

  get logger(): Logger {
    return this.#log;
  }

  /**
   * The shared informer for `spec` (created on first use). Reconcilers read
   * their cache through it: `mgr.informer(ORGS).get(name)`.
   */
  informer<T extends KubernetesObject = KubernetesObject>(spec: InformerSpec): Informer<T> {
    const id = informerId(spec);
    let inf = this.#informers.get(id);
    if (!inf) {
      // Design rule (cert-manager#4722): never cache every Secret of the cluster.
      if (!spec.group && spec.plural === 'secrets' && !spec.labelSelector && !spec.fieldSelector) {
        throw new Error('refusing an informer on all Secrets: give it a labelSelector (or fieldSelector) for the Secrets crossgate owns');
      }
      // Metrics label: the informer's readable name (path and selectors), set once it exists.
      let resourceLabel = id;
      const m = this.metrics;
      inf = new Informer<KubernetesObject>({
        ...this.#defaults,
        client: this.client,
        resource: spec,
        namespace: spec.namespace,
        labelSelector: spec.labelSelector,
        fieldSelector: spec.fieldSelector,
        ...(spec.transform ? { transform: spec.transform.fn } : {}),
        metadataOnly: spec.metadataOnly,
        logger: this.#log,
        onRestart: (reason: RestartReason) => {
          m?.informerRestarts.inc({ resource: resourceLabel, reason });
          // A silent watch hints at half-open connections: do not let other requests queue on them.
          if (reason === 'silence') this.client.resetConnections?.();
        },
        onSize: m ? (n: number) => m.informerObjects.set({ resource: resourceLabel }, n) : undefined,
      });
      resourceLabel = spec.transform ? `${inf.name}#${spec.transform.name}` : inf.name;
      this.#informers.set(id, inf);
      if (spec.optional) this.#optional.add(id);
      // A cache added after start (a controller registered late) starts at once.
      if (this.#cachesStarted && !this.#stopped) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Register a controller; its informers are created (shared) now, its workers start with startControllers(). */
  addController(spec: ControllerSpec): Controller {
    if (this.#controllers.some((c) => c.name === spec.name)) throw new Error(`duplicate controller name ${spec.name}`);
    const c = new Controller({
      name: spec.name,
      reconcile: spec.reconcile,
      workers: spec.workers,
      rateLimiter: spec.rateLimiter,
      logger: this.#log,
      metrics: this.metrics,
    });
    c.watch(this.informer(spec.for), enqueueSelf, spec.for.predicate);
    for (const o of spec.owns ?? []) {
      c.watch(this.informer(o), enqueueOwner(spec.for, { controllerOnly: o.controllerOnly }), o.predicate);
    }
    for (const w of spec.watches ?? []) c.watch(this.informer(w.resource), w.map, w.predicate, w.delayMs);
    this.#controllers.push(c);
    if (this.#controllersStarted && !this.#stopped) c.start();
    return c;
  }

  controllers(): readonly Controller[] {
    return this.#controllers;
  }

  /** True once every informer has synced: the /readyz condition. */
  cachesSynced(): boolean {
    return this.#synced && this.#required().every((i) => i.hasSynced());
  }

  /** Start every informer and wait until all have synced (or reject after cacheSyncTimeoutMs). */
  async startCaches(): Promise<void> {
    if (this.#stopped) throw new Error('manager stopped');
    if (!this.#cachesStarted) {
      this.#cachesStarted = true;
      for (const inf of this.#informers.values()) inf.start();
    }
    const timeout = AbortSignal.timeout(this.#cacheSyncTimeoutMs);
    try {
      await Promise.all(this.#required().map((i) => i.waitForSync(timeout)));
    } catch (err) {
      const pending = this.#required().filter((i) => !i.hasSynced()).map((i) => i.name);
      throw new Error(`caches did not sync within ${this.#cacheSyncTimeoutMs} ms: ${pending.join(', ')} (${describeError(err)})`);
    }
    this.#synced = true;
    this.#log.info({ informers: this.#informers.size }, 'caches synced');
  }

  #required(): Informer<KubernetesObject>[] {
    return [...this.#informers].filter(([id]) => !this.#optional.has(id)).map(([, i]) => i);
  }

  /** Start every controller's workers (caches must have synced). */
  startControllers(): void {
    if (this.#stopped) throw new Error('manager stopped');
    if (!this.#synced) throw new Error('startControllers() before caches synced');
    if (this.#controllersStarted) return;
    this.#controllersStarted = true;
    for (const c of this.#controllers) c.start();
  }

  /** startCaches() then startControllers(). */
  async start(): Promise<void> {
    await this.startCaches();
    this.startControllers();
  }

  /** Stop controllers (draining in-flight reconciles), then informers. */
  async stop(drainTimeoutMs = 30_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.#controllers.map((c) => c.stop(drainTimeoutMs)));
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    this.#log.info('manager stopped');
  }
}

function informerId(s: InformerSpec): string {
  return [s.group || 'core', s.version, s.plural, s.namespace ?? '', s.labelSelector ?? '', s.fieldSelector ?? '', s.transform?.name ?? '', s.metadataOnly ? 'meta' : ''].join('|');
}
