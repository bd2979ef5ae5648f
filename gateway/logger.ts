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
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACT_PATHS, REDACTED } from '../operator/lib/logger.ts';

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
