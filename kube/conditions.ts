// Status conditions, metav1.Condition style. Pure functions: no clock reads
// unless the caller omits `now`, no mutation of the input array, so
// reconcilers can compute the desired status and compare it with the current
// one (status.ts skips the write when they are equal).
import { rfc3339 } from '../api/time.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** RFC 3339, second precision (what metav1.Time serializes). */
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export { rfc3339 };

/**
 * Return a new list with `input` set: replaces the condition of the same
 * type in place (order kept) or appends it. lastTransitionTime moves to `now`
 * only when the status changes (or the condition is new); reason, message
 * and observedGeneration are always refreshed. When nothing differs, the
 * result deep-equals `existing`, so a status write can be skipped.
 */
export function setCondition(
  existing: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration?: number,
  now: Date = new Date(),
): Condition[] {
  const list = existing ? [...existing] : [];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : rfc3339(now),
  };
  if (observedGeneration !== undefined) next.observedGeneration = observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Set several conditions at once (same rules as setCondition). */
export function setConditions(
  existing: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  observedGeneration?: number,
  now: Date = new Date(),
): Condition[] {
  let list: Condition[] = existing ? [...existing] : [];
  for (const c of inputs) list = setCondition(list, c, observedGeneration, now);
  return list;
}

/**
 * Only the conditions of `inputs`' types, each as setConditions leaves it
 * over `existing` (lastTransitionTime kept while its status holds): what one
 * field manager applies, never another manager's condition types.
 */
export function ownConditions(
  existing: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  observedGeneration?: number,
  now: Date = new Date(),
): Condition[] {
  const all = setConditions(existing, inputs, observedGeneration, now);
  return inputs.map((i) => all.find((c) => c.type === i.type)!);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'False';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
