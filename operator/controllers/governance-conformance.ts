// The ApiInstance's Conformant condition: which GovernanceRulesets (its
// organization's and the platform's) it fails, from the same evaluation as the
// rulesets' reports (model/governance.ts). A second writer of ApiInstance
// status with its own field manager: server-side apply keeps conditions as a
// list map by type, so the ApiInstance reconciler's Ready and TiersEnforced
// and apianalytics' figures are never touched.
import type { Manager, ReconcileContext } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { conditionChanged } from '../../kube/effects.ts';
import type { Alert, ApiInstance, Asset, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { conformantCondition, instanceResults, instancesInScope, rulesetScope, rulesetsFor } from '../../model/governance.ts';
import { ownerOfNamespace } from '../../model/ownership.ts';
import { APIGROUPS, APIINSTANCES, ASSETS, NAMESPACES, ORGANIZATIONS, POLICIES, SLATIERS } from '../resources.ts';
import type { Deps } from './deps.ts';
import { GOVERNANCE_ALERTS, GOVERNANCE_RULESETS, governanceReader, specOrCondition, type Ruleset } from './governance-inputs.ts';
import { GOVERNANCE_COALESCE_MS, type GovernanceOptions } from './governance.ts';

type Instance = ApiInstance & { kind: string; apiVersion: string };

/** The field manager of the ApiInstance's Conformant condition. */
export const CONFORMANCE_MANAGER = 'crossgate-conformance';

export function registerConformanceController(mgr: Manager, deps: Deps & GovernanceOptions): void {
  const instances = mgr.informer<Instance>(APIINSTANCES);
  const rulesets = mgr.informer<Ruleset>(GOVERNANCE_RULESETS);
  const inputs = governanceReader(mgr, deps.platformNamespace, deps.settings);
  const keyOf = (i: { metadata?: { namespace?: string; name?: string } }) => `${i.metadata?.namespace}/${i.metadata?.name}`;
  const inNamespace = (ns: string | undefined) => inputs().snapshot.apiInstances(ns ?? '').map(keyOf);
  const all = () => instances.list().map(keyOf);
  const rulesetsOf = (ns: string) => rulesets.list().filter((r) => r.metadata.namespace === ns);
  const delayMs = GOVERNANCE_COALESCE_MS;

  mgr.addController({
    name: 'conformance',
    for: { ...APIINSTANCES, predicate: specOrCondition('TiersEnforced') },
    watches: [
      // A ruleset wakes every instance it may read (old and new spec are both mapped).
      { resource: GOVERNANCE_RULESETS, map: (o) => instancesInScope(inputs().snapshot, rulesetScope(inputs().snapshot, o.metadata?.namespace ?? '', deps.platformNamespace)).map((s) => keyOf(s.instance)), predicate: generationOrMetadataChanged, delayMs },
      { resource: POLICIES, map: (o) => inNamespace((o as Policy).metadata?.namespace), predicate: generationOrMetadataChanged, delayMs },
      { resource: SLATIERS, map: (o) => inNamespace((o as SlaTier).metadata?.namespace), predicate: generationOrMetadataChanged, delayMs },
      { resource: GOVERNANCE_ALERTS, map: (o) => `${o.metadata?.namespace}/${(o as Alert).spec?.apiInstanceRef?.name}`, predicate: generationOrMetadataChanged, delayMs },
      {
        resource: ASSETS,
        map: (o) => {
          const owner = ownerOfNamespace(inputs().snapshot, (o as Asset).metadata?.namespace ?? '');
          return (owner?.organization.spec?.environments ?? []).flatMap((e) => inNamespace(e.namespace));
        },
        predicate: specOrCondition('Ready'),
        delayMs,
      },
      { resource: ORGANIZATIONS, map: all, predicate: generationOrMetadataChanged, delayMs },
      { resource: NAMESPACES, map: all, predicate: generationOrMetadataChanged, delayMs },
      { resource: APIGROUPS, map: all, predicate: generationOrMetadataChanged, delayMs },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const instance = instances.get(key);
      if (!instance || instance.metadata.deletionTimestamp) return;
      const ns = instance.metadata.namespace ?? '';
      const gov = inputs();
      const results = instanceResults(gov, instance, rulesetsFor(gov.snapshot, ns, deps.platformNamespace, rulesetsOf));
      const conformant = conformantCondition(results);
      const generation = instance.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(instance)?.conditions ?? []) as Condition[];
      if (conditionChanged(previous, conformant)) {
        ctx.log.info({ apiinstance: key, conformant: conformant.status, reason: conformant.reason }, 'conformance changed');
        if (conformant.status === 'False') deps.events.warning(instance, 'NotConformant', conformant.message);
      }
      await deps.status.applyStatus(instance, APIINSTANCES.plural, { conditions: ownConditions(previous, [conformant], generation) }, CONFORMANCE_MANAGER);
    },
  });
}
