// Prometheus metrics (prom-client) under controller-runtime's names and
// buckets, so existing controller-runtime dashboards and alerts work on
// crossgate unchanged. One Registry per operator process (tests make their
// own), never prom-client's global one, so two managers in one test process
// do not collide.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueue, WorkQueueMetrics } from './workqueue.ts';

/** controller-runtime's reconcile_time buckets. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
  3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go workqueue buckets: ExponentialBuckets(10e-9, 10, 12), 10 ns … 1000 s. */
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Metric constructors that register in `registry`: one call per metric, its name, help and label names. */
export function metricsIn(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string = string>(name: string, help: string, labelNames: readonly L[], buckets?: number[]) =>
      new Histogram<L>({ name, help, labelNames, registers, ...(buckets ? { buckets } : {}) }),
  };
}

export interface OperatorMetricsOptions {
  registry?: Registry;
  /** Node process metrics (heap, event loop lag, GC…); default true. */
  defaultMetrics?: boolean;
}

export class OperatorMetrics {
  readonly registry: Registry;

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;

  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly workqueueQueueDuration: Histogram<'name'>;
  readonly workqueueWorkDuration: Histogram<'name'>;
  readonly workqueueUnfinishedWork: Gauge<'name'>;
  readonly workqueueLongestRunning: Gauge<'name'>;

  readonly leaderStatus: Gauge<'name'>;

  /** crossgate's own: watch restarts per informer and reason (silence, gone, error, …). */
  readonly informerRestarts: Counter<'resource' | 'reason'>;
  /** crossgate's own: objects held in each informer cache (memory planning). */
  readonly informerObjects: Gauge<'resource'>;
  /** crossgate's own: since when (unix seconds) a gateway config part could not be written; the gateway serves its previous content meanwhile. */
  readonly gatewayConfigPartStaleSince: Gauge<'gateway' | 'part'>;

  #queues = new Map<string, WorkQueue>();

  constructor(opts: OperatorMetricsOptions = {}) {
    const registry = opts.registry ?? new Registry();
    this.registry = registry;
    const registers = [registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });

    this.workqueueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    const queues = this.#queues;
    this.workqueueUnfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.inFlightSeconds().unfinished);
      },
    });
    this.workqueueLongestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.inFlightSeconds().longest);
      },
    });

    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });

    this.informerRestarts = new Counter({
      name: 'crossgate_informer_watch_restarts_total',
      help: 'Watch restarts per informer and reason (stream-end, silence, gone, error, list-error, relist)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerObjects = new Gauge({
      name: 'crossgate_informer_cached_objects',
      help: 'Objects held in each informer cache',
      labelNames: ['resource'],
      registers,
    });
    this.gatewayConfigPartStaleSince = new Gauge({
      name: 'crossgate_gateway_config_part_stale_since_seconds',
      help: 'Since when (unix seconds) a gateway config part could not be written: the gateway serves its previous content until a write succeeds. One series per stale part, none when all are written.',
      labelNames: ['gateway', 'part'],
      registers,
    });
  }

  /** WorkQueue hooks bound to the queue name label. */
  workqueue(name: string): WorkQueueMetrics {
    const l = { name };
    return {
      add: () => this.workqueueAdds.inc(l),
      depth: (n) => this.workqueueDepth.set(l, n),
      retry: () => this.workqueueRetries.inc(l),
      queueLatency: (s) => this.workqueueQueueDuration.observe(l, s),
      workDuration: (s) => this.workqueueWorkDuration.observe(l, s),
    };
  }

  /** Let the unfinished-work / longest-running gauges read this queue at scrape time. */
  registerQueue(queue: WorkQueue): void {
    this.#queues.set(queue.name, queue);
  }

  unregisterQueue(queue: WorkQueue): void {
    if (this.#queues.get(queue.name) === queue) this.#queues.delete(queue.name);
  }
}
