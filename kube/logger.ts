// JSON logs (pino) that cannot carry secret material by accident.
//
// Two layers:
// 1. pino's `redact` censors well-known secret-bearing paths wherever they
//    appear one or two levels deep (Secret data/stringData, API keys, tokens,
//    passwords, Authorization headers). This is a safety net, not a licence:
// 2. callers log objects through `forLog()`, which reduces Secrets to their
//    metadata and drops managedFields and kubectl's last-applied annotation
//    (which embeds the full previous object, Secret data included).
//
// Raw API keys must never be passed to a logger in the first place; redaction
// only catches the mistakes we anticipated.
import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino';
import type { KubernetesObject } from '@kubernetes/client-node';

export type { Logger };

export const REDACTED = '[REDACTED]';

/** Field names whose values are never logged. */
export const SECRET_FIELDS = ['data', 'stringData', 'binaryData', 'apiKey', 'key', 'rawKey', 'token', 'password', 'secret', 'authorization', 'clientSecret'] as const;

/**
 * Paths for pino's redaction. `*.x` only matches one level down, so each name
 * is listed at the top level, one and two levels deep; plus explicit HTTP
 * header paths. Note that a top-level `key` field is redacted too: log
 * work-queue keys under `request` (or namespace/name), never under `key`.
 */
export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  // kubectl's last-applied annotation embeds the whole previous object (a Secret's data included).
  'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
  '*.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
];

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A log-safe view of a Kubernetes object. Secrets (and anything else with a
 * top-level data/stringData, such as ConfigMaps) are reduced to metadata;
 * not even the names of their data keys are kept, since key names can be
 * revealing too. Every object loses managedFields and the last-applied
 * annotation. Never mutates its input.
 */
export function forLog(obj: unknown): unknown {
  if (!obj || typeof obj !== 'object') return obj;
  const o = obj as KubernetesObject & Record<string, unknown>;
  const meta = o.metadata;
  const safeMeta = meta
    ? {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        generation: meta.generation,
        labels: meta.labels,
        annotations: meta.annotations ? withoutLastApplied(meta.annotations) : undefined,
        ownerReferences: meta.ownerReferences,
        deletionTimestamp: meta.deletionTimestamp,
      }
    : undefined;
  if (o.kind === 'Secret' || o.kind === 'SecretList' || 'data' in o || 'stringData' in o) {
    return { apiVersion: o.apiVersion, kind: o.kind, metadata: safeMeta, type: typeof o.type === 'string' ? o.type : undefined };
  }
  const { metadata: _m, ...rest } = o;
  return { ...rest, metadata: safeMeta };
}

function withoutLastApplied(a: Record<string, string>): Record<string, string> | undefined {
  if (!(LAST_APPLIED in a)) return a;
  const { [LAST_APPLIED]: _drop, ...rest } = a;
  return Object.keys(rest).length ? rest : undefined;
}

export interface LoggerConfig {
  /** pino level; default $LOG_LEVEL or "info". */
  level?: string;
  /** Base `name` field; default "crossgate-operator". */
  name?: string;
  /** Where lines go; default stdout. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
}

export function createLogger(cfg: LoggerConfig = {}): Logger {
  const opts: LoggerOptions = {
    name: cfg.name ?? 'crossgate-operator',
    level: cfg.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // Objects logged under these names are passed through forLog().
    serializers: { obj: forLog, object: forLog, secret: forLog, err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return cfg.destination ? pino(opts, cfg.destination) : pino(opts);
}

/** A logger that discards everything (tests, optional dependencies). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
