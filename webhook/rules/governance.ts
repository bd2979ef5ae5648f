// Governance at admission: a GovernanceRuleset lives in its organization's
// home namespace (the namespace decides whose instances it reads,
// model/governance.ts rulesetScope, which the operator applies too); an
// ApiInstance or Policy change that breaks a rule of a ruleset that reads it
// is admitted with warnings, never refused. The warnings name only what the
// change brings: failures the object already had are not repeated. Admission
// judges what it can see (policies, tiers, alerts, the upstream); a valid
// Asset and enforced tiers are status the operator reports.
import { ALLOW, allowWithWarnings, deny, describe, objectName, objectNamespace, type AdmissionRequestLike, type KubeObject, type Verdict } from '../admission.ts';
import type { ApiInstance } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import {
  ADMISSION_REQUIREMENTS, MAX_WARNINGS, POLICY_REQUIREMENTS, checkInstance, instanceId, newFailureWarnings, newRulesetLimitProblem, platformNamespaceOf, rulesetScope, rulesetsFor, scopeCovers,
  type Failure, type GovernanceInputs, type PolicyLike, type Requirement,
} from '../../model/governance.ts';
import { policiesFor, policyAppliesTo } from '../../model/policy-selection.ts';

/**
 * A GovernanceRuleset outside the platform namespace lives in an organization's home namespace, which holds at
 * most MAX_ORGANIZATION_RULESETS of them (a new one beyond is refused; the operator evaluates only the oldest).
 */
export function governanceRulesetRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const ns = objectNamespace(request);
  const scope = rulesetScope(snapshot, ns, platformNamespaceOf(snapshot) ?? '');
  if (scope.kind === 'misplaced') return deny(`${describe('GovernanceRuleset', objectName(request))}: ${scope.message}`, 'metadata.namespace');
  if (scope.kind === 'organization' && request.operation === 'CREATE') {
    const tooMany = newRulesetLimitProblem(ns, objectName(request), snapshot.governanceRulesets(ns));
    if (tooMany) return deny(`${describe('GovernanceRuleset', objectName(request))}: ${tooMany}`, 'metadata.namespace');
  }
  return ALLOW;
}

/** What governance reads, from the snapshot's per-namespace indexes (built once per snapshot, not per request). */
function inputsOf(snapshot: Snapshot): GovernanceInputs {
  return {
    snapshot,
    platformNamespace: platformNamespaceOf(snapshot) ?? '',
    policies: (ns) => snapshot.policies(ns),
    slaTiers: (ns) => snapshot.slaTiers(ns),
    alerts: (ns) => snapshot.alerts(ns),
  };
}

/** Whether any ruleset may read `namespace`: most reviews end here, before anything is evaluated. */
function judged(snapshot: Snapshot, namespace: string): boolean {
  return rulesetsFor(snapshot, namespace, platformNamespaceOf(snapshot) ?? '', (n) => snapshot.governanceRulesets(n)).length > 0;
}

type InstanceLike = Pick<ApiInstance, 'metadata' | 'spec' | 'status'>;

/** An instance's failures per ruleset that reads and selects it, for the given requirements and applied policies. */
function resultsOf(inputs: GovernanceInputs, instance: InstanceLike, only: readonly Requirement[], applied?: readonly PolicyLike[]): Map<string, Failure[]> {
  const out = new Map<string, Failure[]>();
  const ns = instance.metadata?.namespace ?? '';
  for (const ruleset of rulesetsFor(inputs.snapshot, ns, inputs.platformNamespace, (n) => inputs.snapshot.governanceRulesets(n))) {
    const environmentType = scopeCovers(inputs.snapshot, rulesetScope(inputs.snapshot, ruleset.metadata?.namespace ?? '', inputs.platformNamespace), ns);
    if (!environmentType) continue;
    const failures = checkInstance(inputs, ruleset, { instance, organization: '', environmentType }, { only, ...(applied ? { applied } : {}) });
    if (failures) out.set(instanceId(ruleset), failures);
  }
  return out;
}

const asInstance = (o: KubeObject | null | undefined, ns: string): InstanceLike | undefined =>
  o && typeof o === 'object' ? ({ ...(o as object), metadata: { ...(o.metadata ?? {}), namespace: o.metadata?.namespace ?? ns } } as InstanceLike) : undefined;

/** Warnings for an ApiInstance created or changed: what it fails now that it did not before. */
export function apiInstanceGovernanceWarnings(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const ns = objectNamespace(request);
  const after = asInstance(request.object, ns);
  if (!after?.spec || typeof after.spec !== 'object' || !judged(snapshot, ns)) return ALLOW;
  const inputs = inputsOf(snapshot);
  const before = request.operation === 'UPDATE' ? asInstance(request.oldObject, ns) : undefined;
  const subject = `ApiInstance "${ns}/${objectName(request)}"`;
  return allowWithWarnings(newFailureWarnings(subject, resultsOf(inputs, after, ADMISSION_REQUIREMENTS), before ? resultsOf(inputs, before, ADMISSION_REQUIREMENTS) : undefined));
}

/** Warnings for a Policy created or changed: what each instance it applied to or applies to fails now that it did not before. */
export function policyGovernanceWarnings(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const ns = objectNamespace(request);
  const name = objectName(request);
  const next = request.object as unknown as PolicyLike | undefined;
  if (!next?.spec || typeof next.spec !== 'object' || !judged(snapshot, ns)) return ALLOW;
  const inputs = inputsOf(snapshot);
  const others = inputs.policies(ns).filter((p) => p.metadata?.name !== name);
  const old = request.operation === 'UPDATE' ? (request.oldObject as unknown as PolicyLike | undefined) : undefined;
  const withNs = (p: PolicyLike): PolicyLike => ({ ...p, metadata: { ...(p.metadata ?? {}), namespace: ns } });
  const afterSet = [...others, withNs(next)];
  const beforeSet = old?.spec ? [...others, withNs(old)] : others;
  const warnings: string[] = [];
  for (const instance of snapshot.apiInstances(ns)) {
    if (!policyAppliesTo(withNs(next), instance) && !(old?.spec && policyAppliesTo(withNs(old), instance))) continue;
    const subject = `Policy "${ns}/${name}" on ApiInstance "${instance.metadata?.name ?? ''}"`;
    const after = resultsOf(inputs, instance, POLICY_REQUIREMENTS, policiesFor(instance, afterSet));
    const before = resultsOf(inputs, instance, POLICY_REQUIREMENTS, policiesFor(instance, beforeSet));
    warnings.push(...newFailureWarnings(subject, after, before));
  }
  return allowWithWarnings(warnings.slice(0, MAX_WARNINGS));
}

