// Proves the e2e target is a real Kubernetes control plane (not a fake): the
// release we built, RBAC, the namespace controller and the garbage collector of
// kube-controller-manager, and the harness's own tools (restart, TCP proxy).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ApiException, CoreV1Api, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import {
  apiClient,
  applyYaml,
  canI,
  isLocalControlPlane,
  kubeConfig,
  kubectl,
  kubectlBin,
  localOnly,
  proxyToApiserver,
  restartApiserver,
  startProcess,
  uniqueName,
  waitFor,
} from "./support/index.ts";

const core = apiClient(CoreV1Api);
const ns = uniqueName("e2e-cp");

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return true;
    throw e;
  }
}

/** Opens a watch on ConfigMaps of `ns`; `ended` turns true when the connection goes away. */
async function watchConfigMaps(kubeconfig?: string) {
  const state = { events: [] as string[], ended: false, error: undefined as unknown };
  const abort = await new Watch(kubeConfig(kubeconfig)).watch(
    `/api/v1/namespaces/${ns}/configmaps`,
    {},
    (phase, obj: V1ConfigMap) => state.events.push(`${phase} ${obj.metadata?.name}`),
    (err) => {
      state.ended = true;
      state.error = err;
    },
  );
  after(() => abort.abort());
  return state;
}

before(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
});
after(async () => {
  await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"], { allowFail: true });
});

test("the server is the Kubernetes release the harness built", { skip: localOnly }, async () => {
  const { stdout } = await kubectl(["version", "-o", "json"]);
  const v = JSON.parse(stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
  const want = process.env.CROSSGATE_K8S_VERSION ?? "v1.35.4";
  assert.equal(v.serverVersion.gitVersion, want);
  assert.equal(v.clientVersion.gitVersion, want);
});

test("RBAC: an impersonated stranger is denied, system:masters is allowed", async () => {
  const alice = uniqueName("alice");
  assert.equal(await canI("get", "pods", ns, { as: alice }), false);
  assert.equal(await canI("create", "configmaps", ns, { as: alice, groups: ["some-team"] }), false);
  assert.equal(await canI("get", "pods", ns, { as: alice, groups: ["system:masters"] }), true);
  assert.equal(await canI("get", "pods", ns), true); // the admin kubeconfig itself
  const denied = await kubectl(["get", "pods", "-n", ns], { as: alice, allowFail: true });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
});

test("deleting a namespace completes (kube-controller-manager's namespace controller)", async () => {
  const doomed = uniqueName("e2e-doomed");
  await core.createNamespace({ body: { metadata: { name: doomed } } });
  await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: "content" }, data: { a: "1" } } });
  await kubectl(["delete", "namespace", doomed, "--wait=false"]);
  await waitFor(() => gone(() => core.readNamespace({ name: doomed })), {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: `namespace ${doomed} to be deleted`,
  });
});

test("an owner-referenced ConfigMap is garbage-collected with its owner", async () => {
  const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "owner" } } });
  await core.createNamespacedConfigMap({
    namespace: ns,
    body: {
      metadata: {
        name: "dependent",
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! }],
      },
    },
  });
  await kubectl(["delete", "configmap", "owner", "-n", ns]);
  await waitFor(() => gone(() => core.readNamespacedConfigMap({ namespace: ns, name: "dependent" })), {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: "the dependent ConfigMap to be garbage-collected",
  });
});

describe("harness tools", () => {
  test("startProcess captures a watching kubectl's lines; applyYaml applies text", async () => {
    const watcher = startProcess(kubectlBin(), ["get", "configmaps", "-n", ns, "--watch", "-o", "name"], { name: "kubectl-watch" });
    await applyYaml(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: ${ns}\ndata:\n  k: v\n`);
    assert.equal(await watcher.waitForLine("configmap/applied", { timeoutMs: 20_000 }), "configmap/applied");
    await watcher.stop();
    assert.equal(watcher.running, false);
  });

  test("restartApiserver drops open watches and the apiserver comes back", { skip: localOnly }, async () => {
    assert.ok(isLocalControlPlane);
    const w = await watchConfigMaps();
    await restartApiserver();
    await waitFor(() => w.ended, {
      timeoutMs: 10_000,
      what: "the watch to end after the restart",
    });
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    assert.ok(Array.isArray(list.items));
  });

  test("tcpProxy: dropAll ends watches, blackhole stalls new requests until lifted", async () => {
    const { proxy, kubeconfig } = await proxyToApiserver();
    // Through the proxy, TLS still verifies and the watch sees events.
    const w = await watchConfigMaps(kubeconfig);
    await kubectl(["create", "configmap", "via-proxy", "-n", ns]);
    await waitFor(() => w.events.includes("ADDED via-proxy"), { timeoutMs: 10_000, what: "the watch event via the proxy" });
    proxy.dropAll();
    await waitFor(() => w.ended, {
      timeoutMs: 10_000,
      what: "the proxied watch to end after dropAll",
    });

    proxy.blackhole(true);
    const stalled = await kubectl(["get", "--raw", `/api/v1/namespaces/${ns}`, "--request-timeout=2s"], { kubeconfig, allowFail: true });
    assert.notEqual(stalled.code, 0, "a request through the blackhole must not get an answer");
    proxy.blackhole(false);
    const ok = await kubectl(["get", "ns", ns, "-o", "name", "--request-timeout=10s"], { kubeconfig });
    assert.equal(ok.stdout.trim(), `namespace/${ns}`);
  });
});
