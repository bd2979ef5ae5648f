// The benchmark's world: a fresh local control plane (test/controlplane),
// crossgate installed into it, and the operator, webhook and gateway as child
// processes started the way hack/demo.ts starts them, plus a loopback upstream.
// Everything listens on 127.0.0.1 and is stopped by stop() — also on Ctrl-C
// (see run.ts) and, as a last resort, SIGKILLed on process exit.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startControlPlane, type ControlPlane } from '../../test/controlplane/controlplane.ts';
import { kubectl } from '../../test/e2e/support/kubectl.ts';
import { waitFor } from '../../test/e2e/support/wait.ts';
import { ROOT, GATEWAY_SA, OPERATOR_NAMESPACE, OPERATOR_SA, WEBHOOK_SA, serviceAccountKubeconfig } from '../../test/e2e/support/install.ts';
import { KubeHttp } from '../../kube/kube.ts';
import { loadKubeConfig } from '../../kube/client-node.ts';

export { ROOT, OPERATOR_NAMESPACE };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Every child process of this run, so a signal handler can stop them all. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the first stdout/stderr line matching re. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  running(): boolean;
  stop(timeoutMs?: number): Promise<void>;
}

/** script: relative to ROOT, or absolute. input, when given, is written to the child's stdin, which is then closed. */
export function startNode(name: string, script: string, env: NodeJS.ProcessEnv, logDir: string, nodeArgs: string[] = [], input?: string): Proc {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, resolve(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin!.end(input);
  children.add(child);
  child.on('exit', () => children.delete(child));
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log, { end: false });
    createInterface({ input: stream }).on('line', (line) => {
      for (const w of waiters) if (w.re.test(line)) (waiters.delete(w), w.resolve(line));
    });
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    logFile,
    running,
    waitForLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
        const t = setTimeout(() => (waiters.delete(w), reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; see ${logFile}`))), timeoutMs);
        waiters.add(w);
        child.once('exit', (code, sig) => { if (waiters.delete(w)) (clearTimeout(t), reject(new Error(`${name} exited (${code ?? sig}); see ${logFile}`))); });
      });
    },
    stop(timeoutMs = 15_000) {
      return new Promise<void>((resolve) => {
        if (!running()) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', () => (clearTimeout(t), log.end(), resolve()));
        child.kill('SIGTERM');
      });
    },
  };
}

export interface Upstream {
  url: string;
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const server: Server = createHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(`{"ok":true,"path":${JSON.stringify(req.url ?? '')}}`);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

export interface EnvOptions {
  logDir: string;
  /** Extra node flags for the operator (e.g. --cpu-prof). */
  operatorNodeArgs?: string[];
  /** Extra node flags for the webhook. */
  webhookNodeArgs?: string[];
  /**
   * Run the processes from JavaScript built by hack/build-dist.ts into this
   * directory (under ROOT, so that node_modules resolves), with type stripping
   * off, as the image does; default: the .ts sources.
   */
  distDir?: string;
  /** Serve kube-apiserver's /debug/pprof (off in the test harness) so that apiserverCpuProfile() can read it. */
  apiserverProfiling?: boolean;
  /** Exact loopback "host:port" pairs the upstreams of the run listen on (CROSSGATE_LOOPBACK_UPSTREAMS of all three processes). */
  loopbackUpstreams?: string[];
  log: (msg: string) => void;
}

export interface BenchEnv {
  cp: ControlPlane;
  /** Where the processes' logs (and profiles) go. */
  logDir: string;
  binDir: string;
  /** Admin client (system:masters, client certificate). */
  admin: KubeHttp;
  /** A kubeconfig acting as the operator's ServiceAccount (the baseline writes with it). */
  operatorKubeconfig: string;
  operator: Proc;
  webhook: Proc;
  gateway: Proc;
  operatorMetricsUrl: string;
  webhookUrl: string;
  gatewayUrl: string;
  gatewayAdminUrl: string;
  /** The gateway is ready once the operator has written a config (after the first objects exist). */
  waitGatewayReady(): Promise<void>;
  stop(): Promise<void>;
}

let binDirCache: string | undefined;
export function buildControlPlane(): string {
  binDirCache ??= execFileSync(join(ROOT, 'test', 'controlplane', 'build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  return binDirCache;
}

/** What installCrossgate() does, but for every control plane of the run (it memoizes the first). */
async function install(): Promise<void> {
  await kubectl(['apply', '-f', join(ROOT, 'crds'), '-f', join(ROOT, 'config', 'rbac'), '-f', join(ROOT, 'config', 'local')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
}

export async function startEnv(opts: EnvOptions): Promise<BenchEnv> {
  mkdirSync(opts.logDir, { recursive: true });
  const binDir = buildControlPlane();
  const cp = await startControlPlane({ binDir, ...(opts.apiserverProfiling ? { apiserverArgs: ['--profiling=true'] } : {}) });
  const procs: Proc[] = [];
  let admin: KubeHttp | undefined;
  const stop = async () => {
    await kubectl(['delete', 'validatingwebhookconfiguration', 'crossgate-validating-webhook', '--ignore-not-found'], { allowFail: true, timeoutMs: 5000 }).catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    await admin?.close();
    await cp.stop();
  };
  try {
    process.env.KUBECONFIG = cp.kubeconfig;
    process.env.CROSSGATE_KUBECTL = join(binDir, 'kubectl');
    await install();
    admin = new KubeHttp(loadKubeConfig({ file: cp.kubeconfig }));
    const [whPort, opHealth, gwPort, gwAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const dist = opts.distDir;
    const main = (component: string) => (dist ? join(dist, component, 'main.js') : `${component}/main.ts`);
    const jsArgs = dist ? ['--no-experimental-strip-types'] : [];
    // crossgate refuses loopback upstreams unless the platform allows each exact host:port.
    const platform = opts.loopbackUpstreams?.length ? { CROSSGATE_LOOPBACK_UPSTREAMS: opts.loopbackUpstreams.join(',') } : {};
    const webhook = startNode('webhook', main('webhook'), {
      KUBECONFIG: await serviceAccountKubeconfig(WEBHOOK_SA),
      CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
      CROSSGATE_WEBHOOK_ADDR: `127.0.0.1:${whPort}`,
      CROSSGATE_WEBHOOK_URL: `https://127.0.0.1:${whPort}/validate`,
      CROSSGATE_WEBHOOK_REGISTER: 'true',
      ...platform,
    }, opts.logDir, [...jsArgs, ...(opts.webhookNodeArgs ?? [])]);
    procs.push(webhook);
    const operatorKubeconfig = await serviceAccountKubeconfig(OPERATOR_SA);
    const operator = startNode('operator', main('operator'), {
      KUBECONFIG: operatorKubeconfig,
      CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
      CROSSGATE_HEALTH_ADDR: `127.0.0.1:${opHealth}`,
      CROSSGATE_GATEWAY_URL: `http://127.0.0.1:${gwPort}`,
      ...platform,
    }, opts.logDir, [...jsArgs, ...(opts.operatorNodeArgs ?? [])]);
    procs.push(operator);
    const gateway = startNode('gateway', main('gateway'), {
      KUBECONFIG: await serviceAccountKubeconfig(GATEWAY_SA),
      GATEWAY_NAME: 'default',
      GATEWAY_NAMESPACE: OPERATOR_NAMESPACE,
      GATEWAY_LISTEN: `127.0.0.1:${gwPort}`,
      GATEWAY_ADMIN_LISTEN: `127.0.0.1:${gwAdmin}`,
      // One access-log line per request would cost the 2-core box more than the benchmarked work.
      GATEWAY_ACCESS_LOG: 'false',
      ...platform,
    }, opts.logDir, jsArgs);
    procs.push(gateway);
    const leading = operator.waitForLine(/became leader|leader election disabled/, 90_000);
    await waitFor(async () => {
      for (const p of procs) if (!p.running()) throw new Error(`${p.name} exited; see ${p.logFile}`);
      return (await fetch(`http://127.0.0.1:${opHealth}/readyz`).catch(() => undefined))?.status === 200;
    }, { timeoutMs: 90_000, what: 'operator ready' });
    await leading;
    await waitForWebhook();
    return {
      cp, logDir: opts.logDir, binDir, admin, operatorKubeconfig, operator, webhook, gateway,
      operatorMetricsUrl: `http://127.0.0.1:${opHealth}/metrics`,
      webhookUrl: `https://127.0.0.1:${whPort}/validate`,
      gatewayUrl: `http://127.0.0.1:${gwPort}`,
      gatewayAdminUrl: `http://127.0.0.1:${gwAdmin}`,
      waitGatewayReady: async () => {
        await waitFor(async () => {
          if (!gateway.running()) throw new Error(`gateway exited; see ${gateway.logFile}`);
          return (await fetch(`http://127.0.0.1:${gwAdmin}/readyz`).catch(() => undefined))?.status === 200;
        }, { timeoutMs: 90_000, what: 'gateway ready' });
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  async function waitForWebhook(): Promise<void> {
    // Ready once the apiserver calls it: an OrgTrust in a namespace no Organization owns is refused by the webhook.
    const probe = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'OrgTrust', metadata: { name: 'webhook-probe', namespace: 'default' }, spec: { peerDomain: 'webhook-probe' } };
    await waitFor(async () => {
      try {
        await admin!.request('POST', '/apis/crossgate.dev/v1alpha1/namespaces/default/orgtrusts', { body: probe, query: { dryRun: 'All' } });
        return false;
      } catch (err) {
        return /denied the request/.test(String((err as Error).message) + JSON.stringify((err as { status?: unknown }).status ?? ''));
      }
    }, { timeoutMs: 90_000, intervalMs: 500, what: 'the apiserver to call the webhook' });
  }
}

/** Scrapes a Prometheus text endpoint into name{labels} → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(url)).text());
}

/** Prometheus text exposition → name{labels} → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every sample of a metric (all label sets). */
export function metricSum(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux

/** user+system CPU seconds of a process from /proc (NaN when gone). */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** The control plane's processes: those whose command line names its data dir. */
function controlPlanePids(cp: ControlPlane): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a.includes(cp.dataDir))) continue;
      const bin = cmd[0]!.split('/').pop()!;
      if (['etcd', 'kube-apiserver', 'kube-controller-manager'].includes(bin)) out[bin] = Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds so far of every process of the run (this one as "bench"). */
export function cpuSnapshot(env: BenchEnv): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of [env.operator, env.webhook, env.gateway]) if (p.child.pid) out[p.name] = procCpuSeconds(p.child.pid);
  for (const [name, pid] of Object.entries(controlPlanePids(env.cp))) out[name] = procCpuSeconds(pid);
  const u = process.cpuUsage();
  out['bench'] = (u.user + u.system) / 1e6;
  return out;
}

export function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, Math.round(((b[k] ?? NaN) - (a[k] ?? NaN)) * 10) / 10]));
}

/** What the apiserver's own metrics say so far (admin kubeconfig; kubectl get --raw, since KubeHttp expects JSON). */
export interface ApiserverFigures {
  /** Requests served, by verb and resource ("PATCH apikeys/status"), from apiserver_request_total; dry runs left out. */
  requests: Record<string, number>;
  /** Bytes of ConfigMap creates and updates received (apiserver_request_body_size_bytes). */
  configMapBytesWritten: number;
  /** Size of etcd's database as the apiserver last saw it (apiserver_storage_size_bytes). */
  storageBytes: number;
}

export async function apiserverFigures(): Promise<ApiserverFigures> {
  const text = (await kubectl(['get', '--raw', '/metrics'], { timeoutMs: 30_000 })).stdout;
  const out: ApiserverFigures = { requests: {}, configMapBytesWritten: 0, storageBytes: NaN };
  const labelsOf = (line: string) => Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const valueOf = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
  for (const line of text.split('\n')) {
    if (line.startsWith('apiserver_request_total{')) {
      const labels = labelsOf(line);
      if (labels['dry_run']) continue;
      const key = `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
      out.requests[key] = (out.requests[key] ?? 0) + valueOf(line);
    } else if (line.startsWith('apiserver_request_body_size_bytes_sum{')) {
      const labels = labelsOf(line);
      if (labels['resource'] === 'configmaps' && (labels['verb'] === 'create' || labels['verb'] === 'update')) out.configMapBytesWritten += valueOf(line);
    } else if (line.startsWith('apiserver_storage_size_bytes{')) {
      out.storageBytes = Number.isNaN(out.storageBytes) ? valueOf(line) : out.storageBytes + valueOf(line);
    }
  }
  return out;
}

/**
 * A Go CPU profile of kube-apiserver over the next `seconds` (needs EnvOptions.apiserverProfiling),
 * written to `file`; read it with `go tool pprof -top <file>`. Through kubectl: the admin kubeconfig
 * holds the client certificate, and the profile is binary, which KubeHttp does not return.
 */
export function apiserverCpuProfile(seconds: number, file: string): Promise<void> {
  const bin = process.env.CROSSGATE_KUBECTL || 'kubectl';
  return new Promise((resolve, reject) => {
    execFile(bin, ['get', '--raw', `/debug/pprof/profile?seconds=${seconds}`, `--request-timeout=${seconds + 60}s`], { encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`apiserver CPU profile: ${String(stderr).trim() || err.message}`));
      writeFileSync(file, stdout);
      resolve();
    });
  });
}
