// Powers that only the harness's own control plane has (test/run.ts without
// KUBECONFIG). Tests that use them skip elsewhere:
//   test("...", { skip: localOnly }, async () => { await restartApiserver(); ... })

/** True when the suite runs against the control plane test/run.ts started. */
export const isLocalControlPlane = process.env.CROSSGATE_E2E_LOCAL === "1";

/** For node:test's `skip` option: false locally, a reason elsewhere. */
export const localOnly: false | string = isLocalControlPlane ? false : "needs the local control plane (CROSSGATE_E2E_LOCAL=1)";

async function control(path: string): Promise<string> {
  const base = process.env.CROSSGATE_CONTROLPLANE_URL;
  if (!base) throw new Error(`${path} needs the local control plane: CROSSGATE_CONTROLPLANE_URL is not set (run through test/run.ts)`);
  const res = await fetch(new URL(path, base), { method: "POST", signal: AbortSignal.timeout(120_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body}`);
  return body;
}

/**
 * Stops and starts kube-apiserver (same port, same etcd): every open connection
 * and watch drops, and watches resumed from an old resourceVersion may get 410 Gone.
 * Resolves when the apiserver is ready again.
 */
export async function restartApiserver(): Promise<void> {
  await control("/restart-apiserver");
}
