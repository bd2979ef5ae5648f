// Which Policies apply to an ApiInstance, and in which order: label selector
// matching, targetRef, enforcement order, and whether a config is valid. One
// home for the webhook, the Policy and ApiInstance reconcilers and the
// gateway-config renderer. No I/O.
import type { ApiInstance, Policy } from '../api/v1alpha1/index.ts';
import { validatePolicyConfig } from '../api/policies.ts';
import { formatErrors, type FieldError } from '../api/validation.ts';

export const DEFAULT_POLICY_ORDER = 100;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
  values?: readonly string[];
}

export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

/**
 * What is wrong with a selector, as Kubernetes' own LabelSelector validation
 * says it: In and NotIn need values, Exists and DoesNotExist take none, and
 * the operator must be one of the four. Paths are relative to the selector.
 */
export function selectorProblems(selector: LabelSelector | undefined): FieldError[] {
  const problems: FieldError[] = [];
  (selector?.matchExpressions ?? []).forEach((r, i) => {
    const at = `/matchExpressions/${i}`;
    const n = r.values?.length ?? 0;
    if (!r.key) problems.push({ path: `${at}/key`, message: 'must not be empty' });
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (n === 0) problems.push({ path: `${at}/values`, message: `must have at least one value for operator ${r.operator}` });
    } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
      if (n > 0) problems.push({ path: `${at}/values`, message: `must be empty for operator ${r.operator}` });
    } else {
      problems.push({ path: `${at}/operator`, message: `must be one of: "In", "NotIn", "Exists", "DoesNotExist"` });
    }
  });
  return problems;
}

function requirementMatches(labels: Readonly<Record<string, string>>, r: LabelSelectorRequirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.length > 0 && values.includes(labels[r.key]!);
    case 'NotIn':
      return values.length > 0 && (!has || !values.includes(labels[r.key]!));
    case 'Exists':
      return has && values.length === 0;
    case 'DoesNotExist':
      return !has && values.length === 0;
    default:
      return false;
  }
}

/**
 * Kubernetes label selector semantics: every matchLabels entry and every
 * requirement must hold; an empty selector selects everything; an absent
 * selector selects nothing. A malformed requirement (see selectorProblems)
 * matches nothing, so a bad selector never widens what a policy covers.
 */
export function matchesSelector(labels: Readonly<Record<string, string>> | undefined, selector: LabelSelector | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) if (!requirementMatches(l, r)) return false;
  return true;
}

export type PolicyLike = Pick<Policy, 'metadata'> & { spec: Pick<Policy['spec'], 'type' | 'order' | 'targetRef' | 'selector' | 'config'> };
export type InstanceLike = Pick<ApiInstance, 'metadata'>;

export function policyOrder(p: PolicyLike): number {
  return p.spec.order ?? DEFAULT_POLICY_ORDER;
}

/** Enforcement order: spec.order ascending (default 100), ties by name. */
export function comparePolicies(a: PolicyLike, b: PolicyLike): number {
  const d = policyOrder(a) - policyOrder(b);
  if (d !== 0) return d;
  const x = a.metadata?.name ?? '';
  const y = b.metadata?.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Whether `policy` applies to `instance`: same namespace, and either its
 * targetRef names the instance or (automated policy) its selector matches the
 * instance's labels. A targetRef wins if both are set (the CRD forbids it).
 * Neither being deleted. The config is not looked at: see policyConfigErrors.
 */
export function policyAppliesTo(policy: PolicyLike, instance: InstanceLike): boolean {
  if (policy.metadata?.deletionTimestamp || instance.metadata?.deletionTimestamp) return false;
  if (!policy.metadata?.namespace || policy.metadata.namespace !== instance.metadata?.namespace) return false;
  if (policy.spec.targetRef) return policy.spec.targetRef.name === instance.metadata?.name;
  return matchesSelector(instance.metadata?.labels, policy.spec.selector);
}

/**
 * The policies that apply to `instance`, in enforcement order (spec.order
 * ascending, ties by name). Policies of any namespace may be passed; only the
 * instance's own count. Policies whose config is invalid ARE included, so the
 * renderer can fail closed for that route instead of silently dropping, say,
 * an api-key policy (check them with policyConfigErrors).
 */
export function policiesFor<P extends PolicyLike>(instance: InstanceLike, policies: readonly P[]): P[] {
  return policies.filter((p) => policyAppliesTo(p, instance)).sort(comparePolicies);
}

/** Config errors of a policy, JSON pointers from the object root (/spec/config/...). Empty when valid. */
export function policyConfigErrors(policy: PolicyLike): FieldError[] {
  return validatePolicyConfig(policy.spec.type, policy.spec.config);
}

/** The message for an invalid config, every bad field with what was expected. */
export function invalidConfigMessage(errors: readonly FieldError[]): string {
  return `spec.config is invalid: ${formatErrors([...errors])}`;
}
