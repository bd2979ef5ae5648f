// The one test entry point (`npm test` = `node test/run.ts all`, what `make test`
// and .ci/run call). Modes: all | unit | e2e.
//
// unit: node --test test/unit/**/*.test.ts
// e2e:  against $KUBECONFIG as is when set (any cluster, e.g. kind); otherwise
//       builds or reuses the control plane (test/controlplane/build.sh), starts
//       it on 127.0.0.1, runs test/e2e/**/*.test.ts one file at a time, stops it.
//
// `node test/run.ts unit|e2e FILE...` runs only the given files.
//
// The last line printed is `N passed, N failed` over both; the exit code is
// non-zero when anything failed. Ctrl-C stops the tests and the control plane.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, globSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startControlPlane, type ControlPlane } from "./controlplane/controlplane.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MODES = ["all", "unit", "e2e"] as const;
type Mode = (typeof MODES)[number];
const mode = (process.argv[2] ?? "all") as Mode;
// Optional test files after the mode, e.g. `node test/run.ts e2e test/e2e/organization.test.ts`.
const only = process.argv.slice(3);
if (!MODES.includes(mode) || (only.length > 0 && mode === "all")) {
  console.error(`usage: node test/run.ts [${MODES.join("|")}]   or   node test/run.ts unit|e2e FILE...`);
  process.exit(2);
}
const E2E_TEST_TIMEOUT_MS = Number(process.env.CROSSGATE_E2E_TEST_TIMEOUT_MS ?? 300_000);
const UNIT_TEST_TIMEOUT_MS = Number(process.env.CROSSGATE_UNIT_TEST_TIMEOUT_MS ?? 60_000);
const UNIT_SHARDS = Number(process.env.CROSSGATE_UNIT_SHARDS ?? Math.max(3, availableParallelism() + 1));

const say = (msg: string): void => void process.stdout.write(`[test] ${msg}\n`);
const totals = { passed: 0, failed: 0, skipped: 0 };
const runDir = mkdtempSync(join(tmpdir(), "crossgate-test-"));
/** The node --test processes running now (the unit suite runs several shards at once). */
const tests = new Set<ChildProcess>();
let testsExited: Promise<unknown> = Promise.resolve();
let cp: ControlPlane | undefined;
let control: Server | undefined;
let interrupted = false;

// ---- stopping everything, whatever happens ----

function signalTests(sig: NodeJS.Signals): void {
  // The runner leads its own process group: this reaches every test file and
  // every process a test started (operators, proxies' clients, kubectl).
  for (const t of tests) {
    if (t.pid === undefined || t.exitCode !== null || t.signalCode !== null) continue;
    try {
      process.kill(-t.pid, sig);
    } catch {
      // already gone
    }
  }
}

async function shutdown(): Promise<void> {
  // build.sh moves a binary into place only once it is complete: killing it leaves no broken cache.
  if (build?.pid !== undefined) {
    try {
      process.kill(-build.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  signalTests("SIGTERM");
  const kill = setTimeout(() => signalTests("SIGKILL"), 5000);
  await testsExited;
  clearTimeout(kill);
  await new Promise<void>((resolve) => (control ? control.close(() => resolve()) : resolve()));
  control = undefined;
  await cp?.stop();
  cp = undefined;
}

function summary(): void {
  if (totals.skipped > 0) say(`${totals.skipped} skipped`);
  process.stdout.write(`${totals.passed} passed, ${totals.failed} failed\n`);
}

for (const [sig, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${sig}: stopping the tests and the control plane`);
    void shutdown().finally(() => {
      totals.failed += 1; // an interrupted run did not pass
      if (readdirSync(runDir).length === 0) rmSync(runDir, { recursive: true, force: true });
      else say(`interrupted; logs kept in ${runDir}`);
      summary();
      process.exit(code);
    });
  });
}
process.on("exit", () => signalTests("SIGKILL"));

// ---- running node --test and counting ----

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function parseTap(file: string): Counts | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const n = (key: string) => {
    const m = text.match(new RegExp(`^# ${key} (\\d+)$`, "m"));
    return m ? Number(m[1]) : undefined;
  };
  const pass = n("pass");
  const fail = n("fail");
  if (pass === undefined || fail === undefined) return undefined;
  return { passed: pass, failed: fail + (n("cancelled") ?? 0), skipped: (n("skipped") ?? 0) + (n("todo") ?? 0) };
}

async function nodeTest(label: string, files: string[], args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const tap = join(runDir, `${label}.tap`);
  say(`${label}: ${files.length} file(s)`);
  const child = spawn(
    process.execPath,
    [
      "--test",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tap}`,
      ...args,
      ...files,
    ],
    { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"], detached: true },
  );
  tests.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  testsExited = Promise.all([testsExited, exited]);
  await exited;
  tests.delete(child);
  const code = child.exitCode ?? 1;
  if (interrupted) return new Promise(() => {}); // the signal handler finishes the run
  const counts = parseTap(tap) ?? { passed: 0, failed: 0, skipped: 0 };
  if (code !== 0 && counts.failed === 0) {
    say(`${label}: node --test exited ${code} without a failing test; counting it as one failure`);
    counts.failed = 1;
  }
  say(`${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
}

function find(dir: string): string[] {
  if (only.length > 0) return only;
  return globSync(`${dir}/**/*.test.ts`, { cwd: ROOT }).sort();
}

// ---- the control plane ----

let build: ChildProcess | undefined;

async function buildControlPlane(): Promise<string> {
  say("control plane: test/controlplane/build.sh (reuses the cache when warm)");
  // Its own process group, so an interrupt can end go build with it.
  const child = spawn(join(ROOT, "test/controlplane/build.sh"), [], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], detached: true });
  build = child;
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await new Promise<number | string>((resolve) => {
    child.once("error", (e) => resolve(e.message));
    child.once("close", (c, sig) => resolve(c ?? sig ?? "?"));
  });
  build = undefined;
  if (interrupted) return new Promise(() => {});
  if (code !== 0) throw new Error(`test/controlplane/build.sh failed (${code})`);
  const bin = out.trim().split("\n").pop() ?? "";
  if (!existsSync(join(bin, "kube-apiserver"))) throw new Error(`build.sh printed ${JSON.stringify(bin)}, which has no kube-apiserver`);
  return bin;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

async function serveControl(plane: ControlPlane): Promise<string> {
  let queue: Promise<unknown> = Promise.resolve();
  control = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/restart-apiserver") {
      const run = queue.then(() => plane.restartApiserver());
      queue = run.catch(() => {});
      run.then(
        () => res.writeHead(200).end("ok\n"),
        (e: Error) => res.writeHead(500).end(`${e.message}\n`),
      );
    } else if (req.method === "GET" && req.url === "/healthz") {
      res.writeHead(200).end("ok\n");
    } else {
      res.writeHead(404).end("POST /restart-apiserver\n");
    }
  });
  const server = control;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function e2e(): Promise<void> {
  const files = find("test/e2e");
  if (files.length === 0) {
    say("e2e: no test files");
    return;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, CROSSGATE_E2E_LOGDIR: join(runDir, "e2e-logs") };
  delete env.CROSSGATE_E2E_LOCAL;
  delete env.CROSSGATE_CONTROLPLANE_URL;
  if (process.env.KUBECONFIG) {
    say(`e2e: against KUBECONFIG=${process.env.KUBECONFIG} as is`);
    if (!env.CROSSGATE_KUBECTL && !onPath("kubectl")) env.CROSSGATE_KUBECTL = join(await buildControlPlane(), "kubectl");
  } else {
    const binDir = await buildControlPlane();
    cp = await startControlPlane({ binDir, log: (m) => say(`control plane: ${m}`) });
    Object.assign(env, {
      KUBECONFIG: cp.kubeconfig,
      CROSSGATE_KUBECTL: join(binDir, "kubectl"),
      CROSSGATE_E2E_LOCAL: "1",
      CROSSGATE_CONTROLPLANE_URL: await serveControl(cp),
    });
  }
  say(`e2e: kubectl is ${env.CROSSGATE_KUBECTL ?? "kubectl from PATH"}; process logs in ${env.CROSSGATE_E2E_LOGDIR}`);
  await nodeTest("e2e", files, ["--test-concurrency=1", `--test-timeout=${E2E_TEST_TIMEOUT_MS}`], env);
}

async function main(): Promise<void> {
  if (mode === "all" || mode === "unit") {
    const files = find("test/unit");
    if (files.length === 0) say("unit: no test files");
    // A process per file spent more CPU starting Node and loading modules than the tests themselves
    // (115 s of CPU for ~40 s of tests on 2 cores): each shard loads every module once
    // (--test-isolation=none), and the shards overlap one another's waits on timers and sockets.
    else {
      const shards = Array.from({ length: Math.min(UNIT_SHARDS, files.length) }, (_, i) => files.filter((_, j) => j % UNIT_SHARDS === i));
      await Promise.all(shards.map((part, i) => nodeTest(shards.length > 1 ? `unit-${i + 1}` : "unit", part, ["--test-isolation=none", `--test-timeout=${UNIT_TEST_TIMEOUT_MS}`], { ...process.env })));
    }
  }
  if (mode === "all" || mode === "e2e") {
    try {
      await e2e();
    } catch (e) {
      if (interrupted) return new Promise(() => {});
      totals.failed += 1;
      say(`e2e: could not run: ${(e as Error).message}`);
    }
  }
}

await main();
await shutdown();
if (totals.failed === 0) rmSync(runDir, { recursive: true, force: true });
else say(`logs kept in ${runDir}`);
summary();
process.exitCode = totals.failed > 0 ? 1 : 0;
