// Pure decisions for the Policy reconciler: the status a Policy reports. Which
// Policies apply to which instance is model/policy-selection.ts. No I/O.
import { formatErrors } from '../../api/validation.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import {
  invalidConfigMessage, policyAppliesTo, policyConfigErrors, policyOrder, selectorProblems, type InstanceLike, type PolicyLike,
} from '../../model/policy-selection.ts';

/** Names of the instances (of the policy's namespace) the policy applies to, sorted. */
export function appliedTo(policy: PolicyLike, instances: readonly InstanceLike[]): string[] {
  return instances
    .filter((i) => policyAppliesTo(policy, i))
    .map((i) => i.metadata!.name!)
    .sort();
}

export interface PolicyStatusDecision {
  ready: ConditionInput;
  appliedTo: string[];
}

const quoted = (names: readonly string[], max = 10) =>
  names.slice(0, max).map((n) => `"${n}"`).join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');

/**
 * Ready and appliedTo of a Policy, given the ApiInstances of its namespace.
 * An invalid config is reported (Ready=False InvalidConfig) while appliedTo
 * still lists the instances it is attached to: they are the ones affected.
 */
export function desiredPolicyStatus(policy: PolicyLike, instances: readonly InstanceLike[]): PolicyStatusDecision {
  const ns = policy.metadata?.namespace ?? '';
  const target = policy.spec.targetRef;
  if (!target) {
    const problems = selectorProblems(policy.spec.selector);
    if (problems.length > 0) {
      return {
        appliedTo: [],
        ready: {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidSelector',
          message: `spec.selector is invalid: ${formatErrors(problems.map((p) => ({ ...p, path: `/spec/selector${p.path}` })))}`,
        },
      };
    }
  }
  const names = appliedTo(policy, instances);
  const errors = policyConfigErrors(policy);
  if (errors.length > 0) {
    return { appliedTo: names, ready: { type: 'Ready', status: 'False', reason: 'InvalidConfig', message: invalidConfigMessage(errors) } };
  }
  if (target && names.length === 0) {
    return {
      appliedTo: [],
      ready: { type: 'Ready', status: 'False', reason: 'TargetNotFound', message: `ApiInstance "${target.name}" does not exist in namespace "${ns}"` },
    };
  }
  const what = `${policy.spec.type} policy (order ${policyOrder(policy)})`;
  const message = target
    ? `${what} applies to ApiInstance "${target.name}"`
    : names.length === 0
      ? `${what}: the selector matches no ApiInstance in namespace "${ns}" yet`
      : `${what} applies to ${names.length} ApiInstance${names.length === 1 ? '' : 's'} in namespace "${ns}": ${quoted(names)}`;
  return { appliedTo: names, ready: { type: 'Ready', status: 'True', reason: 'Applied', message } };
}
