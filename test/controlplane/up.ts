// Starts the local control plane and keeps it up until Ctrl-C, for working on
// e2e tests or the operator by hand:
//   node test/controlplane/up.ts        (prints the KUBECONFIG line to use)
import { spawnSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "./controlplane.ts";

const here = dirname(fileURLToPath(import.meta.url));
const build = spawnSync(join(here, "build.sh"), [], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (build.status !== 0) process.exit(build.status ?? 1);
const binDir = build.stdout.trim().split("\n").pop()!;
const cp = await startControlPlane({ binDir });
// A stable path, so a shell can keep the same KUBECONFIG across restarts of this script.
const stable = join(dirname(cp.dataDir), "crossgate-controlplane.kubeconfig");
copyFileSync(cp.kubeconfig, stable);
process.on("exit", () => rmSync(stable, { force: true }));
process.stdout.write(
  `\nexport KUBECONFIG=${stable} CROSSGATE_KUBECTL=${join(binDir, "kubectl")}\n` +
    `# logs: ${join(cp.dataDir, "logs")}\n# Ctrl-C stops etcd, kube-apiserver and kube-controller-manager\n`,
);
setInterval(() => {}, 1 << 30); // the control plane module stops everything on SIGINT/SIGTERM
