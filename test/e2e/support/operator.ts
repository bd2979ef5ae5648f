// Installs crossgate's cluster-wide pieces (CRDs, ClusterRoles, the operator's
// namespace, ServiceAccount and binding) and runs the operator as a local
// process that authenticates as that ServiceAccount, so every e2e test also
// proves the generated least-privilege ClusterRole is enough.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl, applyYaml } from './kubectl.ts';
import { kubeConfig } from './client.ts';
import { startProcess, type ManagedProcess } from './process.ts';
import { waitFor } from './wait.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const OPERATOR_NAMESPACE = 'crossgate-system';
const SA = 'crossgate-operator';
export const WEBHOOK_SA = 'crossgate-webhook';
export const GATEWAY_SA = 'crossgate-gateway';

let installed: Promise<void> | undefined;

/** Idempotent: CRDs (waited for Established), ClusterRoles, namespace, ServiceAccount, ClusterRoleBinding. */
export function installCrossgate(): Promise<void> {
  installed ??= (async () => {
    await kubectl(['apply', '-f', join(ROOT, 'crds'), '-f', join(ROOT, 'config', 'rbac')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
    await applyYaml(`apiVersion: v1
kind: Namespace
metadata: {name: ${OPERATOR_NAMESPACE}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crossgate-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crossgate-operator}
subjects:
- {kind: ServiceAccount, name: ${SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${WEBHOOK_SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crossgate-webhook}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crossgate-webhook}
subjects:
- {kind: ServiceAccount, name: ${WEBHOOK_SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${GATEWAY_SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: crossgate-gateway, namespace: ${OPERATOR_NAMESPACE}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crossgate-gateway}
subjects:
- {kind: ServiceAccount, name: ${GATEWAY_SA}, namespace: ${OPERATOR_NAMESPACE}}
`);
  })();
  return installed;
}

/** A kubeconfig that acts as the operator's ServiceAccount (a TokenRequest token), optionally via another server URL. */
export function operatorKubeconfig(opts: { from?: string } = {}): Promise<string> {
  return serviceAccountKubeconfig(SA, opts);
}

/** A kubeconfig that acts as a crossgate ServiceAccount, so tests run components with their real, least privileges. */
export async function serviceAccountKubeconfig(sa: string, opts: { from?: string } = {}): Promise<string> {
  await installCrossgate();
  const token = (await kubectl(['create', 'token', sa, '-n', OPERATOR_NAMESPACE, '--duration=2h'])).stdout.trim();
  const kc = kubeConfig(opts.from);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: sa, token }],
    contexts: [{ name: sa, cluster: cluster.name, user: sa }],
    currentContext: sa,
  });
  const dir = mkdtempSync(join(tmpdir(), 'crossgate-operator-kubeconfig-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  // Not node:test's after(): called from a before() hook it would run as soon as that hook ends.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

export interface RunningOperator {
  proc: ManagedProcess;
  healthUrl: string;
  /** Parsed JSON log lines so far (throws on a line that is not JSON). */
  logs(): Array<Record<string, unknown>>;
}

export interface StartOperatorOptions {
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
