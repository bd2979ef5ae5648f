// Runs the operator as a local process that authenticates as its
// ServiceAccount, so every e2e test also proves the generated least-privilege
// ClusterRole is enough.
import { join } from 'node:path';
import { kubectl } from './kubectl.ts';
import { startProcess, type ManagedProcess } from './process.ts';
import { waitFor } from './wait.ts';
import { ROOT, OPERATOR_NAMESPACE, OPERATOR_SA, installCrossgate, serviceAccountKubeconfig } from './install.ts';
import { platformEnv, type PlatformOptions } from './platform.ts';

export { ROOT, OPERATOR_NAMESPACE, installCrossgate, serviceAccountKubeconfig };
export { WEBHOOK_SA, GATEWAY_SA } from './install.ts';

/** A kubeconfig that acts as the operator's ServiceAccount, optionally via another server URL. */
export function operatorKubeconfig(opts: { from?: string } = {}): Promise<string> {
  return serviceAccountKubeconfig(OPERATOR_SA, opts);
}

export interface RunningOperator {
  proc: ManagedProcess;
  healthUrl: string;
  /** Parsed JSON log lines so far (throws on a line that is not JSON). */
  logs(): Array<Record<string, unknown>>;
}

export interface StartOperatorOptions extends PlatformOptions {
  name?: string;
  /** Kubeconfig for the operator; default: the operator ServiceAccount's. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Wait until it leads (default true; false for a standby replica). */
  waitForLeader?: boolean;
}

/**
 * Starts `node operator/main.ts`. The caller stops it (`op.proc.stop()` in an
 * after hook of its suite); if it forgets, or the test process dies, the
 * process is killed when the test process exits.
 */
export async function startOperator(opts: StartOperatorOptions = {}): Promise<RunningOperator> {
  const kubeconfig = opts.kubeconfig ?? (await operatorKubeconfig());
  const proc = startProcess(process.execPath, [join(ROOT, 'operator', 'main.ts')], {
    name: opts.name ?? 'operator',
    cwd: ROOT,
    noAutoStop: true,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      CROSSGATE_HEALTH_ADDR: '127.0.0.1:0',
      CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
      LOG_LEVEL: 'debug',
      ...platformEnv(opts),
      ...opts.env,
    },
  });
  const line = await proc.waitForLine(/health and metrics server listening/, { timeoutMs: 30_000 });
  const { port } = JSON.parse(line) as { port: number };
  if (opts.waitForLeader ?? true) await proc.waitForLine(/became leader|leader election disabled/, { timeoutMs: 60_000 });
  return {
    proc,
    healthUrl: `http://127.0.0.1:${port}`,
    logs: () => proc.stdout.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Reads one object as JSON with kubectl (undefined when absent). */
export async function getJson<T = any>(args: string[]): Promise<T | undefined> {
  const r = await kubectl(['get', ...args, '-o', 'json'], { allowFail: true });
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

export function condition(obj: any, type: string): { status: string; reason: string; message: string } | undefined {
  return obj?.status?.conditions?.find((c: { type: string }) => c.type === type);
}

/** Waits until the object's condition has the given status, and returns the object. */
export async function waitForCondition(args: string[], type: string, status: 'True' | 'False', opts: { timeoutMs?: number; reason?: string } = {}): Promise<any> {
  return waitFor(
    async () => {
      const obj = await getJson(args);
      const c = condition(obj, type);
      return c?.status === status && (!opts.reason || c.reason === opts.reason) ? obj : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, what: `${args.join(' ')} condition ${type}=${status}${opts.reason ? ` (${opts.reason})` : ''}` },
  );
}
