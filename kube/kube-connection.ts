// Where the apiserver is and how to authenticate to it, for KubeHttp, without
// loading @kubernetes/client-node (its import alone costs every process tens
// of megabytes; docs/performance.md) for the common cases: the in-cluster service
// account, and kubeconfig files with a server, a CA, client certificates, a
// token or token file, or basic auth. Anything else (exec plugins, auth
// providers, proxies, impersonation, several files in KUBECONFIG) is handed to
// client-node's KubeConfig, imported only then, so those setups keep working
// exactly as kubectl's do.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';

/** What KubeHttp needs for a request: the base URL, per-request headers, and a pool with the TLS settings. */
export interface KubeConnection {
  /** The apiserver's URL, without a trailing slash. */
  readonly server: string;
  /** Headers and the dispatcher for one request; credentials that rotate (token files, exec plugins) are read here. */
  prepare(url: URL, method: string): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }>;
  /** How it was loaded, for logs ("in-cluster", "kubeconfig", "client-node"). */
  readonly source: string;
  /** Forget the pool handed out (KubeHttp destroys it after a silent watch); the next request gets a new one. */
  reset?(): void;
}

/** The part of client-node's KubeConfig that a connection needs (tests and tools that hold one pass it in). */
export interface KubeConfigLike {
  getCurrentCluster(): { server: string } | null;
  applySecurityAuthentication(context: unknown): Promise<void>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A token file is read again after this long (bound service-account tokens rotate; client-go re-reads each minute). */
const TOKEN_FILE_TTL_MS = 60_000;

export interface LoadOptions {
  /** A kubeconfig file; default $KUBECONFIG, else the in-cluster service account, else ~/.kube/config. */
  file?: string;
  context?: string;
  /** Environment and service-account directory (tests). */
  env?: NodeJS.ProcessEnv;
  serviceAccountDir?: string;
  /** Default ~/.kube/config (tests). */
  homeKubeconfig?: string;
}

/** The order client-node's loadFromDefault() and kubectl use: explicit file, $KUBECONFIG, in-cluster, ~/.kube/config. */
export function loadConnection(opts: LoadOptions = {}): KubeConnection {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (opts.file) return fromKubeconfigFile(opts.file, opts.context);
  const fromEnv = env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [];
  if (fromEnv.length > 1) return viaClientNode(undefined, opts.context, 'several files in KUBECONFIG');
  if (fromEnv.length === 1) return fromKubeconfigFile(fromEnv[0]!, opts.context);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, 'token'))) return inCluster(env, saDir);
  const home = opts.homeKubeconfig ?? join(homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFile(home, opts.context);
  throw new Error('no Kubernetes cluster configured (set KUBECONFIG or run in a pod)');
}

function inCluster(env: NodeJS.ProcessEnv, saDir: string): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const ca = join(saDir, 'ca.crt');
  return native(server, 'in-cluster', { ...(existsSync(ca) ? { ca: readFileSync(ca) } : {}) }, { tokenFile: join(saDir, 'token') });
}

interface NamedCluster { name: string; cluster: Record<string, unknown> }
interface NamedUser { name: string; user?: Record<string, unknown> }
interface NamedContext { name: string; context: { cluster: string; user?: string } }

/** The user and cluster fields read here; any other user field means client-node decides. */
const KNOWN_USER_FIELDS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password']);
const KNOWN_CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

function fromKubeconfigFile(file: string, contextName: string | undefined): KubeConnection {
  let doc: { clusters?: NamedCluster[]; users?: NamedUser[]; contexts?: NamedContext[]; 'current-context'?: string };
  try {
    doc = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const name = contextName ?? doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new Error(`kubeconfig ${file}: no context ${JSON.stringify(name ?? '')}`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`kubeconfig ${file}: context ${JSON.stringify(name)} names no cluster with a server`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const unknown = [...Object.keys(user).filter((k) => !KNOWN_USER_FIELDS.has(k)), ...Object.keys(cluster).filter((k) => !KNOWN_CLUSTER_FIELDS.has(k))];
  if (unknown.length > 0) return viaClientNode(file, contextName, unknown.join(', '));

  const base = dirname(file);
  const path = (p: unknown) => (typeof p === 'string' && p ? (isAbsolute(p) ? p : join(base, p)) : undefined);
  const bytes = (data: unknown, f: unknown) => {
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    const p = path(f);
    return p ? readFileSync(p) : undefined;
  };
  const tls: TlsOptions = {};
  const ca = bytes(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) tls.ca = ca;
  const cert = bytes(user['client-certificate-data'], user['client-certificate']);
  if (cert) tls.cert = cert;
  const key = bytes(user['client-key-data'], user['client-key']);
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  const server = cluster.server.replace(/\/+$/, '');
  if (server.startsWith('http:') && tls.rejectUnauthorized !== false) {
    // client-node's rule, kept so both loaders accept the same files.
    throw new Error(`kubeconfig ${file}: plain http to ${server} needs insecure-skip-tls-verify: true`);
  }
  const tokenFile = path(user.tokenFile);
  return native(server, 'kubeconfig', tls, {
    ...(typeof user.token === 'string' && user.token ? { token: user.token } : tokenFile ? { tokenFile } : {}),
    ...(typeof user.username === 'string' && user.username ? { basic: `${user.username}:${typeof user.password === 'string' ? user.password : ''}` } : {}),
  });
}

interface TlsOptions { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string }

function native(server: string, source: string, tls: TlsOptions, auth: { token?: string; tokenFile?: string; basic?: string }): KubeConnection {
  let dispatcher: Dispatcher | undefined;
  let fileToken: { value: string; readAt: number } | undefined;
  const token = (): string | undefined => {
    if (auth.token) return auth.token;
    if (!auth.tokenFile) return undefined;
    const now = Date.now();
    if (!fileToken || now - fileToken.readAt > TOKEN_FILE_TTL_MS) fileToken = { value: readFileSync(auth.tokenFile, 'utf8').trim(), readAt: now };
    return fileToken.value;
  };
  return {
    server,
    source,
    async prepare() {
      const headers: Record<string, string> = {};
      const t = token();
      if (t) headers.authorization = `Bearer ${t}`;
      else if (auth.basic) headers.authorization = `Basic ${Buffer.from(auth.basic).toString('base64')}`;
      // As client-node: TCP keep-alive probes after 30 s (undici's 60 s races cloud load balancers' idle timeouts).
      dispatcher ??= new Agent({ connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } });
      return { headers, dispatcher };
    },
    reset() {
      dispatcher = undefined;
    },
  };
}

/** A kubeconfig only client-node understands: it is imported now, for this connection only. */
function viaClientNode(file: string | undefined, context: string | undefined, why: string): KubeConnection {
  let loaded: Promise<KubeConnection> | undefined;
  const load = async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
    if (context) kc.setCurrentContext(context);
    return connectionFromKubeConfig(kc, `client-node (${why})`);
  };
  // The server is needed synchronously; client-node's own parse of it would load the module, so read it on first use.
  const server = peekServer(file, context);
  return {
    server,
    source: `client-node (${why})`,
    prepare: async (url, method) => (await (loaded ??= load())).prepare(url, method),
    reset: () => void loaded?.then((c) => c.reset?.()),
  };
}

function peekServer(file: string | undefined, context: string | undefined): string {
  const files = file ? [file] : (process.env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? []);
  for (const f of files) {
    try {
      const doc = parse(readFileSync(f, 'utf8')) as { clusters?: NamedCluster[]; contexts?: NamedContext[]; 'current-context'?: string };
      const name = context ?? doc['current-context'];
      const ctx = doc.contexts?.find((c) => c.name === name)?.context;
      const server = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster.server;
      if (typeof server === 'string') return server.replace(/\/+$/, '');
    } catch {
      // the next file, or client-node's error on first use
    }
  }
  throw new Error(`no cluster server found in ${files.join(', ') || 'the kubeconfig'}`);
}

/**
 * A connection over a client-node KubeConfig (tests and tools that hold one, and the fallback above):
 * client-node applies its authentication per request; the first dispatcher it builds is kept.
 */
export function connectionFromKubeConfig(kc: KubeConfigLike, source = 'client-node'): KubeConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in KubeConfig');
  let dispatcher: Dispatcher | undefined;
  // Imported on first use (the caller holds a KubeConfig, so the module is loaded already), once.
  let clientNode: Promise<typeof import('@kubernetes/client-node')> | undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    source,
    async prepare(url, method) {
      const { RequestContext } = await (clientNode ??= import('@kubernetes/client-node'));
      const ctx = new RequestContext(url.toString(), method as 'GET');
      await kc.applySecurityAuthentication(ctx);
      dispatcher ??= ctx.getDispatcher();
      return { headers: ctx.getHeaders(), ...(dispatcher ? { dispatcher } : {}) };
    },
    reset() {
      dispatcher = undefined;
      // client-node.ts shareConnections() keeps one pool per KubeConfig; it lets go of it too.
      (kc as unknown as Record<symbol, (() => void) | undefined>)[Symbol.for('crossgate.resetConnections')]?.();
    },
  };
}
