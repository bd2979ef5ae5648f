// Small helpers shared by the operator unit tests.
import { execFileSync } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventHandlers } from '../../../kube/informer.ts';

/** Poll `pred` until it holds; fail after timeoutMs with `what` in the message. */
export async function eventually(pred: () => boolean, what: string, timeoutMs = 5000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Recorded {
  type: 'add' | 'update' | 'delete';
  key: string;
  rv: string | undefined;
  oldRv?: string | undefined;
}

/** Event handlers that record what they saw as "type key". */
export function recorder(): { handlers: EventHandlers<KubernetesObject>; events: Recorded[]; seen: () => string[]; clear: () => void } {
  const events: Recorded[] = [];
  const key = (o: KubernetesObject) => (o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : String(o.metadata?.name));
  return {
    events,
    handlers: {
      onAdd: (o) => void events.push({ type: 'add', key: key(o), rv: o.metadata?.resourceVersion }),
      onUpdate: (a, b) => void events.push({ type: 'update', key: key(b), rv: b.metadata?.resourceVersion, oldRv: a.metadata?.resourceVersion }),
      onDelete: (o) => void events.push({ type: 'delete', key: key(o), rv: o.metadata?.resourceVersion }),
    },
    seen: () => events.map((e) => `${e.type} ${e.key}`),
    clear: () => void events.splice(0),
  };
}

/**
 * Runs `script` (an ES module body) in a fresh node process, with a resolve hook
 * recording every module its import graph loads; returns the npm packages among
 * them. Proves what a process holds in memory, not what a file mentions.
 */
export function packagesLoadedBy(script: string, cwd: string): string[] {
  const hook = `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) seen.add(m[1]); return r; } });
process.on('exit', () => { process.stdout.write('\\n' + JSON.stringify([...seen].sort())); });`;
  const out = execFileSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--input-type=module', '-e', script], { encoding: 'utf8', cwd });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}
