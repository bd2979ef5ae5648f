// The gateway process. Every setting is a flag or an environment variable
// (flags win); see docs/gateway.md.
//
//   --mode / GATEWAY_MODE                     gateway (default): route, enforce, forward;
//                                             authz: crossgate-authz, the decision service a proxy
//                                             in front asks (gateway/authz.ts, docs/gateway-integration.md)
//   --token-file / AUTHZ_TOKEN_FILE           authz: the file holding the proxy's token (required)
//   --grpc-listen / AUTHZ_GRPC_LISTEN         authz: host:port of Envoy's gRPC Check API (default
//                                             127.0.0.1:9001; "off": not served; gateway/authz-grpc.ts)
//   --grpc-tls-cert, --grpc-tls-key / AUTHZ_GRPC_TLS_CERT, AUTHZ_GRPC_TLS_KEY
//                                             authz: TLS on the gRPC listener (PEM files; default h2c)
//   --grpc-client-ca / AUTHZ_GRPC_CLIENT_CA   authz: callers of the gRPC listener must present a
//                                             certificate this CA signed (mTLS, then no token is asked)
//   --grpc-client-san / AUTHZ_GRPC_CLIENT_SANS authz, with --grpc-client-ca: the client certificate must also
//                                             name one of these SANs (comma-separated; "scheme://…" a URI SAN such
//                                             as Envoy's SPIFFE id, else a DNS name); others: PERMISSION_DENIED
//   --access-log-listen / AUTHZ_ACCESS_LOG_LISTEN
//                                             authz: host:port (UDP) of the proxy's access log as syslog
//                                             (default 127.0.0.1:5514; "off": not received; gateway/authz-log.ts)
//   --access-log-file / AUTHZ_ACCESS_LOG_FILE authz, instead of UDP: the absolute path of the file nginx beside authz
//                                             writes the access log to (the shared emptyDir; render-nginx
//                                             --access-log file:/path); tailed and truncated past 8 MiB
//                                             (gateway/authz-log-file.ts); excludes --access-log-listen other than off
//   --access-log-sources / AUTHZ_ACCESS_LOG_SOURCES
//                                             authz: comma-separated addresses/CIDRs datagrams are read from
//                                             (default 127.0.0.1,::1: nginx beside authz)
//   --check-server / AUTHZ_CHECK_SERVER       authz: the check port's HTTP/1.1 server: fast (default,
//                                             gateway/authz-http1.ts) or node (node:http; kept for one release)
//   --listen / GATEWAY_LISTEN                 host:port of the data plane (default 127.0.0.1:8080,
//                                             authz 127.0.0.1:9191; the container sets 0.0.0.0:8080);
//                                             authz only: unix:/absolute/path, a unix socket (0660) for
//                                             nginx beside it in the pod (kube/listen.ts)
//   --admin-listen / GATEWAY_ADMIN_LISTEN     host:port of /metrics, /healthz, /readyz, /summary, /configz
//                                             (default 127.0.0.1:9090)
//   --gateway / GATEWAY_NAME                  gateway name (ConfigMaps crossgate-gw-<name>*); required
//   --config-dir / GATEWAY_CONFIG_DIR         standalone: read <ConfigMap name>.json files from here
//   --namespace / GATEWAY_NAMESPACE           Kubernetes: watch the ConfigMaps in this namespace
//                                             (default: POD_NAMESPACE, then the service account's namespace)
//   --kubeconfig / KUBECONFIG                 Kubernetes credentials (in a pod: the service account)
//   --redis-url / GATEWAY_REDIS_URL           shared tier/rate-limit counters (redis://host:port/db)
//   --redis-prefix / GATEWAY_REDIS_PREFIX     key prefix (default crossgate:<gateway>:)
//   --log-level / LOG_LEVEL                   pino level (default info)
//   --access-log / GATEWAY_ACCESS_LOG         one line per request: true|false (default true)
//   --metrics-max-clients / GATEWAY_METRICS_MAX_CLIENTS   distinct client label values per API owner (default 1000)
//   --analytics-bucket-seconds / GATEWAY_ANALYTICS_BUCKET_SECONDS
//                                             length of one bucket of the day figures (/summary/day) and
//                                             how long without a request makes a route Inactive (default 3600)
//   --analytics-buckets / GATEWAY_ANALYTICS_BUCKETS   buckets in the day ring (default 24)
//   --analytics-max-clients / GATEWAY_ANALYTICS_MAX_CLIENTS
//                                             clients tracked by name per API and bucket, the rest "_other" (default 20)
//   --upstream-connections / GATEWAY_UPSTREAM_CONNECTIONS per namespace and upstream origin (default 256)
//   --headers-timeout-seconds / GATEWAY_HEADERS_TIMEOUT_SECONDS  time a client has to send a request head (default 66)
//   --request-timeout-seconds / GATEWAY_REQUEST_TIMEOUT_SECONDS  time a client has to send a whole request, body
//                                             included; the answer is not counted (default 300)
//   --max-connections-per-client / GATEWAY_MAX_CONNECTIONS_PER_CLIENT  connections open at once from one client
//                                             address (an IPv6 /64; trusted proxies not counted), then 503 (default 1024, 0: no limit)
//   --rescan-ms / GATEWAY_RESCAN_MS           directory mode: periodic rescan (default 2000)
//   CROSSGATE_LOOPBACK_UPSTREAMS, CROSSGATE_GATEWAY_HOSTNAMES, CROSSGATE_TRUSTED_PROXIES,
//   CROSSGATE_CLUSTER_CIDRS                   platform settings shared with the operator and the
//                                             webhook (api/platform.ts); upstream and JWKS connections
//                                             to loopback are refused unless their exact host:port is listed,
//                                             into the cluster's networks unless named by a Service name;
//                                             authz decides a route without hostnames only on
//                                             CROSSGATE_GATEWAY_HOSTNAMES when set (decision.ts hostServedBy)
//
// Exactly one of --config-dir and --namespace (or in-cluster) selects the source.
// SIGTERM/SIGINT: stop accepting, finish in-flight requests (10 s), exit 0.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAuthz, startGateway, type AuthzOptions, type SourceOptions } from './gateway.ts';
import { ClientSanAllowList } from './authz-grpc.ts';
import type { CheckServerKind } from './authz.ts';
import { platformSettingsFromEnv } from '../api/platform.ts';
import { createGatewayLogger } from './logger.ts';
import { logFatalErrors } from '../kube/shutdown.ts';
import { UNIX_PREFIX, unixSocketPath } from '../kube/listen.ts';
import { accessLogFilePath } from './authz-log-file.ts';

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** "host:port", "[v6]:port", ":port" or "port". */
export function parseListen(value: string, defaultHost: string): { host: string; port: number } {
  if (value.startsWith(UNIX_PREFIX)) throw new Error(`listen address ${JSON.stringify(value)}: a unix socket is served only on authz's check port (--mode=authz --listen)`);
  let host = defaultHost;
  let port: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (v6) [, host, port] = v6 as unknown as [string, string, string];
  else if (/^\d+$/.test(value)) port = value;
  else {
    const i = value.lastIndexOf(':');
    if (i < 0) throw new Error(`listen address ${JSON.stringify(value)}: expected host:port`);
    host = value.slice(0, i) || defaultHost;
    port = value.slice(i + 1);
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`listen address ${JSON.stringify(value)}: bad port`);
  return { host, port: n };
}

/** authz's check port: host:port as parseListen, or `unix:/path`, a unix socket (host "unix:/path" for kube/listen.ts, no port). */
export function authzListen(value: string): { host: string; port: number } {
  if (value.startsWith(UNIX_PREFIX)) return { host: `${UNIX_PREFIX}${unixSocketPath(value)}`, port: 0 };
  return parseListen(value, '127.0.0.1');
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  return !/^(0|false|no|off)$/i.test(v);
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function seconds(n: number | undefined): number | undefined {
  return n === undefined ? undefined : n * 1000;
}

/** As int, but 0 is refused too (a bucket of no length, a ring of no bucket). */
function positive(v: string | undefined, name: string): number | undefined {
  const n = int(v, name);
  if (n === 0) throw new Error(`${name}: expected a positive integer, got 0`);
  return n;
}

/** authz's gRPC listener from flags and env: undefined when turned off. */
export function grpcOptions(
  values: { 'grpc-listen'?: string; 'grpc-tls-cert'?: string; 'grpc-tls-key'?: string; 'grpc-client-ca'?: string; 'grpc-client-san'?: string },
  env: NodeJS.ProcessEnv,
): AuthzOptions['grpc'] {
  const listen = values['grpc-listen'] ?? env.AUTHZ_GRPC_LISTEN ?? '127.0.0.1:9001';
  const certFile = values['grpc-tls-cert'] ?? env.AUTHZ_GRPC_TLS_CERT;
  const keyFile = values['grpc-tls-key'] ?? env.AUTHZ_GRPC_TLS_KEY;
  const clientCaFile = values['grpc-client-ca'] ?? env.AUTHZ_GRPC_CLIENT_CA;
  const sanList = values['grpc-client-san'] ?? env.AUTHZ_GRPC_CLIENT_SANS;
  const allowedClientSans = sanList?.split(',').map((s) => s.trim()).filter(Boolean);
  if (listen === 'off') {
    if (certFile || keyFile || clientCaFile || sanList) throw new Error('--grpc-listen=off with gRPC TLS settings: choose one');
    return undefined;
  }
  if (!certFile !== !keyFile) throw new Error('gRPC TLS needs both --grpc-tls-cert and --grpc-tls-key');
  if (clientCaFile && !certFile) throw new Error('--grpc-client-ca (mTLS) needs --grpc-tls-cert and --grpc-tls-key');
  if (sanList !== undefined && !clientCaFile) throw new Error('--grpc-client-san needs --grpc-client-ca: only a client certificate names a SAN');
  if (allowedClientSans?.length === 0) throw new Error('--grpc-client-san is empty: name at least one allowed SAN, or leave it out');
  // Validated here too (bounds, characters) so a bad list stops the start, not the first call.
  if (allowedClientSans) new ClientSanAllowList(allowedClientSans);
  const tls = certFile && keyFile ? { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}), ...(allowedClientSans ? { allowedClientSans } : {}) } : undefined;
  return { listen: parseListen(listen, '127.0.0.1'), ...(tls ? { tls } : {}) };
}

/** The check port's server (--check-server / AUTHZ_CHECK_SERVER): fast (default) or node. */
export function checkServerOption(v: string | undefined): CheckServerKind {
  if (v === undefined || v === 'fast' || v === 'node') return v ?? 'fast';
  throw new Error(`--check-server: expected fast or node, got ${JSON.stringify(v)}`);
}

/** authz's access-log receiver from flags and env: undefined when turned off. */
export function accessLogOptions(values: { 'access-log-listen'?: string; 'access-log-sources'?: string }, env: NodeJS.ProcessEnv): AuthzOptions['proxyAccessLog'] {
  const listen = values['access-log-listen'] ?? env.AUTHZ_ACCESS_LOG_LISTEN ?? '127.0.0.1:5514';
  const sources = values['access-log-sources'] ?? env.AUTHZ_ACCESS_LOG_SOURCES;
  if (listen === 'off') return undefined;
  const list = sources === undefined ? undefined : sources.split(',').map((s) => s.trim()).filter(Boolean);
  if (list && list.length === 0) throw new Error('--access-log-sources: at least one address or CIDR (or --access-log-listen=off)');
  return { listen: parseListen(listen, '127.0.0.1'), ...(list ? { sources: list } : {}) };
}

/** authz's access log from a file instead (--access-log-file / AUTHZ_ACCESS_LOG_FILE): undefined when not asked; the UDP settings must then be off or absent. */
export function accessLogFileOptions(values: { 'access-log-listen'?: string; 'access-log-sources'?: string; 'access-log-file'?: string }, env: NodeJS.ProcessEnv): AuthzOptions['proxyAccessLogFile'] {
  const file = values['access-log-file'] ?? env.AUTHZ_ACCESS_LOG_FILE;
  if (file === undefined || file === '') return undefined;
  const listen = values['access-log-listen'] ?? env.AUTHZ_ACCESS_LOG_LISTEN;
  if ((listen !== undefined && listen !== 'off') || (values['access-log-sources'] ?? env.AUTHZ_ACCESS_LOG_SOURCES) !== undefined) {
    throw new Error('--access-log-file reads the access log from a file, not UDP: leave out --access-log-listen (or set it to off) and --access-log-sources');
  }
  return { path: accessLogFilePath(file) };
}

/** Where authz reads the proxy's access log: the file when asked, else UDP (or nothing). */
function proxyAccessLogOptions(values: Parameters<typeof accessLogFileOptions>[0], env: NodeJS.ProcessEnv): Pick<AuthzOptions, 'proxyAccessLog' | 'proxyAccessLogFile'> {
  const file = accessLogFileOptions(values, env);
  return file ? { proxyAccessLogFile: file } : { proxyAccessLog: accessLogOptions(values, env) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      'admin-listen': { type: 'string' },
      gateway: { type: 'string' },
      'config-dir': { type: 'string' },
      namespace: { type: 'string' },
      kubeconfig: { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-prefix': { type: 'string' },
      'log-level': { type: 'string' },
      'access-log': { type: 'string' },
      'metrics-max-clients': { type: 'string' },
      'analytics-bucket-seconds': { type: 'string' },
      'analytics-buckets': { type: 'string' },
      'analytics-max-clients': { type: 'string' },
      'upstream-connections': { type: 'string' },
      'headers-timeout-seconds': { type: 'string' },
      'request-timeout-seconds': { type: 'string' },
      'max-connections-per-client': { type: 'string' },
      'rescan-ms': { type: 'string' },
      mode: { type: 'string' },
      'token-file': { type: 'string' },
      'grpc-listen': { type: 'string' },
      'grpc-tls-cert': { type: 'string' },
      'grpc-tls-key': { type: 'string' },
      'grpc-client-ca': { type: 'string' },
      'grpc-client-san': { type: 'string' },
      'access-log-listen': { type: 'string' },
      'access-log-sources': { type: 'string' },
      'access-log-file': { type: 'string' },
      'check-server': { type: 'string' },
    },
    strict: true,
  });
  const env = process.env;
  const logger = createGatewayLogger({ level: values['log-level'] ?? env.LOG_LEVEL ?? 'info' });
  logFatalErrors(logger);
  try {
    const gateway = values.gateway ?? env.GATEWAY_NAME;
    if (!gateway) throw new Error('the gateway name is required (--gateway or GATEWAY_NAME)');
    const dir = values['config-dir'] ?? env.GATEWAY_CONFIG_DIR;
    let namespace = values.namespace ?? env.GATEWAY_NAMESPACE ?? env.POD_NAMESPACE;
    if (!dir && !namespace && existsSync(SA_NAMESPACE)) namespace = readFileSync(SA_NAMESPACE, 'utf8').trim();
    if (dir && (values.namespace ?? env.GATEWAY_NAMESPACE)) throw new Error('choose one config source: --config-dir or --namespace');
    let source: SourceOptions;
    if (dir) source = { kind: 'directory', dir, gateway, rescanMs: int(values['rescan-ms'] ?? env.GATEWAY_RESCAN_MS, 'rescan-ms') };
    else if (namespace) source = { kind: 'kubernetes', namespace, gateway, kubeconfig: values.kubeconfig };
    else throw new Error('no config source: set --config-dir (standalone) or --namespace (Kubernetes)');

    const mode = values.mode ?? env.GATEWAY_MODE ?? 'gateway';
    if (mode !== 'gateway' && mode !== 'authz') throw new Error(`--mode: expected gateway or authz, got ${JSON.stringify(mode)}`);
    const common = {
      admin: parseListen(values['admin-listen'] ?? env.GATEWAY_ADMIN_LISTEN ?? '127.0.0.1:9090', '127.0.0.1'),
      source,
      redisUrl: values['redis-url'] ?? env.GATEWAY_REDIS_URL,
      redisPrefix: values['redis-prefix'] ?? env.GATEWAY_REDIS_PREFIX,
      logger,
      metricsMaxClients: int(values['metrics-max-clients'] ?? env.GATEWAY_METRICS_MAX_CLIENTS, 'metrics-max-clients'),
      analytics: {
        bucketSeconds: positive(values['analytics-bucket-seconds'] ?? env.GATEWAY_ANALYTICS_BUCKET_SECONDS, 'analytics-bucket-seconds'),
        buckets: positive(values['analytics-buckets'] ?? env.GATEWAY_ANALYTICS_BUCKETS, 'analytics-buckets'),
        maxClients: positive(values['analytics-max-clients'] ?? env.GATEWAY_ANALYTICS_MAX_CLIENTS, 'analytics-max-clients'),
      },
      platform: platformSettingsFromEnv(env),
    };
    let gw: { stop(graceMs?: number): Promise<void> };
    if (mode === 'authz') {
      const tokenFile = values['token-file'] ?? env.AUTHZ_TOKEN_FILE;
      if (!tokenFile) throw new Error('authz mode needs the proxy token file (--token-file or AUTHZ_TOKEN_FILE)');
      gw = await startAuthz({ ...common, tokenFile, listen: authzListen(values.listen ?? env.GATEWAY_LISTEN ?? '127.0.0.1:9191'), grpc: grpcOptions(values, env), ...proxyAccessLogOptions(values, env), checkServer: checkServerOption(values['check-server'] ?? env.AUTHZ_CHECK_SERVER) });
    } else {
      gw = await startGateway({
        ...common,
        listen: parseListen(values.listen ?? env.GATEWAY_LISTEN ?? '127.0.0.1:8080', '127.0.0.1'),
        accessLog: bool(values['access-log'] ?? env.GATEWAY_ACCESS_LOG, true),
        upstreamConnections: int(values['upstream-connections'] ?? env.GATEWAY_UPSTREAM_CONNECTIONS, 'upstream-connections'),
        clientTimeouts: {
          headersTimeoutMs: seconds(positive(values['headers-timeout-seconds'] ?? env.GATEWAY_HEADERS_TIMEOUT_SECONDS, 'headers-timeout-seconds')),
          requestTimeoutMs: seconds(positive(values['request-timeout-seconds'] ?? env.GATEWAY_REQUEST_TIMEOUT_SECONDS, 'request-timeout-seconds')),
          maxConnectionsPerClient: int(values['max-connections-per-client'] ?? env.GATEWAY_MAX_CONNECTIONS_PER_CLIENT, 'max-connections-per-client'),
        },
      });
    }
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      const say = (fn: () => void) => {
        try {
          fn();
        } catch {
          // stdout gone (EPIPE): exit anyway
        }
      };
      say(() => logger.info({ signal: sig }, 'stopping: finishing in-flight requests'));
      // Whatever happens, do not outlive the grace period by much.
      setTimeout(() => process.exit(1), 15_000).unref();
      gw.stop(10_000)
        .then(
          () => 0,
          (err: unknown) => {
            say(() => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'stop failed'));
            return 1;
          },
        )
        .then((code) => {
          if (code === 0) say(() => logger.info('stopped'));
          process.exit(code);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'gateway failed to start');
    process.exit(1);
  }
}

if (import.meta.main) await main();
