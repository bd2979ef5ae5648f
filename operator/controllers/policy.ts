// Policy reconciler: checks the config against its type's schema, resolves
// the ApiInstances the policy applies to (its targetRef, or every instance of
// the namespace its selector matches) and reports Ready (Applied /
// InvalidConfig / InvalidSelector / TargetNotFound), status.appliedTo and
// appliedCount. Re-reconciled when ApiInstances of its namespace appear, go
// or change labels. Decisions live in policy-desired.ts; which policies apply
// to an instance, in enforcement order, is model/policy-selection.ts.
import type { Manager, ReconcileContext } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { reportConditionChange } from '../../kube/effects.ts';
import type { ApiInstance, Policy } from '../../api/v1alpha1/index.ts';
import { APIINSTANCES, POLICIES } from '../resources.ts';
import type { Deps } from './deps.ts';
import { desiredPolicyStatus } from './policy-desired.ts';

type PolicyObject = Policy & { kind: string; apiVersion: string };

/** The field manager of a Policy's status (server-side apply). */
export const POLICY_MANAGER = 'crossgate-policy';

/** status.appliedTo holds at most this many names (the CRD's maxItems); appliedCount is exact. */
export const APPLIED_TO_MAX = 1024;

export function registerPolicyController(mgr: Manager, deps: Deps & { workers?: number }): void {
  const policies = mgr.informer<PolicyObject>(POLICIES);
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const inNamespace = (ns: string | undefined) => instances.list().filter((i) => i.metadata.namespace === ns);

  mgr.addController({
    name: 'policy',
    for: POLICIES,
    workers: deps.workers,
    watches: [
      // Instances appear, go or change labels: every policy of that namespace may apply differently.
      {
        resource: APIINSTANCES,
        map: (o) => {
          const ns = o.metadata?.namespace;
          return policies.list().filter((p) => p.metadata.namespace === ns).map((p) => `${ns}/${p.metadata.name}`);
        },
        predicate: generationOrMetadataChanged,
      },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const policy = policies.get(key);
      if (!policy || policy.metadata.deletionTimestamp) return;
      const decision = desiredPolicyStatus(policy, inNamespace(policy.metadata.namespace));
      const generation = policy.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(policy)?.conditions ?? []) as Condition[];
      const now = decision.ready;
      reportConditionChange(policy, previous, now, { events: deps.events, log: ctx.log, message: 'policy state changed', fields: { applied: decision.appliedTo.length } });
      await deps.status.applyStatus(
        policy,
        POLICIES.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [now], generation), appliedTo: decision.appliedTo.slice(0, APPLIED_TO_MAX), appliedCount: decision.appliedTo.length },
        POLICY_MANAGER,
      );
    },
  });
}
