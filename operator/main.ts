// The crossgate operator process: caches, controllers, leader election,
// health/metrics. Every replica keeps warm caches; only the leader reconciles.
import { createLogger } from './lib/logger.ts';
import { loadKubeConfig, makeClients, describeError } from './lib/kube.ts';
import { Manager } from './lib/controller.ts';
import { OperatorMetrics } from './lib/metrics.ts';
import { StatusWriter } from './lib/status.ts';
import { EventRecorder } from './lib/events.ts';
import { LeaderElector } from './lib/leader-election.ts';
import { startHealthServer } from './lib/health.ts';
import { loadConfig } from './config.ts';
import { registerControllers } from './controllers/index.ts';

const log = createLogger();

async function main(): Promise<void> {
  const cfg = loadConfig();
  const clients = makeClients(loadKubeConfig());
  const metrics = new OperatorMetrics();
  const mgr = new Manager({
    client: clients.http,
    logger: log,
    metrics,
    informerDefaults: { watchSilenceMs: cfg.watchSilenceMs },
  });
  const status = new StatusWriter({ client: clients.custom });
  const events = new EventRecorder({ client: clients.core, logger: log });
  registerControllers(mgr, { http: clients.http, status, events, workers: cfg.workers, gatewayNamespace: cfg.gatewayNamespace, ...(cfg.gatewayUrl ? { gatewayUrl: cfg.gatewayUrl } : {}) });

  const health = await startHealthServer({
    host: cfg.healthHost,
    port: cfg.healthPort,
    registry: metrics.registry,
    readyChecks: { caches: () => mgr.cachesSynced() },
    logger: log,
  });

  let elector: LeaderElector | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await mgr.stop().catch((err) => log.error({ err: describeError(err) }, 'manager stop failed'));
    await elector?.stop().catch((err) => log.error({ err: describeError(err) }, 'lease release failed'));
    await events.flush();
    await health.close();
    await clients.http.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await mgr.startCaches();
  if (!cfg.leaderElect) {
    mgr.startControllers();
    log.info('leader election disabled: controllers started');
    return;
  }
  elector = new LeaderElector({
    client: clients.coordination,
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
