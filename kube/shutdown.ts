// Graceful shutdown on SIGINT/SIGTERM, shared by the operator and the webhook:
// run the steps in order once, log a failing step and go on, and exit anyway
// after a grace period (a pod's terminationGracePeriodSeconds would kill us).
import type { Logger } from 'pino';
import { describeError } from './kube.ts';

export type ShutdownStep = [name: string, run: () => Promise<unknown> | unknown];

export function onShutdown(log: Logger, steps: () => ShutdownStep[], graceMs = 30_000): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), graceMs).unref();
    for (const [name, run] of steps()) {
      try {
        await run();
      } catch (err) {
        log.error({ err: describeError(err), step: name }, 'shutdown step failed');
      }
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * A bug that escapes every handler ends the process (the pod restarts), but
 * first says so as a JSON log line like any other, not as a raw stack on stderr.
 */
export function logFatalErrors(log: Logger): void {
  const die = (kind: string) => (err: unknown) => {
    log.fatal({ err: describeError(err), stack: err instanceof Error ? err.stack : undefined }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled promise rejection'));
}
