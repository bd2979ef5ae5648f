// A supervised list+watch informer for one collection (core or custom,
// cluster-wide or one namespace, optional label/field selectors).
//
// Why not client-node's Watch class: in 2.0.1 its inactivity timeout is a
// private, hard-coded 30 s (shorter than the API server's bookmark interval,
// so quiet watches would be torn down constantly), the AbortController is only
// returned after the response headers arrive (a connect that hangs cannot be
// aborted by stop()), and malformed lines are silently dropped. So the stream
// is read here directly with undici (KubeHttp.stream), which keeps every
// decision in one place:
//
// - the list is paginated and its resourceVersion is where the watch resumes;
//   every event and bookmark (allowWatchBookmarks) advances it, so a restarted
//   watch continues exactly where the last one stopped;
// - 410 Gone (an HTTP status or an ERROR event: the resourceVersion fell out
//   of the watch window) triggers a relist, diffed against the cache: deletes
//   for objects that vanished during the gap, updates for those that changed,
//   adds for new ones;
// - ANY other error or end of stream restarts the loop after a jittered
//   exponential back-off (capped, default 30 s), reset by a healthy watch.
//   Nothing is fatal: client-node 1.x informers stopping for good on non-410
//   errors is exactly the failure this module exists to avoid;
// - a watchdog aborts a watch that delivered nothing (no event, no bookmark)
//   for `watchSilenceMs`; the server-side timeoutSeconds is set below it, so
//   a healthy server always ends the stream first and a silent one means a
//   half-open connection;
// - a periodic resync re-delivers every cached object to the handlers
//   (level-triggered reconcilers catch up on drift in objects they do not
//   watch), and a periodic relist re-reads the server in case an event was
//   ever missed.
//
// The cache holds the objects as received (minus managedFields, by default,
// to save memory). Treat them as read-only: clone before mutating.
import { sharedStrings, type StringPool } from './intern.ts';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { isGone, KubeHttpError, statusCodeOf, describeError, METADATA_ONLY_LIST, METADATA_ONLY_WATCH, type KubeStatus, type ListWatchClient, type Query } from './kube.ts';
import { apiVersionOf, collectionPath, objectKey, type KubernetesObject, type ResourceRef } from './keys.ts';
import { silentLogger } from './logger.ts';

export interface EventHandlers<T extends KubernetesObject> {
  onAdd?(obj: T): void;
  /** Also called by resync with oldObj === newObj. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The object's last known state (from the event, or the cache after a relist). */
  onDelete?(obj: T): void;
}

export type RestartReason = 'stream-end' | 'silence' | 'gone' | 'error' | 'list-error' | 'relist';

/** Objects re-delivered by a resync between two turns of the event loop. */
export const RESYNC_CHUNK = 1000;

export interface InformerOptions<T extends KubernetesObject> {
  client: ListWatchClient;
  resource: ResourceRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  /** Abort a watch that delivered nothing for this long; default 5 min. */
  watchSilenceMs?: number;
  /** Server-side watch timeout; default ~85–95 % of watchSilenceMs, jittered per watch. */
  watchTimeoutSeconds?: number;
  /** Re-deliver all cached objects this often; default 10 min; 0 disables. */
  resyncMs?: number;
  /** Re-list from the server this often; default 30 min; 0 disables. */
  relistMs?: number;
  /** First retry delay after a failure; doubles per consecutive failure. Default 500 ms. */
  backoffBaseMs?: number;
  /** Retry delay cap; default 30 s. */
  backoffMaxMs?: number;
  /** Page size for lists; default 500. */
  pageSize?: number;
  /** Timeout of each list page request; default 60 s. */
  listTimeoutMs?: number;
  /**
   * Ask the server for PartialObjectMetadata and cache only apiVersion, kind
   * and metadata (enforced client-side too). For objects whose existence and
   * labels matter but whose content must not sit in memory: Secrets.
   */
  metadataOnly?: boolean;
  /** Applied to every object before caching (after metadataOnly); default drops metadata.managedFields. */
  transform?: (obj: T) => T;
  /** Share one copy of equal strings among cached objects (intern.ts); default the process-wide pool, false for none. */
  strings?: StringPool | false;
  /** Called on every restart of the list/watch loop (metrics). */
  onRestart?: (reason: RestartReason) => void;
  /** Called when the cache size changes (metrics). */
  onSize?: (size: number) => void;
  /** Random source for jitter; injectable for tests. */
  random?: () => number;
}

interface WatchEvent {
  type: string;
  object: unknown;
}

interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

class AbortReason {
  readonly reason: 'silence' | 'relist' | 'stop';
  constructor(reason: 'silence' | 'relist' | 'stop') {
    this.reason = reason;
  }
}

/**
 * Drops metadata.managedFields (the informers' default transform, and part of
 * the custom ones). Not with `delete`: deleting a property turns a V8 object
 * into a dictionary, whose property table made each cached metadata ~4 times
 * its size (17 of 91 MB of live heap at 10,000 ApiKeys). Rebuilding the object
 * without the field keeps it compact.
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (meta && 'managedFields' in meta) {
    const { managedFields: _dropped, ...rest } = meta;
    obj.metadata = rest;
  }
  return obj;
}

/**
 * stripManagedFields, and metadata.annotations too: for caches whose readers
 * never look at annotations (the webhook's), where an object's writer could
 * otherwise park 256 KiB of them in the shared process for every object.
 */
export function stripAnnotationsAndManagedFields<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (meta && ('managedFields' in meta || 'annotations' in meta)) {
    const { managedFields: _dropped, annotations: _annotations, ...rest } = meta;
    obj.metadata = rest;
  }
  return obj;
}

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly resource: ResourceRef;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  /** A readable id: path plus selectors. */
  readonly name: string;

  #client: ListWatchClient;
  #log: Logger;
  #path: string;
  #silenceMs: number;
  #timeoutSeconds: number | undefined;
  #resyncMs: number;
  #relistMs: number;
  #backoffBaseMs: number;
  #backoffMaxMs: number;
  #pageSize: number;
  #listTimeoutMs: number;
  #transform: (obj: T) => T;
  #metadataOnly: boolean;
  #onRestart: ((reason: RestartReason) => void) | undefined;
  #onSize: ((size: number) => void) | undefined;
  #random: () => number;

  #store = new Map<string, T>();
  #handlers = new Set<EventHandlers<T>>();
  #resourceVersion: string | undefined;
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #started = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #stopController = new AbortController();
  #watchAbort: AbortController | undefined;
  #needList = true;
  #paginate = true;
  #resyncTimer: NodeJS.Timeout | undefined;
  #relistTimer: NodeJS.Timeout | undefined;
  #restarts = 0;

  constructor(opts: InformerOptions<T>) {
    this.resource = opts.resource;
    this.namespace = opts.namespace;
    this.labelSelector = opts.labelSelector;
    this.fieldSelector = opts.fieldSelector;
    this.#client = opts.client;
    this.#path = collectionPath(opts.resource, opts.namespace);
    const sel = [
      opts.labelSelector && `labels=${opts.labelSelector}`,
      opts.fieldSelector && `fields=${opts.fieldSelector}`,
      opts.metadataOnly && 'metadataOnly',
    ].filter(Boolean);
    this.name = sel.length ? `${this.#path}?${sel.join('&')}` : this.#path;
    this.#log = (opts.logger ?? silentLogger()).child({ informer: this.name });
    this.#silenceMs = opts.watchSilenceMs ?? 300_000;
    this.#timeoutSeconds = opts.watchTimeoutSeconds;
    this.#resyncMs = opts.resyncMs ?? 600_000;
    this.#relistMs = opts.relistMs ?? 1_800_000;
    this.#backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.#backoffMaxMs = opts.backoffMaxMs ?? 30_000;
    this.#pageSize = opts.pageSize ?? 500;
    this.#listTimeoutMs = opts.listTimeoutMs ?? 60_000;
    this.#metadataOnly = opts.metadataOnly ?? false;
    const user = opts.transform ?? stripManagedFields;
    const pool = opts.strings === undefined ? sharedStrings : opts.strings;
    const transform = pool ? (o: T) => pool.intern(user(o)) : user;
    this.#transform = this.#metadataOnly ? (o: T) => transform(this.#onlyMetadata(o)) : transform;
    this.#onRestart = opts.onRestart;
    this.#onSize = opts.onSize;
    this.#random = opts.random ?? Math.random;
  }

  // -------------------------------------------------------------------------
  // Public API

  /**
   * Register handlers. If the cache has already synced, the current objects
   * are delivered to onAdd first (as client-go does), so late registrations
   * see everything. Returns a function that unregisters.
   */
  addHandler(h: EventHandlers<T>): () => void {
    this.#handlers.add(h);
    if (this.#synced && h.onAdd) for (const obj of this.#store.values()) this.#call(() => h.onAdd!(obj));
    return () => {
      this.#handlers.delete(h);
    };
  }

  /** True once the first list has completed (stays true across relists). */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when synced; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  keys(): string[] {
    return [...this.#store.keys()];
  }

  size(): number {
    return this.#store.size;
  }

  /** The resourceVersion the next watch resumes from. */
  lastSyncResourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** How many times the list/watch loop restarted (for tests and debugging). */
  restartCount(): number {
    return this.#restarts;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#loop = this.#run();
    if (this.#resyncMs > 0) {
      this.#resyncTimer = setInterval(() => void this.resync(), this.#resyncMs);
      this.#resyncTimer.unref();
    }
    if (this.#relistMs > 0) {
      this.#relistTimer = setInterval(() => this.requestRelist(), this.#relistMs);
      this.#relistTimer.unref();
    }
  }

  /** Stop watching and wait until the loop has exited. The cache stays readable. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    if (this.#relistTimer) clearInterval(this.#relistTimer);
    this.#stopController.abort(new AbortReason('stop'));
    this.#watchAbort?.abort(new AbortReason('stop'));
    await this.#loop;
  }

  /**
   * Re-deliver every cached object to onUpdate(obj, obj), RESYNC_CHUNK at a
   * time with a turn of the event loop between chunks: at 50,000 cached
   * objects one synchronous pass held the loop for over a second. Each
   * object is read from the cache when its turn comes, so one deleted or
   * replaced meanwhile is not re-delivered as it was.
   */
  async resync(): Promise<void> {
    if (!this.#synced || this.#stopped) return;
    let n = 0;
    for (const key of [...this.#store.keys()]) {
      if (this.#stopped) return;
      const obj = this.#store.get(key);
      if (obj) this.#emitUpdate(obj, obj);
      if (++n % RESYNC_CHUNK === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** End the current watch and list again (periodic relist; tests). */
  requestRelist(): void {
    if (this.#stopped) return;
    this.#needList = true;
    this.#watchAbort?.abort(new AbortReason('relist'));
  }

  // -------------------------------------------------------------------------
  // The loop

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let reason: RestartReason;
      let error: unknown;
      let healthy = false;
      try {
        if (this.#needList) {
          // Cleared before listing: a relist requested while this list runs
          // sets it again and aborts the following watch at once.
          this.#needList = false;
          try {
            await this.#list();
          } catch (err) {
            this.#needList = true;
            throw err;
          }
        }
        const outcome = await this.#watch();
        if (outcome.reason === 'stop') break;
        reason = outcome.reason;
        healthy = outcome.healthy;
      } catch (err) {
        if (this.#stopped) break;
        error = err;
        if (isGone(err)) {
          // The resourceVersion is too old (or a continue token expired): list afresh.
          this.#needList = true;
          reason = 'gone';
        } else {
          reason = this.#needList ? 'list-error' : 'error';
        }
      }
      if (this.#stopped) break;
      failures = healthy ? 0 : failures + 1;
      const delay = this.#backoff(failures);
      this.#restarts++;
      this.#onRestart?.(reason);
      const fields = { reason, failures, delayMs: Math.round(delay), resourceVersion: this.#resourceVersion, err: error === undefined ? undefined : describeError(error) };
      // Every restart is logged with its reason; the routine ones (server-side
      // timeout, periodic relist) at info, the suspicious ones at warn.
      if (reason === 'stream-end' || reason === 'relist') this.#log.info(fields, `watch restarting: ${reason}`);
      else if (reason === 'gone') this.#log.info(fields, 'watch restarting: resourceVersion expired, relisting');
      else this.#log.warn(fields, `watch restarting: ${reason}`);
      if (delay > 0) {
        try {
          await sleep(delay, undefined, { signal: this.#stopController.signal });
        } catch {
          break; // stopped
        }
      }
    }
  }

  /** 0 after a healthy watch; else base·2^(n−1) capped, with "equal jitter" (50–100 %). */
  #backoff(failures: number): number {
    if (failures === 0) return 0;
    const d = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** (failures - 1));
    return d * (0.5 + this.#random() * 0.5);
  }

  #query(): Query {
    return { labelSelector: this.labelSelector, fieldSelector: this.fieldSelector };
  }

  async #list(): Promise<void> {
    const items = new Map<string, T>();
    let cont: string | undefined;
    let rv: string | undefined;
    const paginate = this.#paginate;
    do {
      let page: ListResponse<T>;
      try {
        page = await this.#client.request<ListResponse<T>>('GET', this.#path, {
          query: { ...this.#query(), limit: paginate ? this.#pageSize : undefined, continue: cont },
          signal: this.#stopController.signal,
          timeoutMs: this.#listTimeoutMs,
          accept: this.#metadataOnly ? METADATA_ONLY_LIST : undefined,
        });
      } catch (err) {
        // A continue token expired mid-list: retry the whole list in one page.
        if (cont && isGone(err)) this.#paginate = false;
        throw err;
      }
      // List items carry no kind/apiVersion for built-in types; restore them.
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -4) : undefined;
      for (const raw of page.items ?? []) {
        const r = raw as KubernetesObject;
        if (kind && !r.kind) r.kind = kind;
        if (page.apiVersion && !r.apiVersion) r.apiVersion = page.apiVersion;
        const obj = this.#transform(raw);
        items.set(objectKey(obj), obj);
      }
      rv ??= page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    this.#paginate = true;
    this.#replace(items, rv);
  }

  /** Swap in a fresh list and emit the difference against the old cache. */
  #replace(items: Map<string, T>, rv: string | undefined): void {
    const old = this.#store;
    this.#store = items;
    this.#resourceVersion = rv;
    this.#onSize?.(items.size);
    const firstSync = !this.#synced;
    this.#synced = true;
    let added = 0;
    let updated = 0;
    let deleted = 0;
    for (const [key, obj] of items) {
      const prev = old.get(key);
      if (!prev) {
        added++;
        this.#emitAdd(obj);
      } else if (prev.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        updated++;
        this.#emitUpdate(prev, obj);
      }
    }
    for (const [key, prev] of old) {
      if (!items.has(key)) {
        deleted++;
        this.#emitDelete(prev);
      }
    }
    this.#log.debug({ resourceVersion: rv, objects: items.size, added, updated, deleted }, firstSync ? 'initial list' : 'relisted');
    if (firstSync) {
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  #serverTimeoutSeconds(): number {
    if (this.#timeoutSeconds !== undefined) return this.#timeoutSeconds;
    // Below the watchdog, jittered so many informers do not reconnect in lockstep.
    return Math.max(1, Math.floor((this.#silenceMs / 1000) * (0.85 + this.#random() * 0.1)));
  }

  async #watch(): Promise<{ reason: 'stream-end' | 'silence' | 'relist' | 'stop'; healthy: boolean }> {
    const ac = new AbortController();
    this.#watchAbort = ac;
    if (this.#stopped) ac.abort(new AbortReason('stop'));
    if (this.#needList) ac.abort(new AbortReason('relist'));
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new AbortReason('silence')), this.#silenceMs);
    };
    const startedAt = Date.now();
    let events = 0;
    // A watch counts as healthy if it delivered something or stayed open a while.
    const healthy = () => events > 0 || Date.now() - startedAt >= Math.min(30_000, this.#silenceMs / 2);
    arm();
    try {
      const body = await this.#client.stream(
        this.#path,
        {
          ...this.#query(),
          watch: 'true',
          allowWatchBookmarks: 'true',
          resourceVersion: this.#resourceVersion,
          timeoutSeconds: this.#serverTimeoutSeconds(),
        },
        ac.signal,
        this.#metadataOnly ? METADATA_ONLY_WATCH : undefined,
      );
      arm();
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          arm();
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch {
            throw new Error(`malformed watch event (${line.length} bytes)`);
          }
          events++;
          this.#handleEvent(ev);
        }
      }
      if (ac.signal.aborted) return this.#abortOutcome(ac, healthy());
      return { reason: 'stream-end', healthy: healthy() };
    } catch (err) {
      if (ac.signal.aborted) return this.#abortOutcome(ac, healthy());
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      if (this.#watchAbort === ac) this.#watchAbort = undefined;
      // Ends the HTTP stream if we left the loop early (error thrown by a handler or parse).
      if (!ac.signal.aborted) ac.abort(new AbortReason('stop'));
    }
  }

  #abortOutcome(ac: AbortController, healthy: boolean): { reason: 'silence' | 'relist' | 'stop'; healthy: boolean } {
    const r: unknown = ac.signal.reason;
    const reason = r instanceof AbortReason ? r.reason : 'stop';
    // A silent watch is never healthy; a requested relist is not a failure.
    return { reason, healthy: reason === 'silence' ? false : reason === 'relist' ? true : healthy };
  }

  #handleEvent(ev: WatchEvent): void {
    const obj = ev.object as T;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const o = this.#transform(obj);
        const key = objectKey(o);
        const prev = this.#store.get(key);
        this.#store.set(key, o);
        this.#advance(o);
        if (!prev) {
          this.#onSize?.(this.#store.size);
          this.#emitAdd(o);
        } else {
          this.#emitUpdate(prev, o);
        }
        return;
      }
      case 'DELETED': {
        const key = objectKey(obj);
        const had = this.#store.delete(key);
        this.#advance(obj);
        if (had) this.#onSize?.(this.#store.size);
        this.#emitDelete(obj);
        return;
      }
      case 'BOOKMARK':
        this.#advance(obj);
        return;
      case 'ERROR': {
        const st = ev.object as KubeStatus;
        throw new KubeHttpError(typeof st?.code === 'number' ? st.code : 500, st, 'watch ERROR event');
      }
      default:
        this.#log.debug({ type: ev.type }, 'ignoring unknown watch event type');
    }
  }

  /** PartialObjectMetadata (or a full object) → the resource's apiVersion/kind plus metadata only. */
  #onlyMetadata(o: T): T {
    return { apiVersion: apiVersionOf(this.resource), kind: this.resource.kind ?? o.kind, metadata: o.metadata } as T;
  }

  #advance(obj: KubernetesObject): void {
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A handler bug must not stop the informer (or the other handlers).
      this.#log.error({ err: describeError(err), code: statusCodeOf(err) }, 'event handler threw');
    }
  }

  #emitAdd(obj: T): void {
    for (const h of this.#handlers) if (h.onAdd) this.#call(() => h.onAdd!(obj));
  }

  #emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.#handlers) if (h.onUpdate) this.#call(() => h.onUpdate!(oldObj, newObj));
  }

  #emitDelete(obj: T): void {
    for (const h of this.#handlers) if (h.onDelete) this.#call(() => h.onDelete!(obj));
  }
}
