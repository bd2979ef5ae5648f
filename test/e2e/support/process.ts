// Child processes for e2e tests (the operator, the webhook, the gateway): output
// captured line by line to memory and to a log file, killed when the test ends.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "./wait.ts";

export interface StartProcessOptions {
  env?: NodeJS.ProcessEnv;
  /** Name for the log file and messages. Default: basename of cmd. */
  name?: string;
  cwd?: string;
  /** Don't register a node:test `after` hook; call stop() yourself. */
  noAutoStop?: boolean;
}

export interface ManagedProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** stdout and stderr lines in arrival order. */
  lines: string[];
  stdout: string[];
  stderr: string[];
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Waits for a line matching `match` (already seen lines count). Returns it. */
  waitForLine(match: RegExp | string | ((line: string) => boolean), opts?: { timeoutMs?: number }): Promise<string>;
  /** Last n lines, for error messages. */
  tail(n?: number): string;
  /** SIGTERM (or the given signal), then SIGKILL after timeoutMs (default 5 s). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** Directory for process logs: $CROSSGATE_E2E_LOGDIR (set by test/run.ts) or a temp dir. */
export function logDir(): string {
  const dir = process.env.CROSSGATE_E2E_LOGDIR || join(tmpdir(), "crossgate-e2e-logs");
  mkdirSync(dir, { recursive: true });
  return dir;
}

const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

export function startProcess(cmd: string, args: string[], opts: StartProcessOptions = {}): ManagedProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of running) if (p.running) p.proc.kill("SIGKILL");
    });
  }
  const name = opts.name ?? cmd.split("/").pop() ?? cmd;
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logFile = join(logDir(), `${name.replace(/[^A-Za-z0-9._-]+/g, "_")}-${proc.pid ?? "nopid"}.log`);
  const log: WriteStream = createWriteStream(logFile, { flags: "a" });
  const lines: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => resolve({ code, signal }));
    proc.once("error", (e) => {
      lines.push(`[startProcess] ${e.message}`);
      resolve({ code: null, signal: null });
    });
  });
  let readersOpen = 2;
  const closed = new Promise<void>((resolve) => {
    for (const [stream, sink] of [
      [proc.stdout!, stdout],
      [proc.stderr!, stderr],
    ] as const) {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on("line", (line) => {
        lines.push(line);
        sink.push(line);
        log.write(line + "\n");
      });
      rl.on("close", () => {
        if (--readersOpen === 0) resolve();
      });
    }
  });
  void Promise.all([exited, closed]).then(() => log.end());

  const mp: ManagedProcess = {
    name,
    proc,
    pid: proc.pid ?? -1,
    lines,
    stdout,
    stderr,
    logFile,
    exited,
    get running() {
      return proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined;
    },
    async waitForLine(match, o = {}) {
      const test =
        typeof match === "function" ? match : typeof match === "string" ? (l: string) => l.includes(match) : (l: string) => match.test(l);
      let from = 0;
      return waitFor(
        () => {
          for (; from < lines.length; from++) if (test(lines[from]!)) return lines[from];
          if (!mp.running) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}); last lines:\n${mp.tail(20)}`);
          return undefined;
        },
        { timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 50, what: `a line of ${name} matching ${String(match)} (log: ${logFile})` },
      );
    },
    tail(n = 40) {
      return lines.slice(-n).join("\n");
    },
    async stop(signal = "SIGTERM", timeoutMs = 5000) {
      if (mp.running) {
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      // A grandchild may still hold the pipes open: don't wait for it forever.
      await Promise.race([closed, sleep(2000)]);
      running.delete(mp);
    },
  };
  running.add(mp);
  if (!opts.noAutoStop) after(() => mp.stop());
  return mp;
}
