// @kubernetes/client-node 2.x clients for the cluster named by KUBECONFIG.
import { KubeConfig, KubernetesObjectApi, type ApiConstructor, type ApiType } from "@kubernetes/client-node";

/** A KubeConfig loaded the standard way (honours $KUBECONFIG), or from the given file. */
export function kubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

/** e.g. `apiClient(CoreV1Api)`, `apiClient(CustomObjectsApi)`. */
export function apiClient<T extends ApiType>(api: ApiConstructor<T>, kc: KubeConfig = kubeConfig()): T {
  return kc.makeApiClient(api);
}

/** Generic create/read/patch/delete of any object by its apiVersion/kind. */
export function objectApi(kc: KubeConfig = kubeConfig()): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kc);
}

/** host and port of the current context's API server. */
export function apiserverAddress(kc: KubeConfig = kubeConfig()): { host: string; port: number; server: string } {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const u = new URL(cluster.server);
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port, server: cluster.server };
}
