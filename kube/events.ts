// Kubernetes Events (core/v1) for what the operator changed or failed to do,
// visible in `kubectl describe` and `kubectl get events`.
//
// - Repeats are aggregated like client-go's EventCorrelator: the same object,
//   type, reason and message within the cache's lifetime bump count and
//   lastTimestamp on the existing Event (merge patch) instead of creating a
//   new one. If that Event has expired (the API server deletes Events after
//   its --event-ttl, 1 h by default), a new one is created.
// - record() never throws and never blocks the reconcile loop: the write runs
//   in the background and failures are logged. flush() awaits pending writes
//   (tests, shutdown).
// - SECURITY: reason and message are stored in plain text in the cluster and
//   shown to anyone who can read Events in the namespace. Callers must pass
//   only safe text: names, counts, states, error reasons. Never a raw API
//   key, token, Secret value or a full error body that might contain one.
import { hostname } from 'node:os';
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeError, isNotFound } from './kube.ts';
import { MERGE_PATCH, type WriteOptions } from './status.ts';
import { silentLogger } from './logger.ts';

export type EventType = 'Normal' | 'Warning';

/** The subset of CoreV1Api used here (api-writers.ts implements it over KubeHttp; a fake in tests). */
export interface EventClient {
  createNamespacedEvent(param: { namespace: string; body: CoreV1Event }, options?: WriteOptions): Promise<CoreV1Event>;
  patchNamespacedEvent(param: { name: string; namespace: string; body: unknown }, options?: WriteOptions): Promise<CoreV1Event>;
}

export interface EventRecorderOptions {
  client: EventClient;
  /** source.component and reportingComponent; default "crossgate-operator". */
  component?: string;
  /** source.host and reportingInstance; default the hostname. */
  host?: string;
  logger?: Logger;
  /** Aggregation cache size (LRU); default 4096. */
  cacheSize?: number;
  now?: () => Date;
}

/** client-go truncates messages to this length. */
const MAX_MESSAGE = 1024;

interface Seen {
  name: string;
  namespace: string;
  count: number;
}

export class EventRecorder {
  readonly component: string;
  readonly host: string;
  #client: EventClient;
  #log: Logger;
  #cache = new Map<string, Seen>();
  #cacheSize: number;
  #now: () => Date;
  #pending = new Set<Promise<void>>();
  /** Writes for one aggregation key run in order, so counts do not race. */
  #chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.component = opts.component ?? 'crossgate-operator';
    this.host = opts.host ?? hostname();
    this.#log = (opts.logger ?? silentLogger()).child({ component: 'events' });
    this.#cacheSize = opts.cacheSize ?? 4096;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Record an Event about `obj`. Fire-and-forget: never throws. See the SECURITY note above. */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    try {
      const meta = obj.metadata ?? {};
      const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
      const key = [meta.uid ?? `${obj.kind}/${meta.namespace ?? ''}/${meta.name ?? ''}`, type, reason, msg].join('\u0000');
      const prev = this.#chains.get(key) ?? Promise.resolve();
      const p = prev.then(() => this.#write(key, obj, type, reason, msg));
      this.#chains.set(key, p);
      this.#pending.add(p);
      void p.finally(() => {
        this.#pending.delete(p);
        if (this.#chains.get(key) === p) this.#chains.delete(key);
      });
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'failed to record event');
    }
  }

  normal(obj: KubernetesObject, reason: string, message: string): void {
    this.record(obj, 'Normal', reason, message);
  }

  warning(obj: KubernetesObject, reason: string, message: string): void {
    this.record(obj, 'Warning', reason, message);
  }

  /** Wait for all pending writes. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #write(key: string, obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    // Events about cluster-scoped objects go to "default", as client-go does.
    const namespace = meta.namespace || 'default';
    const now = this.#now();
    const ro: WriteOptions = { timeoutMs: 10_000, contentType: MERGE_PATCH };
    try {
      const seen = this.#cache.get(key);
      if (seen) {
        try {
          const count = seen.count + 1;
          await this.#client.patchNamespacedEvent(
            { name: seen.name, namespace: seen.namespace, body: { count, lastTimestamp: now.toISOString() } },
            ro,
          );
          seen.count = count;
          this.#touch(key, seen);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.#cache.delete(key); // expired: create a fresh one below
        }
      }
      const name = `${meta.name ?? 'unknown'}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
      const body: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component, host: this.host },
        reportingComponent: this.component,
        reportingInstance: this.host,
      };
      await this.#client.createNamespacedEvent({ namespace, body }, { timeoutMs: 10_000 });
      this.#touch(key, { name, namespace, count: 1 });
    } catch (err) {
      this.#log.warn({ err: describeError(err), reason, involved: `${obj.kind}/${meta.namespace ? `${meta.namespace}/` : ''}${meta.name}` }, 'failed to write event');
    }
  }

  #touch(key: string, seen: Seen): void {
    this.#cache.delete(key);
    this.#cache.set(key, seen);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
