// Starts a real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and
// kube-controller-manager, the binaries test/controlplane/build.sh produces.
// Like controller-runtime's envtest, plus kube-controller-manager so garbage
// collection and namespace deletion work. Nothing here is a fake.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify as toYaml } from "yaml";
import { generatePki } from "./pki.ts";

export interface ControlPlaneOptions {
  /** Directory holding etcd, kube-apiserver, kube-controller-manager and kubectl. */
  binDir: string;
  /** Progress messages; default: stderr with a [controlplane] prefix. */
  log?: (msg: string) => void;
  /** Keep the data dir (certs, etcd data, component logs) after stop(). Default: env CROSSGATE_KEEP_CONTROLPLANE=1. */
  keepDataDir?: boolean;
  /** How long each component may take to become ready. Default 120 s. */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended last (so they win). Default: env CROSSGATE_APISERVER_ARGS split on spaces. */
  apiserverArgs?: string[];
}

export interface ControlPlane {
  /** Path of an admin (system:masters) kubeconfig with embedded credentials. */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  binDir: string;
  /** Temp dir with pki/, etcd/, logs/ and the kubeconfigs; removed on stop() unless kept. */
  dataDir: string;
  /** Log file of each component. */
  logs: { etcd: string; apiserver: string; controllerManager: string };
  /** Stops every component (SIGTERM, then SIGKILL after a timeout) and removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Stops and starts kube-apiserver only (same port, same etcd): every watch connection drops. */
  restartApiserver(): Promise<void>;
}

const SERVICE_CIDR = "10.0.0.0/24";
const SERVICE_IP = "10.0.0.1"; // first address of SERVICE_CIDR: the `kubernetes` service
const STOP_TIMEOUT_MS = 10_000;

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

class Component {
  readonly name: string;
  readonly bin: string;
  readonly args: string[];
  readonly logFile: string;
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(name: string, bin: string, args: string[], logFile: string) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.logFile = logFile;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    const fd = openSync(this.logFile, "a");
    const env = { ...process.env };
    delete env.KUBECONFIG;
    try {
      const proc = spawn(this.bin, this.args, { stdio: ["ignore", fd, fd], env });
      this.proc = proc;
      this.exited = new Promise((resolve) => {
        proc.once("exit", () => resolve());
        proc.once("error", () => resolve());
      });
    } finally {
      closeSync(fd);
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return this.exited;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  killSync(): void {
    if (this.running) this.proc?.kill("SIGKILL");
  }

  tail(lines = 40): string {
    if (!existsSync(this.logFile)) return "(no log)";
    return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  }

  describeExit(): string {
    const p = this.proc;
    return p?.exitCode !== null ? `exit code ${p?.exitCode}` : `signal ${p?.signalCode}`;
  }
}

/** Ports chosen by the kernel, all held open together so they are distinct, then released. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", resolve);
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function httpsGet(
  url: string,
  tls: Partial<Tls> & { insecure?: boolean },
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: "GET",
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecure,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    req.on("error", reject);
    req.end();
  });
}

function kubeconfigYaml(server: string, ca: string, user: string, cert: string, key: string): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return toYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "crossgate-e2e", cluster: { server, "certificate-authority-data": b64(ca) } }],
    users: [{ name: user, user: { "client-certificate-data": b64(cert), "client-key-data": b64(key) } }],
    contexts: [{ name: "crossgate-e2e", context: { cluster: "crossgate-e2e", user } }],
    "current-context": "crossgate-e2e",
    preferences: {},
  });
}

// ---- process-wide safety net: no child outlives this process ----

const live = new Set<ControlPlaneImpl>();
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let handlersInstalled = false;

function onExit(): void {
  for (const cp of live) cp.killSync();
}
function onFatal(): void {
  onExit();
}
const signalHandlers = Object.fromEntries(
  Object.entries(SIGNALS).map(([sig, num]) => [
    sig,
    () => {
      // Another listener (e.g. test/run.ts) decides when to exit; alone, we exit like the default would.
      const alone = process.listenerCount(sig) === 1;
      void stopAllControlPlanes().finally(() => {
        if (alone) process.exit(128 + num);
      });
    },
  ]),
) as Record<keyof typeof SIGNALS, () => void>;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", onExit);
  process.on("uncaughtExceptionMonitor", onFatal);
  for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.on(sig, signalHandlers[sig]);
}

function removeHandlers(): void {
  if (!handlersInstalled || live.size > 0) return;
  handlersInstalled = false;
  process.off("exit", onExit);
  process.off("uncaughtExceptionMonitor", onFatal);
  for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.off(sig, signalHandlers[sig]);
}

/** Stops every control plane this process started. */
export async function stopAllControlPlanes(): Promise<void> {
  await Promise.all([...live].map((cp) => cp.stop()));
}

class ControlPlaneImpl implements ControlPlane {
  kubeconfig = "";
  server = "";
  binDir: string;
  dataDir: string;
  logs: ControlPlane["logs"];
  private readonly log: (msg: string) => void;
  private readonly keep: boolean;
  private readonly readyTimeoutMs: number;
  private readonly apiserverArgs: string[];
  private etcd!: Component;
  private apiserver!: Component;
  private kcm!: Component;
  private adminTls!: Tls;
  private kcmPort = 0;
  private stopping: Promise<void> | undefined;

  constructor(opts: ControlPlaneOptions) {
    this.binDir = opts.binDir;
    this.log = opts.log ?? ((m) => process.stderr.write(`[controlplane] ${m}\n`));
    this.keep = opts.keepDataDir ?? process.env.CROSSGATE_KEEP_CONTROLPLANE === "1";
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
    this.apiserverArgs = opts.apiserverArgs ?? (process.env.CROSSGATE_APISERVER_ARGS ?? "").split(/\s+/).filter(Boolean);
    this.dataDir = mkdtempSync(join(tmpdir(), "crossgate-controlplane-"));
    const logDir = join(this.dataDir, "logs");
    this.logs = {
      etcd: join(logDir, "etcd.log"),
      apiserver: join(logDir, "kube-apiserver.log"),
      controllerManager: join(logDir, "kube-controller-manager.log"),
    };
  }

  async start(): Promise<void> {
    const d = this.dataDir;
    for (const sub of ["pki", "etcd", "logs", "apiserver", "controller-manager"]) {
      mkdirSync(join(d, sub), { recursive: true, mode: 0o700 });
    }
    for (const b of ["etcd", "kube-apiserver", "kube-controller-manager"]) {
      if (!existsSync(join(this.binDir, b))) throw new Error(`${b} not found in ${this.binDir}: run test/controlplane/build.sh`);
    }

    const pki = await generatePki({ serviceIP: SERVICE_IP });
    const p = (f: string) => join(d, "pki", f);
    const files: Record<string, string> = {
      "ca.crt": pki.ca.cert,
      "ca.key": pki.ca.key,
      "apiserver.crt": pki.apiserver.cert,
      "apiserver.key": pki.apiserver.key,
      "sa.key": pki.serviceAccount.privateKey,
      "sa.pub": pki.serviceAccount.publicKey,
    };
    for (const [f, content] of Object.entries(files)) writeFileSync(p(f), content, { mode: 0o600 });
    this.adminTls = { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key };

    const [etcdClient, etcdPeer, apiPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
    this.kcmPort = kcmPort;
    this.server = `https://127.0.0.1:${apiPort}`;
    this.kubeconfig = join(d, "admin.kubeconfig");
    writeFileSync(this.kubeconfig, kubeconfigYaml(this.server, pki.ca.cert, "crossgate-admin", pki.admin.cert, pki.admin.key), {
      mode: 0o600,
    });
    const kcmKubeconfig = join(d, "controller-manager.kubeconfig");
    writeFileSync(
      kcmKubeconfig,
      kubeconfigYaml(this.server, pki.ca.cert, "system:kube-controller-manager", pki.controllerManager.cert, pki.controllerManager.key),
      { mode: 0o600 },
    );

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    this.etcd = new Component(
      "etcd",
      join(this.binDir, "etcd"),
      [
        "--name=crossgate",
        `--data-dir=${join(d, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=crossgate=${peerUrl}`,
        "--initial-cluster-state=new",
        // Test data is disposable: skip fsync, the single biggest cost of etcd on a VM disk.
        "--unsafe-no-fsync=true",
        // etcd's 2 GiB default filled at ~40,000 keys in the 50,000-key bench (every gateway-config
        // shard write keeps its old revision until the apiserver's next compaction, 5 min later).
        "--quota-backend-bytes=8589934592",
      ],
      this.logs.etcd,
    );
    this.apiserver = new Component(
      "kube-apiserver",
      join(this.binDir, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(d, "apiserver")}`,
        `--tls-cert-file=${p("apiserver.crt")}`,
        `--tls-private-key-file=${p("apiserver.key")}`,
        `--client-ca-file=${p("ca.crt")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${p("sa.pub")}`,
        `--service-account-signing-key-file=${p("sa.key")}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // All of these are on by default in v1.35; naming them keeps that true if defaults move.
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,ResourceQuota",
        // No node can reach 127.0.0.1 and Endpoints may not hold a loopback address: don't publish any.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        // Without it, SIGTERM waits out kube-controller-manager's open watches and we
        // end up killing the apiserver after STOP_TIMEOUT_MS; with it, it exits in ~1 s.
        "--shutdown-watch-termination-grace-period=1s",
        ...this.apiserverArgs,
      ],
      this.logs.apiserver,
    );
    this.kcm = new Component(
      "kube-controller-manager",
      join(this.binDir, "kube-controller-manager"),
      [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(d, "controller-manager")}`,
        "--leader-elect=false",
        // As kubeadm: each controller acts as its own service account with its bootstrap RBAC role.
        "--use-service-account-credentials=true",
        `--root-ca-file=${p("ca.crt")}`,
        `--service-account-private-key-file=${p("sa.key")}`,
        `--cluster-signing-cert-file=${p("ca.crt")}`,
        `--cluster-signing-key-file=${p("ca.key")}`,
        // The default set (includes garbagecollector, namespace, serviceaccount, serviceaccount-token).
        "--controllers=*",
        "--profiling=false",
      ],
      this.logs.controllerManager,
    );

    live.add(this);
    installHandlers();

    const t0 = Date.now();
    this.etcd.start();
    await this.waitFor(this.etcd, "etcd /health", async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok && (await res.text()).includes('"health":"true"');
    });
    this.log(`etcd ready on ${etcdUrl} (${Date.now() - t0} ms)`);

    this.apiserver.start();
    await this.waitApiserverReady();
    this.checkAdmissionPlugins();
    this.log(`kube-apiserver ready on ${this.server} (${Date.now() - t0} ms)`);

    this.kcm.start();
    await this.waitFor(this.kcm, "kube-controller-manager /healthz", async () => {
      const res = await httpsGet(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true }, 2000);
      return res.status === 200;
    });
    // The RBAC bootstrap, the default namespace, and the serviceaccount controller's
    // work (the default ServiceAccount) are what tests take for granted.
    for (const [what, path] of [
      ["namespace default", "/api/v1/namespaces/default"],
      ["clusterrole admin (RBAC bootstrap)", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin"],
      ["serviceaccount default/default (serviceaccount controller)", "/api/v1/namespaces/default/serviceaccounts/default"],
    ] as const) {
      await this.waitFor(this.kcm, what, async () => (await httpsGet(this.server + path, this.adminTls, 2000)).status === 200);
    }
    this.log(`kube-controller-manager ready; control plane up in ${Date.now() - t0} ms (data: ${d})`);
  }

  private async waitApiserverReady(): Promise<void> {
    await this.waitFor(this.apiserver, "kube-apiserver /readyz", async () => {
      const res = await httpsGet(`${this.server}/readyz`, this.adminTls, 2000);
      return res.status === 200;
    });
  }

  /** The apiserver logs the admission chain it loaded; insist the webhook plugins are in it. */
  private checkAdmissionPlugins(): void {
    const log = readFileSync(this.logs.apiserver, "utf8");
    for (const [kind, plugin] of [
      ["mutating", "MutatingAdmissionWebhook"],
      ["validating", "ValidatingAdmissionWebhook"],
    ] as const) {
      const line = log.split("\n").find((l) => l.includes(`${kind} admission controller(s) successfully`));
      if (line === undefined) this.log(`warning: kube-apiserver did not log its ${kind} admission chain`);
      else if (!line.includes(plugin)) throw new Error(`kube-apiserver started without ${plugin}: ${line}`);
    }
  }

  private async waitFor(c: Component, what: string, probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    let lastError = "";
    for (;;) {
      if (this.stopping) throw new Error(`control plane stopped while waiting for ${what}`);
      for (const comp of [this.etcd, this.apiserver, this.kcm]) {
        if (comp.proc && !comp.running) {
          const msg = `${comp.name} exited (${comp.describeExit()}) while waiting for ${what}; last lines of ${comp.logFile}:\n${comp.tail()}`;
          this.log(msg);
          throw new Error(msg);
        }
      }
      try {
        if (await probe()) return;
        lastError = "not ready";
      } catch (e) {
        lastError = (e as Error).message;
      }
      if (Date.now() > deadline) {
        const msg = `timed out after ${this.readyTimeoutMs} ms waiting for ${what} (${lastError}); last lines of ${c.logFile}:\n${c.tail()}`;
        this.log(msg);
        throw new Error(msg);
      }
      await sleep(200);
    }
  }

  async restartApiserver(): Promise<void> {
    if (this.stopping) throw new Error("control plane is stopped");
    const t0 = Date.now();
    await this.apiserver.stop();
    this.apiserver.start();
    await this.waitApiserverReady();
    this.log(`kube-apiserver restarted (${Date.now() - t0} ms)`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Clients first, storage last.
      await this.kcm?.stop();
      await this.apiserver?.stop();
      await this.etcd?.stop();
      live.delete(this);
      removeHandlers();
      if (this.keep) this.log(`kept data dir ${this.dataDir}`);
      else rmSync(this.dataDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  /** Last resort from a synchronous 'exit' handler. */
  killSync(): void {
    for (const c of [this.kcm, this.apiserver, this.etcd]) c?.killSync();
    if (!this.keep) {
      try {
        rmSync(this.dataDir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  }
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  // Ports are picked free, then released for the components to bind: another
  // process may take one in between. Then start again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    const cp = new ControlPlaneImpl(opts);
    try {
      await cp.start();
      return cp;
    } catch (e) {
      await cp.stop();
      if (attempt < 3 && /address already in use/.test((e as Error).message)) {
        (opts.log ?? ((m: string) => process.stderr.write(`[controlplane] ${m}\n`)))(`a port was taken meanwhile; starting again (attempt ${attempt + 1})`);
        continue;
      }
      throw e;
    }
  }
}
