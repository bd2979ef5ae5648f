// The one place the gateway's current config lives. Sources (a directory, a
// Kubernetes namespace) feed part texts in; after a short debounce the
// assembler tries to build a new config, and on success the reference is
// swapped in one assignment. A request reads `loader.current` once when it
// starts and keeps that object to the end, so in-flight requests finish on
// the config they started with while new ones see the new one.
//
// When a config cannot be assembled the last good one stays, and the reason
// is logged (once per distinct reason: warn when a part is invalid, info
// while parts are merely still arriving). A config loaded with parts kept
// back (see assembler.ts) logs each of them (warn) and reports the count.
import type { Logger } from 'pino';
import type { RoutesPart } from '../../api/gateway/config.ts';
import type { CompiledConfig, CompiledRoutes } from '../compiled.ts';
import { ConfigAssembler, type AssembleResult } from './assembler.ts';

export interface ConfigLoaderOptions {
  gateway: string;
  compileRoutes: (part: RoutesPart) => CompiledRoutes;
  logger: Logger;
  /** Wait this long after the last change before assembling; default 50 ms. */
  debounceMs?: number;
  onLoaded?: (config: CompiledConfig, result: Extract<AssembleResult, { status: 'loaded' }>) => void;
  onPending?: (reason: string, invalid: boolean) => void;
  /** How long a generation waits for listed parts that have not arrived; default 2000 ms (assembler.ts). */
  partGraceMs?: number;
}

export interface LoaderStatus {
  gateway: string;
  generation: number | undefined;
  loadedAt: string | undefined;
  routes: number;
  credentials: number;
  /** Why the newest parts are not (yet) in force, if they are not. */
  pending: string | undefined;
  stats: ConfigAssembler['stats'];
}

export class ConfigLoader {
  readonly assembler: ConfigAssembler;
  #log: Logger;
  #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #onLoaded: ConfigLoaderOptions['onLoaded'];
  #onPending: ConfigLoaderOptions['onPending'];
  #lastReason: string | undefined;
  #waiters: Array<(c: CompiledConfig) => void> = [];
  #closed = false;

  constructor(opts: ConfigLoaderOptions) {
    this.assembler = new ConfigAssembler({ gateway: opts.gateway, compileRoutes: opts.compileRoutes, partGraceMs: opts.partGraceMs });
    this.#log = opts.logger;
    this.#debounceMs = opts.debounceMs ?? 50;
    this.#onLoaded = opts.onLoaded;
    this.#onPending = opts.onPending;
  }

  /** The config in force (undefined until the first one is assembled). */
  get current(): CompiledConfig | undefined {
    return this.assembler.current;
  }

  set(name: string, text: string | undefined): void {
    if (this.assembler.set(name, text)) this.schedule();
  }

  delete(name: string): void {
    if (this.assembler.delete(name)) this.schedule();
  }

  /** Assemble after the debounce delay (restarted by each change). */
  schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#debounceMs);
  }

  /** Assemble now. */
  flush(): AssembleResult {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const started = performance.now();
    const r = this.assembler.assemble();
    if (r.status === 'loaded') {
      const c = r.config;
      this.#lastReason = undefined;
      this.#log.info(
        {
          generation: c.generation,
          previousGeneration: r.previous?.generation,
          routes: c.routes.routes.length,
          credentials: c.credentials.size,
          rebuiltShards: r.rebuiltShards,
          routesRebuilt: r.routesRebuilt,
          keptBack: r.keptBack.length,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'gateway config loaded',
      );
      for (const k of r.keptBack) {
        this.#log.warn({ part: k.name, kind: k.kind, reason: k.reason, generation: c.generation }, 'config part kept back: its previous content (or none) stays in force; the other parts loaded');
      }
      if (r.routesRebuilt) for (const conflict of c.routes.router.conflicts) this.#log.warn({ conflict }, 'route conflict');
      this.#onLoaded?.(c, r);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w(c);
    } else if (r.status === 'pending') {
      if (r.reason !== this.#lastReason) {
        this.#lastReason = r.reason;
        const fields = { reason: r.reason, servingGeneration: this.current?.generation ?? null };
        if (r.invalid) this.#log.warn(fields, 'gateway config refused; keeping the last good config');
        else this.#log.info(fields, 'gateway config incomplete; keeping the last good config');
      }
      this.#onPending?.(r.reason, r.invalid);
      // Parts still arriving: try again when the grace period ends, even if nothing else changes.
      if (r.retryMs !== undefined && !this.#closed) {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.flush();
        }, r.retryMs);
      }
    }
    return r;
  }

  /** Resolves with the first config (at once if one is loaded). */
  waitForConfig(): Promise<CompiledConfig> {
    const c = this.current;
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  status(): LoaderStatus {
    const c = this.current;
    return {
      gateway: this.assembler.gateway,
      generation: c?.generation,
      loadedAt: c ? new Date(c.loadedAt).toISOString() : undefined,
      routes: c?.routes.routes.length ?? 0,
      credentials: c?.credentials.size ?? 0,
      pending: this.#lastReason,
      stats: this.assembler.stats,
    };
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}

/** What a config source does: feed the loader until stopped. */
export interface ConfigSource {
  readonly kind: 'directory' | 'kubernetes';
  /** Starts feeding; resolves once the initial state has been read (a config may still be pending). */
  start(): Promise<void>;
  stop(): Promise<void>;
}
