// The operator's live heap (what is reachable after a full collection), read
// through the V8 inspector instead of a heap snapshot. A snapshot of a ~1 GB
// heap stops the operator's event loop for ~16 s, longer than its Lease renew
// deadline, so at 50,000 keys the measurement itself cost the Lease. A full GC
// alone takes a fraction of that.
//
// The operator starts with `--inspect-port=127.0.0.1:0` (INSPECT_ARGS), which
// opens nothing; SIGUSR1 then opens the inspector on a free loopback port, and
// Node prints its WebSocket URL on stderr. No session is attached during the
// phases that are timed.
import type { Proc } from './env.ts';

export const INSPECT_ARGS = ['--inspect-port=127.0.0.1:0'];

export interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

interface Inspector {
  call<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  close(): void;
}

async function connect(url: string, timeoutMs: number): Promise<Inspector> {
  const ws = new WebSocket(url);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  ws.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new Error('inspector connection closed'));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`inspector at ${url}: no connection in ${timeoutMs} ms`)), timeoutMs);
    ws.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
    ws.addEventListener('error', () => (clearTimeout(timer), reject(new Error(`inspector at ${url}: connection failed`))), { once: true });
  });
  return {
    call: <T>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Each process's inspector URL: SIGUSR1 prints it only when it opens the inspector, the first time. */
const urls = new WeakMap<Proc, string>();

/** Opens the operator's inspector (SIGUSR1), forces a full GC and returns the heap then, and how long the GC took. */
export async function liveHeap(proc: Proc, timeoutMs = 120_000): Promise<HeapUsage & { gcMs: number }> {
  let url = urls.get(proc);
  if (!url) {
    const listening = proc.waitForLine(/Debugger listening on ws:\/\/\S+/, timeoutMs);
    proc.child.kill('SIGUSR1');
    url = /ws:\/\/\S+/.exec(await listening)![0];
    urls.set(proc, url);
  }
  const inspector = await connect(url, 10_000);
  try {
    const t0 = performance.now();
    await inspector.call('HeapProfiler.collectGarbage');
    const gcMs = performance.now() - t0;
    const usage = await inspector.call<HeapUsage>('Runtime.getHeapUsage');
    return { usedSize: usage.usedSize, totalSize: usage.totalSize, gcMs };
  } finally {
    inspector.close();
  }
}
