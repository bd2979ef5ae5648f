// Pure alert decisions: the value of an alert's condition over gateway
// traffic statistics, the state it implies, and the Alertmanager payload
// announcing a change.
import type { Alert } from '../../api/v1alpha1/index.ts';

/** Traffic of one API over a window, summed over gateway replicas. */
export interface WindowStats {
  requests: number;
  /** Responses by status code ("200", "429", …). */
  statusCodes: Record<string, number>;
  /** Requests refused by a policy, by policy type. */
  violations: Record<string, number>;
  /** Slowest response in the window, ms. */
  maxMs: number;
}

export const EMPTY_STATS: WindowStats = { requests: 0, statusCodes: {}, violations: {}, maxMs: 0 };

/** Sum the statistics of several gateway replicas. */
export function mergeStats(all: readonly WindowStats[]): WindowStats {
  const out: WindowStats = { requests: 0, statusCodes: {}, violations: {}, maxMs: 0 };
  for (const s of all) {
    out.requests += s.requests;
    for (const [k, v] of Object.entries(s.statusCodes)) out.statusCodes[k] = (out.statusCodes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.violations)) out.violations[k] = (out.violations[k] ?? 0) + v;
    out.maxMs = Math.max(out.maxMs, s.maxMs);
  }
  return out;
}

export function alertValue(condition: Alert['spec']['condition'], stats: WindowStats): number {
  switch (condition.type) {
    case 'request-count':
      return stats.requests;
    case 'response-codes':
      return (condition.statusCodes ?? []).reduce((n, code) => n + (stats.statusCodes[String(code)] ?? 0), 0);
    case 'response-time':
      return stats.maxMs;
    case 'policy-violations': {
      const types = condition.policyTypes;
      return Object.entries(stats.violations).reduce((n, [type, v]) => n + (!types || types.length === 0 || types.includes(type as never) ? v : 0), 0);
    }
  }
}

export function describeCondition(alert: Alert): string {
  const c = alert.spec.condition;
  const over = `over ${c.periodSeconds ?? 60}s`;
  switch (c.type) {
    case 'request-count':
      return `requests ${over} above ${c.threshold}`;
    case 'response-codes':
      return `responses ${(c.statusCodes ?? []).join('/')} ${over} above ${c.threshold}`;
    case 'response-time':
      return `slowest response ${over} above ${c.threshold} ms`;
    case 'policy-violations':
      return `policy refusals${c.policyTypes?.length ? ` (${c.policyTypes.join(', ')})` : ''} ${over} above ${c.threshold}`;
  }
}

/** One Alertmanager v2 alert (POST /api/v2/alerts takes a list of these). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export function alertmanagerPayload(alert: Alert, firing: boolean, value: number, since: string, now: string): AlertmanagerAlert[] {
  const ns = alert.metadata.namespace!;
  return [
    {
      labels: {
        alertname: alert.metadata.name!,
        namespace: ns,
        apiinstance: alert.spec.apiInstanceRef.name,
        severity: alert.spec.severity ?? 'warning',
        type: alert.spec.condition.type,
        source: 'crossgate',
      },
      annotations: {
        summary: `${ns}/${alert.spec.apiInstanceRef.name}: ${describeCondition(alert)}`,
        description: `${firing ? 'firing' : 'resolved'}: value ${value}, threshold ${alert.spec.condition.threshold}`,
      },
      startsAt: since,
      ...(firing ? {} : { endsAt: now }),
    },
  ];
}

/** What an Alert's status says about a notification: delivered or not, and why only when the cause is ours. */
export interface NotificationRecord {
  delivered: boolean;
  message: string;
}

export const NOT_DELIVERED =
  'not delivered: the receiver did not accept it (no 2xx answer within the timeout). What it answered is not recorded here, so that notify.url cannot be used to probe addresses; a platform admin finds it in the operator\'s log.';

/**
 * The status record of one notification. `refused` is the platform's own
 * address rule (computed from the URL, before any connection); `accepted` is
 * whether the receiver answered 2xx. The receiver's status code, body, error
 * and timing never reach the status (tenants read it).
 */
export function notificationRecord(refused: string | undefined, accepted: boolean): NotificationRecord {
  if (refused) return { delivered: false, message: `not sent: ${refused}` };
  return accepted ? { delivered: true, message: 'delivered' } : { delivered: false, message: NOT_DELIVERED };
}
