// Leader election on a coordination.k8s.io/v1 Lease, following client-go's
// leaderelection package so its timing guarantees carry over:
//
// - leaseDuration (15 s): how long non-leaders wait after they last saw the
//   lease change before taking it over. Expiry is judged by the local time at
//   which *this* process last observed the lease record change, never by the
//   renewTime written by another machine, so clock skew between nodes cannot
//   cause two leaders.
// - renewDeadline (10 s): the leader gives up if it could not renew for this
//   long; being < leaseDuration, it stops acting before anyone else may start.
// - retryPeriod (2 s): how often to try to acquire or renew (acquire attempts
//   are jittered).
// - Every write is an update carrying the resourceVersion that was read
//   (optimistic concurrency): of two candidates racing for an expired lease,
//   one gets 409 Conflict and loses.
// - On loss the process must stop acting at once. controller-runtime exits;
//   so does this, by default (exitOnLoss). A clean stop() releases the lease
//   (empty holderIdentity, leaseDurationSeconds 1), so a successor takes over
//   within one retryPeriod instead of waiting out leaseDuration.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeError, isAlreadyExists, isConflict, isNotFound } from './kube.ts';
import type { WriteOptions } from './status.ts';
import { silentLogger } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';

/** The subset of CoordinationV1Api used here (api-writers.ts implements it over KubeHttp; a fake in tests). */
export interface LeaseClient {
  readNamespacedLease(param: { name: string; namespace: string }, options?: WriteOptions): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }, options?: WriteOptions): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }, options?: WriteOptions): Promise<V1Lease>;
}

export interface LeaderElectionOptions {
  client: LeaseClient;
  /** Lease name, e.g. "crossgate-operator". */
  name: string;
  namespace: string;
  /** Default: hostname_pid_random. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called once this process holds the lease; start controllers here. */
  onStartedLeading?: () => void | Promise<void>;
  /** Called when leadership ends (lost or released). */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called when the observed leader changes (including to this process). */
  onNewLeader?: (identity: string) => void;
  /** Exit the process when leadership is lost (not on a clean stop()). Default true. */
  exitOnLoss?: boolean;
  /** How to exit; default process.exit. Tests inject a spy. */
  exit?: (code: number) => void;
  /** Release the lease on stop(); default true. */
  releaseOnStop?: boolean;
  logger?: Logger;
  metrics?: OperatorMetrics;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** A Date that serializes as metav1.MicroTime: the API server rejects the 3 fractional digits a plain Date gives. */
class MicroTime extends Date {
  override toJSON(): string {
    return this.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

function toMicroTime(ms: number): V1MicroTime {
  return new MicroTime(ms) as V1MicroTime;
}

export class LeaderElector {
  readonly identity: string;
  readonly name: string;
  readonly namespace: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;

  #client: LeaseClient;
  #opts: LeaderElectionOptions;
  #log: Logger;
  #now: () => number;
  #stop = new AbortController();
  #stopped = false;
  #leader = false;
  #running: Promise<void> | undefined;
  #observedRV: string | undefined;
  #observedTime = 0;
  #observedHolder: string | undefined;
  #lastRenew = 0;
  /** The lease as last read or written by us (for renewals and release). */
  #lease: V1Lease | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#client = opts.client;
    this.name = opts.name;
    this.namespace = opts.namespace;
    this.identity = opts.identity ?? defaultIdentity();
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(this.renewDeadlineMs > this.retryPeriodMs * 1.2)) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    this.#log = (opts.logger ?? silentLogger()).child({ lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
    this.#now = opts.now ?? Date.now;
    opts.metrics?.leaderStatus.set({ name: this.name }, 0);
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** The holder this process last observed (possibly itself). */
  observedLeader(): string | undefined {
    return this.#observedHolder;
  }

  /**
   * Campaign, lead, and return when leadership ends (lost, or stop()).
   * Call once; run it without awaiting in main().
   */
  run(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Stop campaigning or leading; releases the lease if held. Resolves when done. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#stop.abort();
    }
    await this.#running;
  }

  async #run(): Promise<void> {
    this.#log.info('attempting to acquire leader lease');
    // Acquire.
    while (!this.#stopped) {
      if (await this.#attempt(this.renewDeadlineMs)) break;
      if (!(await this.#sleep(this.retryPeriodMs * (1 + Math.random() * 1.2)))) break;
    }
    if (this.#stopped) return;
    this.#setLeader(true);
    this.#log.info('became leader');
    try {
      await this.#opts.onStartedLeading?.();
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'onStartedLeading failed; giving up leadership');
      await this.#end(true, true);
      return;
    }
    // Renew until it fails for renewDeadline, another holder shows up, or stop().
    let lost = false;
    while (!this.#stopped) {
      if (!(await this.#sleep(this.retryPeriodMs))) break;
      const deadline = this.#lastRenew + this.renewDeadlineMs;
      let renewed = false;
      while (!this.#stopped && this.#now() < deadline) {
        renewed = await this.#attempt(Math.max(1, deadline - this.#now()));
        if (renewed || this.#heldByOther()) break;
        if (!(await this.#sleep(Math.min(this.retryPeriodMs, Math.max(0, deadline - this.#now()))))) break;
      }
      if (this.#stopped) break;
      if (!renewed) {
        lost = true;
        this.#log.error(
          { holder: this.#observedHolder, sinceLastRenewMs: this.#now() - this.#lastRenew },
          this.#heldByOther() ? 'leader lease taken by another holder' : 'failed to renew leader lease within renewDeadline',
        );
        break;
      }
    }
    await this.#end(lost, !lost && (this.#opts.releaseOnStop ?? true));
  }

  /** Leadership is over: optionally release, tell the callback, exit if it was lost. */
  async #end(lost: boolean, release: boolean): Promise<void> {
    this.#setLeader(false);
    if (release) await this.#release();
    try {
      await this.#opts.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'onStoppedLeading failed');
    }
    if (lost) {
      this.#log.error('leadership lost: stopping');
      if (this.#opts.exitOnLoss ?? true) (this.#opts.exit ?? ((code: number) => process.exit(code)))(1);
    } else {
      this.#log.info('stopped leading');
    }
  }

  #heldByOther(): boolean {
    return !!this.#observedHolder && this.#observedHolder !== this.identity;
  }

  #setLeader(v: boolean): void {
    this.#leader = v;
    this.#opts.metrics?.leaderStatus.set({ name: this.name }, v ? 1 : 0);
  }

  /** Sleep unless stopped; false if stop() interrupted it. */
  async #sleep(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#stop.signal });
      return true;
    } catch {
      return false;
    }
  }

  #observe(lease: V1Lease): void {
    const rv = lease.metadata?.resourceVersion;
    const holder = lease.spec?.holderIdentity ?? '';
    if (rv !== this.#observedRV) {
      this.#observedRV = rv;
      this.#observedTime = this.#now();
    }
    if (holder !== this.#observedHolder) {
      this.#observedHolder = holder;
      if (holder) {
        this.#log.info({ holder }, 'new leader observed');
        this.#opts.onNewLeader?.(holder);
      }
    }
    this.#lease = lease;
  }

  /** One tryAcquireOrRenew; never throws. */
  async #attempt(timeoutMs: number): Promise<boolean> {
    try {
      return await this.#tryAcquireOrRenew(timeoutMs);
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'error acquiring or renewing lease');
      return false;
    }
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const ro: WriteOptions = { timeoutMs };
    const now = this.#now();
    const durationS = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await this.#client.readNamespacedLease({ name: this.name, namespace: this.namespace }, ro);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationS,
          acquireTime: toMicroTime(now),
          renewTime: toMicroTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        const created = await this.#client.createNamespacedLease({ namespace: this.namespace, body }, ro);
        this.#observe(created);
        this.#lastRenew = now;
        return true;
      } catch (e) {
        if (isAlreadyExists(e) || isConflict(e)) return false; // someone else created it first
        throw e;
      }
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const heldMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
    const mine = holder === this.identity;
    if (holder && !mine && this.#observedTime + heldMs > now) return false; // held and not expired
    const body: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationS,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : toMicroTime(now),
        renewTime: toMicroTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      // metadata.resourceVersion from the read: 409 if anyone wrote in between.
      const updated = await this.#client.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }, ro);
      this.#observe(updated);
      this.#lastRenew = now;
      if (!mine) this.#log.info({ previous: holder || undefined }, 'acquired leader lease');
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = this.#now();
    try {
      const released = await this.#client.replaceNamespacedLease(
        {
          name: this.name,
          namespace: this.namespace,
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: '',
              leaseDurationSeconds: 1,
              acquireTime: toMicroTime(now),
              renewTime: toMicroTime(now),
            },
          },
        },
        { timeoutMs: this.renewDeadlineMs },
      );
      this.#lease = released;
      this.#log.info('released leader lease');
    } catch (err) {
      this.#log.warn({ err: describeError(err) }, 'failed to release leader lease; successor will wait for expiry');
    }
  }
}
