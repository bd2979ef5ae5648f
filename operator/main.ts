// The crossgate operator process: caches, controllers, leader election,
// health/metrics. Every replica keeps warm caches; only the leader reconciles.
import { createLogger } from '../kube/logger.ts';
import { KubeHttp, describeError } from '../kube/kube.ts';
import { loadConnection } from '../kube/kube-connection.ts';
import { Manager } from '../kube/controller.ts';
import { OperatorMetrics } from '../kube/metrics.ts';
import { StatusWriter } from '../kube/status.ts';
import { EventRecorder } from '../kube/events.ts';
import { eventClientOver, leaseClientOver, statusClientOver } from '../kube/api-writers.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { startHealthServer } from '../kube/health.ts';
import { logFatalErrors, onShutdown } from '../kube/shutdown.ts';
import { loadConfig } from './config.ts';
import { registerControllers } from './controllers/index.ts';

const log = createLogger();
logFatalErrors(log);

async function main(): Promise<void> {
  const cfg = loadConfig();
  const http = new KubeHttp(loadConnection());
  // Lease renewals on a connection of their own: a renewal must not queue behind list pages, watch
  // streams and status writes multiplexed on the data connection (the Lease decides whether we may write at all).
  const leaseHttp = new KubeHttp(loadConnection());
  log.info({ server: http.connection.server, via: http.connection.source }, 'apiserver connection');
  const metrics = new OperatorMetrics();
  const mgr = new Manager({
    client: http,
    logger: log,
    metrics,
    informerDefaults: { watchSilenceMs: cfg.watchSilenceMs },
  });
  const status = new StatusWriter({ client: statusClientOver(http) });
  const events = new EventRecorder({ client: eventClientOver(http), logger: log });
  registerControllers(mgr, {
    http: http,
    status,
    events,
    workers: cfg.workers,
    gatewayNamespace: cfg.gatewayNamespace,
    gatewayAdminUrls: cfg.gatewayAdminUrls,
    alertIntervalMs: cfg.alertIntervalMs,
    analyticsIntervalMs: cfg.analyticsIntervalMs,
    shareSweepIntervalMs: cfg.shareSweepIntervalMs,
    settings: cfg.platform,
    authz: cfg.authz,
    platformNamespace: cfg.namespace,
    ...(cfg.gatewayUrl ? { gatewayUrl: cfg.gatewayUrl } : {}),
  });

  const health = await startHealthServer({
    host: cfg.healthHost,
    port: cfg.healthPort,
    registry: metrics.registry,
    readyChecks: { caches: () => mgr.cachesSynced() },
    logger: log,
  });

  let elector: LeaderElector | undefined;
  onShutdown(log, () => [
    ['manager', () => mgr.stop()],
    ['lease release', () => elector?.stop()],
    ['events', () => events.flush()],
    ['health server', () => health.close()],
    ['api connections', () => Promise.all([http.close(), leaseHttp.close()]).then(() => undefined)],
  ]);

  await mgr.startCaches();
  if (!cfg.leaderElect) {
    mgr.startControllers();
    log.info('leader election disabled: controllers started');
    return;
  }
  elector = new LeaderElector({
    client: leaseClientOver(leaseHttp),
    name: cfg.leaseName,
    namespace: cfg.namespace,
    leaseDurationMs: cfg.leaseDurationMs,
    renewDeadlineMs: cfg.renewDeadlineMs,
    retryPeriodMs: cfg.retryPeriodMs,
    logger: log,
    metrics,
    onStartedLeading: () => {
      log.info('became leader: starting controllers');
      mgr.startControllers();
    },
    onNewLeader: (identity) => log.info({ leader: identity }, 'observed leader'),
  });
  void elector.run();
}

main().catch((err) => {
  log.fatal({ err: describeError(err) }, 'operator failed to start');
  process.exit(1);
});
