// What governance reads (model/governance.ts GovernanceInputs) over the
// operator's informer caches, kept until one of them changes: both governance
// reconcilers ask for it once per key, and regrouping every Policy, SlaTier
// and Alert per key would cost O(objects) each time. Predicates that tell the
// reconcilers which changes can alter a verdict stand here too.
import type { Manager, Predicate } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import type { Alert, GovernanceRuleset, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { governanceInputs, type GovernanceInputs } from '../../model/governance.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { crossgate, POLICIES, SLATIERS } from '../resources.ts';
import { onChange, snapshotReader } from './snapshot.ts';

export const GOVERNANCE_RULESETS = crossgate('GovernanceRuleset');
export const GOVERNANCE_ALERTS = crossgate('Alert');

export function governanceReader(mgr: Manager, platformNamespace: string, settings?: PlatformSettings): () => GovernanceInputs {
  const snapshot = snapshotReader(mgr, settings);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const alerts = mgr.informer<Alert & { kind: string }>(GOVERNANCE_ALERTS);
  let cached: { inputs: GovernanceInputs; snapshot: ReturnType<typeof snapshot> } | undefined;
  const invalidate = () => {
    cached = undefined;
  };
  onChange(policies, invalidate);
  onChange(tiers, invalidate);
  onChange(alerts, invalidate);
  return () => {
    const snap = snapshot();
    // The snapshot reader keeps its own cache: a new snapshot means its collections changed.
    if (!cached || cached.snapshot !== snap) {
      cached = { snapshot: snap, inputs: governanceInputs({ snapshot: snap, platformNamespace, policies: policies.list(), slaTiers: tiers.list(), alerts: alerts.list() }) };
    }
    return cached.inputs;
  };
}

const conditionOf = (obj: KubernetesObject | undefined, type: string) => {
  const c = (obj as { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } } | undefined)?.status?.conditions?.find((x) => x.type === type);
  return c ? `${c.status}/${c.reason}` : '';
};

/** Spec, labels or deletion changed, or the given condition (e.g. an Asset's Ready, an instance's TiersEnforced). */
export function specOrCondition(type: string): Predicate {
  return (ev) => generationOrMetadataChanged(ev) || (ev.type === 'update' && conditionOf(ev.oldObj, type) !== conditionOf(ev.obj, type));
}

export type Ruleset = GovernanceRuleset & { kind: string; apiVersion: string };
