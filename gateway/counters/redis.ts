// Shared counters in Redis: every replica counts against the same number.
//
// One Lua script per request does the whole all-or-nothing decision
// atomically on the server (GET every window; if none is full, INCR each and
// PEXPIRE new ones), so there is one round trip and no race between replicas.
// All windows of one counter share a hash tag ({key}) and so one slot, which
// keeps the script valid on Redis Cluster too.
//
// When Redis cannot answer (down, not connected yet, slower than
// commandTimeout) the request is counted in a local MemoryCounterStore
// instead: limits degrade to per-replica rather than failing every request
// or letting everything through. Each fallback is counted (onError) and
// logged at most once per 10 s.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { MemoryCounterStore } from './memory.ts';
import { windowStart, type ConsumeResult, type CounterStore, type CounterWindow, type WindowState } from './types.ts';

const SCRIPT = `
local n = #KEYS
local counts = {}
local allowed = 1
for i = 1, n do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = c
  if c >= tonumber(ARGV[i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    local c = redis.call('INCR', KEYS[i])
    if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
    counts[i] = c
  end
end
local out = {allowed}
for i = 1, n do out[i + 1] = counts[i] end
return out
`;

type ConsumeCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

export interface RedisCounterOptions {
  url: string;
  /** Prefix of every key; default "crossgate:". */
  prefix?: string;
  /** Per-command timeout before falling back to local counting; default 250 ms. */
  commandTimeoutMs?: number;
  logger?: Logger;
  /** Called on every fallback to local counting (metrics). */
  onError?: (err: unknown) => void;
  redisOptions?: RedisOptions;
}

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  #prefix: string;
  #fallback = new MemoryCounterStore();
  #log: Logger | undefined;
  #onError: ((err: unknown) => void) | undefined;
  #lastLog = 0;

  constructor(opts: RedisCounterOptions) {
    this.#prefix = opts.prefix ?? 'crossgate:';
    this.#log = opts.logger;
    this.#onError = opts.onError;
    this.redis = new Redis(opts.url, {
      commandTimeout: opts.commandTimeoutMs ?? 250,
      // Fail fast while disconnected: the fallback counts locally meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
      lazyConnect: false,
      ...opts.redisOptions,
    });
    this.redis.on('error', (err: Error) => this.#logError(err, 'redis connection error'));
    this.redis.defineCommand('crossgateConsume', { lua: SCRIPT });
  }

  /** Resolves once connected (or rejects after timeoutMs). */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`redis not ready after ${timeoutMs} ms (status ${this.redis.status})`));
      }, timeoutMs);
      const onReady = () => {
        cleanup();
        resolve();
      };
      const cleanup = () => {
        clearTimeout(t);
        this.redis.off('ready', onReady);
      };
      this.redis.on('ready', onReady);
    });
  }

  #logError(err: unknown, msg: string): void {
    const now = Date.now();
    if (now - this.#lastLog < 10_000) return;
    this.#lastLog = now;
    this.#log?.warn({ err: err instanceof Error ? err.message : String(err) }, msg);
  }

  async consume(key: string, windows: readonly CounterWindow[], now: number, scope?: string): Promise<ConsumeResult> {
    const n = windows.length;
    const args: (string | number)[] = new Array(n * 3);
    const starts: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const start = windowStart(now, w.windowMs);
      starts[i] = start;
      args[i] = `${this.#prefix}{${key}}:${w.windowMs}:${start}`;
      args[n + i] = w.limit;
      // Keep the key a little past its window so clock skew between replicas cannot resurrect it.
      args[2 * n + i] = w.windowMs + 1000;
    }
    let reply: number[];
    try {
      reply = await (this.redis as unknown as { crossgateConsume: ConsumeCommand }).crossgateConsume(n, ...args);
    } catch (err) {
      this.#onError?.(err);
      this.#logError(err, 'redis counter store unavailable; counting locally');
      return this.#fallback.consume(key, windows, now, scope);
    }
    const allowed = reply[0] === 1;
    const states: WindowState[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      const count = Number(reply[i + 1] ?? 0);
      // When allowed, count is after the increment; when refused, before.
      const exceeded = allowed ? false : count >= w.limit;
      states[i] = { name: w.name, limit: w.limit, remaining: Math.max(0, w.limit - count), resetMs: starts[i]! + w.windowMs - now, windowMs: w.windowMs, exceeded };
    }
    return { allowed, windows: states };
  }

  async close(): Promise<void> {
    await this.#fallback.close();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
