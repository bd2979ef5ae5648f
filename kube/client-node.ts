// What still needs @kubernetes/client-node: loading a KubeConfig object (for
// tools and tests that want client-node's full kubeconfig support) and
// sharing one connection pool among its clients. The operator, webhook and
// gateway do not import this module (kube-connection.ts reads their
// configuration without client-node, and loads it only for exotic kubeconfigs).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';

/** Where the service-account token lives in a pod; its presence means "in cluster". */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Load a KubeConfig: an explicit file, else $KUBECONFIG, else the in-cluster
 * service account, else ~/.kube/config (client-node's loadFromDefault order).
 */
export function loadKubeConfig(opts: { file?: string; context?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.file) {
    kc.loadFromFile(opts.file);
  } else if (!process.env.KUBECONFIG && process.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured (set KUBECONFIG or run in a pod)');
  return shareConnections(kc);
}

/**
 * One connection pool for every client of a KubeConfig. client-node 2.0.1
 * builds a new undici Agent in applySecurityAuthentication() for each request
 * of a typed client (createDispatcher() is not cached, unlike createAgent()),
 * so every status patch, Event and lease renewal opened a new TLS connection
 * (a SecureContext and a handshake on both sides) and left an idle pool
 * behind until GC: at 10,000 ApiKeys that was ~10% of the operator's CPU and
 * most of its resident memory. The first dispatcher is kept and handed to
 * every later request instead of building one (building an Agent only to close
 * it again still cost ~1.3 ms of CPU per ApiKey in bulk: closing allocates an
 * error with a stack trace). KubeHttp adopts the same one for its requests.
 * Credentials in headers (tokens, exec plugins) are still applied per request;
 * a rotated client certificate file is picked up on restart.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const marked = kc as KubeConfig & { [SHARED]?: true };
  if (marked[SHARED]) return kc;
  marked[SHARED] = true;
  let shared: Dispatcher | undefined;
  // client-node declares createDispatcher private; applySecurityAuthentication() calls it per request.
  const withCreate = kc as unknown as { createDispatcher: (...args: unknown[]) => Dispatcher | undefined };
  const create = withCreate.createDispatcher.bind(kc);
  withCreate.createDispatcher = (...args: unknown[]) => (shared ??= create(...args));
  (marked as unknown as Record<symbol, () => void>)[RESET] = () => {
    const old = shared;
    shared = undefined; // the next request adopts a fresh dispatcher
    void old?.destroy().catch(() => undefined);
  };
  return kc;
}
const RESET = Symbol.for('crossgate.resetConnections');
const SHARED = Symbol('crossgate.sharedConnections');
