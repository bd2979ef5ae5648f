// SlaTier reconciler: reports Ready (Available / InstanceNotFound / NotEnforced) and
// status.contracts, the number of Approved Contracts at this tier (same
// namespace, spec.tier naming it, spec.apiInstanceRef naming its instance).
// Contracts are watched, so the count follows approvals and revocations.
// Decisions live in slatier-desired.ts; the renderer uses tiersFor() from there.
import type { Manager, Predicate, ReconcileContext } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { reportConditionChange } from '../../kube/effects.ts';
import type { ApiGroup, ApiInstance, Contract, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { groupMembership, groupsOfInstance } from '../../model/api-group.ts';
import { snapshotReader } from './snapshot.ts';
import { APIGROUPS, APIINSTANCES, CONTRACTS, POLICIES, SLATIERS } from '../resources.ts';
import { policiesFor } from '../../model/policy-selection.ts';
import type { Deps } from './deps.ts';
import { desiredGroupTierStatus, desiredTierStatus, groupTiersFor } from './slatier-desired.ts';
import { indexBy } from '../../kube/index-by.ts';

type Tier = SlaTier & { kind: string; apiVersion: string };

/** The field manager of an SlaTier's status (server-side apply). */
export const SLATIER_MANAGER = 'crossgate-slatier';

/**
 * How long Contract changes gather before a tier's count is written again. The count is for people
 * (a `kubectl get` column) and nothing decides on it; every write of it is an apiserver status
 * update, the costliest request of a key's path (docs/performance.md).
 */
export const CONTRACT_COUNT_DELAY_MS = 5000;

/** Only what can move a tier's count: a Contract added or gone, its state, its tier or instance, its deletion. */
const countMayChange: Predicate<Contract & { kind: string }> = (ev) => {
  if (ev.type !== 'update' || !ev.oldObj) return true;
  const a = ev.oldObj;
  const b = ev.obj;
  return (
    a.status?.state !== b.status?.state ||
    a.spec?.tier !== b.spec?.tier ||
    a.spec?.apiInstanceRef?.name !== b.spec?.apiInstanceRef?.name ||
    String(a.metadata?.deletionTimestamp ?? '') !== String(b.metadata?.deletionTimestamp ?? '')
  );
};

export function registerSlaTierController(mgr: Manager, deps: Deps & { workers?: number; countDelayMs?: number }): void {
  const tiers = mgr.informer<Tier>(SLATIERS);
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const contracts = mgr.informer<Contract & { kind: string }>(CONTRACTS);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const groups = mgr.informer<ApiGroup & { kind: string }>(APIGROUPS);
  const snapshot = snapshotReader(mgr);
  const keys = (list: Tier[]) => list.map((t) => `${t.metadata.namespace}/${t.metadata.name}`);
  // Contracts by the tier they name ("ns/tier"): a reconcile counts only its own tier's contracts instead of
  // scanning every Contract of the namespace at every approval.
  const byTier = indexBy(contracts, (c) => `${c.metadata.namespace}/${c.spec.tier}`);

  mgr.addController({
    name: 'slatier',
    for: SLATIERS,
    workers: deps.workers,
    watches: [
      {
        resource: APIINSTANCES,
        map: (o) => [
          ...keys(tiers.list().filter((t) => t.metadata.namespace === o.metadata?.namespace && t.spec.apiInstanceRef?.name === o.metadata?.name)),
          // A member appearing or going moves the group's tiers.
          ...groupsOfInstance(snapshot(), { metadata: o.metadata ?? {} }).flatMap((g) => keys(groupTiersFor(g, tiers.list()))),
        ],
        predicate: generationOrMetadataChanged,
      },
      { resource: APIGROUPS, map: (g) => keys(groupTiersFor(g, tiers.list())), predicate: generationOrMetadataChanged },
      // Whether an api-key policy applies to the instance decides whether its tiers are enforced.
      {
        resource: POLICIES,
        // Group tiers live in the home namespace, their members' policies elsewhere: every group tier (few) follows.
        map: (o) => keys(tiers.list().filter((t) => t.metadata.namespace === o.metadata?.namespace || t.spec.apiGroupRef)),
        predicate: generationOrMetadataChanged,
      },
      // Not a generation predicate: the count follows status.state, which moves without one.
      // Delayed: during a burst of approvals a tier's count is written once per window, not once per Contract.
      {
        resource: CONTRACTS,
        delayMs: deps.countDelayMs ?? CONTRACT_COUNT_DELAY_MS,
        predicate: countMayChange as Predicate,
        map: (o) => {
          const c = o as Contract;
          const tier = tiers.get(`${c.metadata?.namespace}/${c.spec?.tier}`);
          return tier ? keys([tier]) : [];
        },
      },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const tier = tiers.get(key);
      if (!tier || tier.metadata.deletionTimestamp) return;
      const ns = tier.metadata.namespace;
      const ofTier = byTier(key).map((k) => contracts.get(k)).filter((c): c is Contract & { kind: string } => c !== undefined);
      let decision;
      if (tier.spec.apiGroupRef) {
        const group = groups.get(`${ns}/${tier.spec.apiGroupRef.name}`);
        const members = group ? groupMembership(snapshot(), group).members : [];
        decision = desiredGroupTierStatus(tier, group, members, ofTier, (m) => policiesFor(m as ApiInstance, policies.list()));
      } else {
        const instance = instances.get(`${ns}/${tier.spec.apiInstanceRef?.name}`);
        decision = desiredTierStatus(tier, instance ? [instance] : [], ofTier, instance ? policiesFor(instance, policies.list()) : []);
      }
      const generation = tier.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(tier)?.conditions ?? []) as Condition[];
      const now = decision.ready;
      reportConditionChange(tier, previous, now, { events: deps.events, log: ctx.log, message: 'tier state changed' });
      await deps.status.applyStatus(
        tier,
        SLATIERS.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [now], generation), contracts: decision.contracts },
        SLATIER_MANAGER,
      );
    },
  });
}
