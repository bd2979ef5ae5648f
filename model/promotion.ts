// Whether an ApiPromotion may copy its source into its namespace: one decision
// for the webhook rule (webhook/rules/apipromotion.ts) and the reconciler
// (operator/controllers/apipromotion.ts), which makes it again because the
// webhook can be skipped. Only Organization specs decide (ownerOfNamespace),
// never a label. Pure, no I/O.
import { orgName, ownerOfNamespace, quoteList, environmentNamespaces } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

export interface PromotionRoute {
  /** The ApiPromotion's namespace: the target environment. */
  namespace: string;
  /** spec.source.namespace: the source environment. */
  sourceNamespace: string;
}

export interface PromotionRefusal {
  /** CamelCase reason for the condition. */
  reason: 'TargetNotEnvironment' | 'SourceNotEnvironment' | 'CrossOrganization' | 'SameEnvironment';
  message: string;
  /** The field to blame at admission. */
  field: 'metadata.namespace' | 'spec.source.namespace';
}

/**
 * Why the promotion may not run, or undefined when it may: the target and the source are two different
 * environment namespaces of one Organization. A promotion never reads or writes another organization's
 * objects, and never writes outside an environment (the home namespace holds no instances).
 */
export function promotionRefusal(snapshot: Snapshot, route: PromotionRoute): PromotionRefusal | undefined {
  const target = ownerOfNamespace(snapshot, route.namespace);
  if (!target || target.role !== 'environment') {
    const what = target ? `the home namespace of Organization "${orgName(target.organization)}"` : 'a namespace of no Organization';
    return {
      reason: 'TargetNotEnvironment',
      field: 'metadata.namespace',
      message: `an ApiPromotion lives in the environment it promotes into, and namespace "${route.namespace}" is ${what}, not an environment`,
    };
  }
  const org = target.organization;
  const name = orgName(org);
  const others = environmentNamespaces(org).filter((n) => n !== route.namespace);
  const choose = others.length ? `name another environment of "${name}" (${quoteList(others)})` : `Organization "${name}" has no other environment`;
  if (route.sourceNamespace === route.namespace) {
    return { reason: 'SameEnvironment', field: 'spec.source.namespace', message: `spec.source.namespace "${route.sourceNamespace}" is the promotion's own namespace: ${choose}` };
  }
  const source = ownerOfNamespace(snapshot, route.sourceNamespace);
  if (!source) {
    return {
      reason: 'SourceNotEnvironment',
      field: 'spec.source.namespace',
      message: `spec.source.namespace "${route.sourceNamespace}" belongs to no Organization: a promotion copies only from an environment of its own organization; ${choose}`,
    };
  }
  if (orgName(source.organization) !== name) {
    return {
      reason: 'CrossOrganization',
      field: 'spec.source.namespace',
      message:
        `spec.source.namespace "${route.sourceNamespace}" belongs to Organization "${orgName(source.organization)}", but this ApiPromotion is in "${route.namespace}" of Organization "${name}": ` +
        `a promotion copies only between environments of one organization; ${choose}`,
    };
  }
  if (source.role !== 'environment') {
    return {
      reason: 'SourceNotEnvironment',
      field: 'spec.source.namespace',
      message: `spec.source.namespace "${route.sourceNamespace}" is the home namespace of Organization "${name}", which holds no ApiInstances: ${choose}`,
    };
  }
  return undefined;
}
