// kubectl as users run it, against the cluster named by KUBECONFIG, with
// impersonation (--as / --as-group) for acting as other users and groups.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { waitFor } from "./wait.ts";

export interface KubectlOptions {
  /** Impersonate this user (--as). */
  as?: string;
  /** Impersonate these groups (--as-group); needs `as`. */
  groups?: string[];
  /** Written to kubectl's stdin (e.g. for `apply -f -`). */
  stdin?: string;
  /** Resolve instead of throwing when kubectl exits non-zero. */
  allowFail?: boolean;
  /** Kill kubectl after this long. Default 60 s. */
  timeoutMs?: number;
  /** Use this kubeconfig instead of $KUBECONFIG. */
  kubeconfig?: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The kubectl binary: $CROSSGATE_KUBECTL (set by test/run.ts) or `kubectl` from PATH. */
export function kubectlBin(): string {
  return process.env.CROSSGATE_KUBECTL || "kubectl";
}

function impersonation(opts: KubectlOptions): string[] {
  const groups = opts.groups ?? [];
  if (groups.length > 0 && !opts.as) throw new Error("kubectl: impersonating groups needs a user (`as`) too");
  return [...(opts.as ? [`--as=${opts.as}`] : []), ...groups.map((g) => `--as-group=${g}`)];
}

export function kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const full = [...impersonation(opts), ...args];
  const env = { ...process.env };
  if (opts.kubeconfig) env.KUBECONFIG = opts.kubeconfig;
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin(), full, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`kubectl ${full.join(" ")}: ${e.message} (binary: ${kubectlBin()})`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !opts.allowFail) {
        reject(new Error(`kubectl ${full.join(" ")} exited ${result.code}:\n${stderr.trim() || stdout.trim()}`));
      } else resolve(result);
    });
    child.stdin.on("error", () => {}); // kubectl may exit before reading stdin
    child.stdin.end(opts.stdin ?? "");
  });
}

/** `kubectl auth can-i VERB RESOURCE [-n NAMESPACE]`, as the given user and groups. */
export async function canI(
  verb: string,
  resource: string,
  namespace?: string,
  opts: Pick<KubectlOptions, "as" | "groups" | "kubeconfig"> = {},
): Promise<boolean> {
  const args = ["auth", "can-i", verb, resource, ...(namespace ? ["-n", namespace] : [])];
  const r = await kubectl(args, { ...opts, allowFail: true });
  const answer = r.stdout.trim().split("\n").pop();
  if (answer === "yes") return true;
  if (answer === "no") return false;
  throw new Error(`kubectl ${args.join(" ")} answered neither yes nor no (exit ${r.code}): ${r.stderr.trim()}`);
}

export interface ApplyOptions extends KubectlOptions {
  namespace?: string;
  serverSide?: boolean;
}

/** `kubectl apply` of YAML text, or of a file when given an existing path. Throws on failure unless allowFail. */
export function applyYaml(yamlOrFile: string, opts: ApplyOptions = {}): Promise<KubectlResult> {
  const isFile = !yamlOrFile.includes("\n") && existsSync(yamlOrFile);
  const args = [
    "apply",
    ...(opts.serverSide ? ["--server-side"] : []),
    ...(opts.namespace ? ["-n", opts.namespace] : []),
    "-f",
    isFile ? yamlOrFile : "-",
  ];
  return kubectl(args, isFile ? opts : { ...opts, stdin: yamlOrFile });
}

/**
 * Applies until admission agrees, as a GitOps tool retries: the webhook judges from an informer
 * cache that may trail the objects applied just before, and fails closed until it serves. On
 * timeout the error carries kubectl's last refusal.
 */
export async function applyUntilAdmitted(file: string, opts: { what: string; timeoutMs?: number }): Promise<void> {
  let refusal = "";
  try {
    await waitFor(async () => {
      const r = await applyYaml(file, { allowFail: true });
      refusal = r.stderr.trim();
      return r.code === 0;
    }, { timeoutMs: opts.timeoutMs, intervalMs: 500, what: opts.what });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; kubectl said: ${refusal}`);
  }
}
