// The gateway's JSON logs (pino). Raw API keys and Authorization headers
// must never reach them:
//   - the gateway logs no request headers and no query strings at all (the
//     access log has method, path, route, client id, status, duration; a
//     refused key is logged only by its non-secret key id);
//   - as a safety net, pino redacts whole `headers` and `query` objects and
//     every secret-bearing field name the operator's logger knows
//     (authorization, apiKey, key, token, ...), one and two levels deep.
// test/unit/gateway/logging.test.ts sends keys and tokens through a gateway
// at trace level and checks that none appears in the output.
//
// The access log is a separate logger: its lines are built by the gateway
// from fixed, non-secret fields only (method, path without query, route,
// client id, key id, status, duration, generation), so it skips redaction,
// which costs on every request (docs/gateway.md, "Hot spots found and fixed"),
// and writes through an asynchronous buffer instead of one synchronous write
// per request.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACT_PATHS, REDACTED } from '../kube/logger.ts';

export type { Logger };

export const GATEWAY_REDACT_PATHS = [...REDACT_PATHS, 'headers', '*.headers', 'query', '*.query', 'rawHeaders', '*.rawHeaders'];

export function createGatewayLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    name: 'crossgate-gateway',
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: GATEWAY_REDACT_PATHS, censor: REDACTED },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export interface AccessLogger {
  logger: Logger;
  /** Writes what is buffered (call before exiting). */
  flush(): void;
}

/** The per-request logger. Never pass it anything but the fixed access-log fields. */
export function createAccessLogger(opts: { destination?: DestinationStream } = {}): AccessLogger {
  const options: LoggerOptions = {
    name: 'crossgate-gateway',
    level: 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (opts.destination) return { logger: pino(options, opts.destination), flush: () => undefined };
  const dest = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  dest.on('error', () => undefined); // a closed stdout must not take the data plane down
  // A quiet gateway still shows its requests within a second.
  const timer = setInterval(() => {
    try {
      dest.flush();
    } catch {
      // not ready yet
    }
  }, 1000);
  timer.unref();
  return {
    logger: pino(options, dest),
    flush: () => {
      clearInterval(timer);
      try {
        dest.flushSync();
      } catch {
        // not ready yet or already closed
      }
    },
  };
}
