// How many Alerts of one namespace the operator evaluates. Every Alert is
// evaluated, and its status written, every interval on the one Alert worker all
// organizations share: without a bound, one organization's thousands of Alerts
// would make every other organization's fire and notify late. One decision for
// the webhook (a new Alert beyond the bound is refused) and the operator (one
// stored anyway, the webhook skipped, is not evaluated: TooManyAlerts).
import { MAX_NAMESPACE_ALERTS } from '../api/v1alpha1/index.ts';
import { instanceId, olderInstanceFirst, type Meta as AlertLike } from './route-conflicts.ts';

/** The ids ("namespace/name") of the Alerts of one namespace (`alerts`) that are evaluated: the MAX_NAMESPACE_ALERTS oldest live ones. */
export function countedAlerts(alerts: readonly AlertLike[]): Set<string> {
  return new Set(alerts.filter((a) => !a.metadata?.deletionTimestamp).sort(olderInstanceFirst).slice(0, MAX_NAMESPACE_ALERTS).map(instanceId));
}

/** Why `alert` is not evaluated (`counted`: countedAlerts of its namespace), or undefined when it is. */
export function alertLimitProblem(alert: AlertLike, counted: ReadonlySet<string>): string | undefined {
  if (counted.has(instanceId(alert))) return undefined;
  return (
    `namespace "${alert.metadata?.namespace ?? ''}" holds more than ${MAX_NAMESPACE_ALERTS} Alerts and only the ${MAX_NAMESPACE_ALERTS} oldest are evaluated: ` +
    'this one is not (no value, no notification) until older ones are deleted. Watch several status codes or policy types in one Alert'
  );
}

/** The admission refusal of a new Alert in a namespace that already holds MAX_NAMESPACE_ALERTS live ones (`existing`), or undefined. */
export function newAlertLimitProblem(namespace: string, name: string, existing: readonly AlertLike[]): string | undefined {
  const others = existing.filter((a) => !a.metadata?.deletionTimestamp && a.metadata?.name !== name).length;
  if (others < MAX_NAMESPACE_ALERTS) return undefined;
  return (
    `namespace "${namespace}" already holds ${others} Alerts, the most one namespace may hold (${MAX_NAMESPACE_ALERTS}): ` +
    'each is evaluated every interval by the operator all organizations share. Delete one, or watch several status codes or policy types in one Alert'
  );
}
