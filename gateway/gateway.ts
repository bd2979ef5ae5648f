// Wires the gateway together: counters, policy dependencies, the config
// loader and its source, the upstream pools, the data and admin servers.
// gateway/main.ts parses flags and env into GatewayOptions; tests call
// startGateway() in-process.
import type { Logger } from 'pino';
import { KubeHttp, type ListWatchClient } from '../kube/kube.ts';
import { loadConnection } from '../kube/kube-connection.ts';
import { startAdminServer, type AdminServer } from './admin.ts';
import { DirectorySource } from './config-source/directory.ts';
import { KubernetesSource } from './config-source/kubernetes.ts';
import { ConfigLoader, type ConfigSource } from './config-source/loader.ts';
import { MemoryCounterStore } from './counters/memory.ts';
import { RedisCounterStore } from './counters/redis.ts';
import type { CounterStore } from './counters/types.ts';
import { GatewayMetrics, type DayWindowOptions } from './metrics.ts';
import { compileRoutes } from './policies/index.ts';
import { JwksCache } from './policies/jwt-validation.ts';
import type { PolicyDeps } from './policies/types.ts';
import { Upstreams } from './proxy.ts';
import { ConnectGuard } from '../kube/connect-guard.ts';
import { NO_PLATFORM_SETTINGS, type PlatformSettings } from '../api/platform.ts';
import { TrustedProxies } from './client-address.ts';
import { startGatewayServer, type ClientTimeouts } from './server.ts';
import { createAccessLogger, type AccessLogger } from './logger.ts';
import type { CompiledConfig } from './compiled.ts';
import { startAuthzServer, TokenFile, type CheckServerKind } from './authz.ts';
import { startAuthzGrpcServer, type AuthzGrpcServer, type GrpcTls } from './authz-grpc.ts';
import { startAccessLogReceiver } from './authz-log.ts';
import { startAccessLogFile } from './authz-log-file.ts';

export type SourceOptions =
  | { kind: 'directory'; dir: string; gateway: string; rescanMs?: number; debounceMs?: number }
  | { kind: 'kubernetes'; namespace: string; gateway: string; kubeconfig?: string; client?: ListWatchClient };

export interface GatewayOptions {
  listen?: { host: string; port: number };
  admin?: { host: string; port: number };
  source: SourceOptions;
  /** Shared tier and rate-limit counters; per-replica memory when absent. */
  redisUrl?: string;
  redisPrefix?: string;
  logger: Logger;
  /** One line per request; default true. */
  accessLog?: boolean;
  /** Where access-log lines go; default stdout through an async buffer (createAccessLogger). */
  accessLogger?: AccessLogger;
  metricsMaxClients?: number;
  /** The 24-hour figures behind admin /summary/day: bucket length, bucket count, clients per API (metrics.ts DayWindow). */
  analytics?: DayWindowOptions;
  upstreamConnections?: number;
  /** How long a client may take to send a request's head and a whole request (server.ts ClientTimeouts). */
  clientTimeouts?: ClientTimeouts;
  /** Debounce between a config change and assembly; default 50 ms. */
  configDebounceMs?: number;
  /** Platform settings (api/platform.ts; main.ts reads them from the environment); none when absent: no loopback upstream at all. */
  platform?: PlatformSettings;
  /** Overrides platform.trustedProxies (tests). */
  trustedProxies?: readonly string[];
}

export interface RunningGateway {
  url: string;
  adminUrl: string;
  loader: ConfigLoader;
  source: ConfigSource;
  metrics: GatewayMetrics;
  counters: CounterStore;
  /** Resolves once the source has read its initial state (a config may still be pending). */
  sourceStarted: Promise<void>;
  stop(graceMs?: number): Promise<void>;
}

/** What the gateway and the decision service both run on: counters, policy dependencies, the config loader and its source. */
interface Runtime {
  metrics: GatewayMetrics;
  counters: CounterStore;
  guard: ConnectGuard;
  trustedProxies: TrustedProxies;
  loader: ConfigLoader;
  source: ConfigSource;
}

async function startRuntime(opts: GatewayOptions, onLoaded?: (cfg: CompiledConfig) => void): Promise<Runtime> {
  const log = opts.logger;
  const metrics = new GatewayMetrics({ maxClients: opts.metricsMaxClients, day: opts.analytics });
  let counters: CounterStore;
  if (opts.redisUrl) {
    const redis = new RedisCounterStore({
      url: opts.redisUrl,
      prefix: opts.redisPrefix ?? `crossgate:${opts.source.gateway}:`,
      logger: log.child({ component: 'redis' }),
      onError: () => metrics.counterStoreErrors.inc(),
    });
    try {
      await redis.ready(3000);
      log.info({ store: 'redis' }, 'shared counter store connected');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'shared counter store not reachable yet; counting locally until it is');
    }
    counters = redis;
  } else {
    counters = new MemoryCounterStore({ onCapRefusal: () => metrics.counterCapRefusals.inc() });
  }
  // Every upstream and JWKS connection is checked on the address it resolves to (connect-guard.ts).
  const guard = new ConnectGuard({ settings: opts.platform ?? NO_PLATFORM_SETTINGS });
  const jwksFetch = guard.fetch((message) => log.warn({ component: 'policy', err: message }, 'jwks fetch refused: address not allowed'));
  const trustedProxies = new TrustedProxies(opts.trustedProxies ?? opts.platform?.trustedProxies ?? []);
  const deps: PolicyDeps = { counters, jwks: new JwksCache({ fetch: jwksFetch }), logger: log.child({ component: 'policy' }), trustedProxies };
  const loader = new ConfigLoader({
    gateway: opts.source.gateway,
    compileRoutes: (part) => compileRoutes(part, deps),
    logger: log.child({ component: 'config' }),
    debounceMs: opts.configDebounceMs,
    onLoaded: (cfg, result) => {
      metrics.configReloads.labels('loaded').inc();
      for (const kind of ['Routes', 'Credentials'] as const) metrics.configPartsKeptBack.labels(kind).set(result.keptBack.filter((k) => k.kind === kind).length);
      metrics.configGeneration.set(cfg.generation);
      metrics.credentials.set(cfg.credentials.size);
      onLoaded?.(cfg);
    },
    onPending: (_reason, invalid) => metrics.configReloads.labels(invalid ? 'refused' : 'pending').inc(),
  });

  const source: ConfigSource =
    opts.source.kind === 'directory'
      ? new DirectorySource({ dir: opts.source.dir, loader, logger: log, rescanMs: opts.source.rescanMs, debounceMs: opts.source.debounceMs })
      : new KubernetesSource({
          client: opts.source.client ?? new KubeHttp(loadConnection(opts.source.kubeconfig ? { file: opts.source.kubeconfig } : {})),
          namespace: opts.source.namespace,
          gateway: opts.source.gateway,
          loader,
          logger: log,
        });
  return { metrics, counters, guard, trustedProxies, loader, source };
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const log = opts.logger;
  let pools: Upstreams | undefined;
  const rt = await startRuntime(opts, (cfg) => pools?.retain(new Set(cfg.routes.routes.filter((r) => !r.withheld).map((r) => r.upstream.pool))));
  const upstreams = (pools = new Upstreams({ connections: opts.upstreamConnections, guard: rt.guard }));
  const access = opts.accessLog === false ? undefined : (opts.accessLogger ?? createAccessLogger());
  const served = await serve(opts, rt, 'gateway', {
    start: () =>
      startGatewayServer({
        host: opts.listen?.host ?? '127.0.0.1',
        port: opts.listen?.port ?? 8080,
        config: rt.loader,
        upstreams,
        metrics: rt.metrics,
        logger: log.child({ component: 'proxy' }),
        accessLog: access?.logger,
        trustedProxies: rt.trustedProxies,
        clients: opts.clientTimeouts,
      }),
    // The gateway never connects to its own listeners (a route aimed at them would loop).
    started: (data, adminPort) => rt.guard.setListeners([data, { host: opts.admin?.host ?? '127.0.0.1', port: adminPort }]),
    stopped: async () => {
      await upstreams.close();
      access?.flush();
    },
  });
  return { ...served, loader: rt.loader, source: rt.source, metrics: rt.metrics, counters: rt.counters };
}

/**
 * Starts the data server (`what.start`) and the admin server over a runtime, then the config source; stopping
 * closes them in order (data first, so no request meets a closed store). One path for the gateway and authz.
 */
async function serve<D extends { url: string; host: string; port: number; close(graceMs?: number): Promise<void> }>(
  opts: GatewayOptions,
  rt: Runtime,
  name: string,
  what: { start(): Promise<D>; started?(data: D, adminPort: number): void; stopped?(): Promise<void> },
): Promise<{ url: string; adminUrl: string; sourceStarted: Promise<void>; stop(graceMs?: number): Promise<void> }> {
  const log = opts.logger;
  const { metrics, counters, loader, source } = rt;
  let data: D | undefined;
  let admin: AdminServer | undefined;
  try {
    data = await what.start();
    admin = await startAdminServer({
      host: opts.admin?.host ?? '127.0.0.1',
      port: opts.admin?.port ?? 9090,
      metrics,
      ready: () => loader.current !== undefined,
      status: () => ({ ...loader.status(), counterStore: counters.kind, routeIds: loader.current?.routes.routes.map((r) => r.id) ?? [] }),
      routes: () => loader.current?.routes.routes.filter((r) => !r.withheld).map((r) => r.id) ?? [],
      logger: log,
    });
    what.started?.(data, admin.port);
  } catch (err) {
    await data?.close(0);
    await counters.close();
    throw err;
  }
  const sourceStarted = source.start().catch((err: unknown) => {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'config source failed to start');
  });
  log.info({ url: data.url, admin: admin.url, source: opts.source.kind, gateway: opts.source.gateway, counters: counters.kind }, `${name} listening`);
  let stopping: Promise<void> | undefined;
  const d = data;
  const a = admin;
  return {
    url: d.url,
    adminUrl: a.url,
    sourceStarted,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        await d.close(graceMs);
        await source.stop().catch(() => undefined);
        loader.close();
        await what.stopped?.();
        await counters.close();
        await a.close();
      })();
      return stopping;
    },
  };
}

export interface AuthzOptions extends Omit<GatewayOptions, 'accessLog' | 'accessLogger' | 'upstreamConnections' | 'clientTimeouts'> {
  /** The file holding the proxy's token (a mounted Secret in a cluster). */
  tokenFile: string;
  /** The check port's server: 'fast' (authz-http1.ts, default) or 'node' (node:http, kept for a release). */
  checkServer?: CheckServerKind;
  /** Envoy's gRPC Check API on a second listener (authz-grpc.ts); absent: not served. */
  grpc?: {
    listen?: { host: string; port: number };
    /** TLS on the listener; with clientCaFile, callers authenticate by certificate (mTLS) instead of the token. */
    tls?: GrpcTls;
  };
  /** The proxy's access log as syslog over UDP (authz-log.ts), recorded into the metrics and /summary; absent: not received. */
  proxyAccessLog?: {
    listen?: { host: string; port: number };
    /** Addresses or CIDRs datagrams are accepted from; default loopback. */
    sources?: readonly string[];
  };
  /** Instead of UDP: the file nginx beside authz writes the access log to (authz-log-file.ts tails it); absent: not read. */
  proxyAccessLogFile?: { path: string; truncateAt?: number; pollMs?: number };
}

export interface RunningAuthz {
  url: string;
  /** The gRPC Check listener's URL when served. */
  grpcUrl?: string;
  /** udp://host:port of the access-log receiver, or file:/path of the tailed file, when read. */
  accessLogUrl?: string;
  adminUrl: string;
  metrics: GatewayMetrics;
  loader: ConfigLoader;
  counters: CounterStore;
  sourceStarted: Promise<void>;
  stop(graceMs?: number): Promise<void>;
}

/** crossgate-authz: the same config, counters and policies as the gateway, answering checks instead of forwarding (authz.ts). */
export async function startAuthz(opts: AuthzOptions): Promise<RunningAuthz> {
  const token = new TokenFile(opts.tokenFile);
  const rt = await startRuntime(opts);
  const logger = opts.logger.child({ component: 'authz' });
  // A route without hostnames is decided on the gateway's own host names only, when the platform names them.
  const sharedHosts = opts.platform?.gatewayHostnames ?? [];
  let grpcUrl: string | undefined;
  let accessLogUrl: string | undefined;
  const served = await serve(opts, rt, 'authz', {
    // The HTTP checks and, when asked, the gRPC Check API: one data server to serve() (started together, closed together).
    start: async () => {
      const http = await startAuthzServer({ host: opts.listen?.host ?? '127.0.0.1', port: opts.listen?.port ?? 9191, config: rt.loader, token, trustedProxies: rt.trustedProxies, sharedHosts, logger, metrics: rt.metrics, server: opts.checkServer });
      let log: { url: string; close(): Promise<void> } | undefined;
      if (opts.proxyAccessLog && opts.proxyAccessLogFile) {
        await http.close(0);
        throw new Error('the access log is read from UDP or from a file, not both');
      }
      if (opts.proxyAccessLogFile) {
        const f = opts.proxyAccessLogFile;
        log = startAccessLogFile({ ...f, metrics: rt.metrics, config: rt.loader, logger: logger.child({ listener: 'access-log-file' }) });
        accessLogUrl = log.url;
        logger.info({ url: log.url }, 'authz access log read from a file');
      } else if (opts.proxyAccessLog) {
        try {
          log = await startAccessLogReceiver({
            host: opts.proxyAccessLog.listen?.host ?? '127.0.0.1',
            port: opts.proxyAccessLog.listen?.port ?? 5514,
            sources: opts.proxyAccessLog.sources,
            metrics: rt.metrics,
            config: rt.loader,
            logger: logger.child({ listener: 'access-log' }),
          });
        } catch (err) {
          await http.close(0);
          throw err;
        }
        accessLogUrl = log.url;
        logger.info({ url: log.url }, 'authz access log listening');
      }
      if (!opts.grpc) return log ? { url: http.url, host: http.host, port: http.port, close: async (graceMs?: number) => void (await Promise.all([http.close(graceMs), log.close()])) } : http;
      let grpc: AuthzGrpcServer;
      try {
        grpc = await startAuthzGrpcServer({
          host: opts.grpc.listen?.host ?? '127.0.0.1',
          port: opts.grpc.listen?.port ?? 9001,
          config: rt.loader,
          auth: opts.grpc.tls?.clientCaFile ? { kind: 'mtls' } : { kind: 'token', token },
          tls: opts.grpc.tls,
          trustedProxies: rt.trustedProxies,
          sharedHosts,
          metrics: rt.metrics,
          logger: logger.child({ listener: 'grpc' }),
        });
      } catch (err) {
        await Promise.all([http.close(0), log?.close()]);
        throw err;
      }
      grpcUrl = grpc.url;
      logger.info({ url: grpc.url, tls: opts.grpc.tls !== undefined, auth: opts.grpc.tls?.clientCaFile ? 'mtls' : 'token' }, 'authz grpc listening');
      return {
        url: http.url,
        host: http.host,
        port: http.port,
        close: async (graceMs?: number) => {
          await Promise.all([http.close(graceMs), grpc.close(graceMs), log?.close()]);
        },
      };
    },
  });
  return { ...served, grpcUrl, accessLogUrl, metrics: rt.metrics, loader: rt.loader, counters: rt.counters };
}
