// ApiGroup reconciler (owner side): status.members, status.missing and Ready
// from the group's membership (model/api-group.ts). It writes nothing else:
// the group's Contracts are opened by the Application reconciler, its tiers
// reported by the SlaTier reconciler and its grants rendered by the gateway
// config writer, each from the same membership.
import { generationOrMetadataChanged, specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { reportConditionChange } from '../../kube/effects.ts';
import type { ApiGroup } from '../../api/v1alpha1/index.ts';
import { groupMembership } from '../../model/api-group.ts';
import { APIGROUPS, APIINSTANCES, NAMESPACES, ORGANIZATIONS } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { desiredGroupStatus } from './apigroup-desired.ts';
import type { Deps } from './deps.ts';

type Group = ApiGroup & { kind: string; apiVersion: string };

/** The field manager of an ApiGroup's status (server-side apply). */
export const APIGROUP_MANAGER = 'crossgate-apigroup';

export function registerApiGroupController(mgr: Manager, deps: Deps & { workers?: number }): void {
  const groups = mgr.informer<Group>(APIGROUPS);
  const snapshot = snapshotReader(mgr);
  const all = () => groups.list().map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
  // The groups that list an instance (by spec, whoever's they are: a group naming a foreign instance reports it).
  const listing = (o: { metadata?: { namespace?: string; name?: string } }) =>
    groups
      .list()
      .filter((g) => (g.spec.instances ?? []).some((r) => r.namespace === o.metadata?.namespace && r.name === o.metadata?.name))
      .map((g) => `${g.metadata.namespace}/${g.metadata.name}`);

  mgr.addController({
    name: 'apigroup',
    for: APIGROUPS,
    workers: deps.workers,
    watches: [
      { resource: APIINSTANCES, map: listing, predicate: specOrDeletionChanged },
      // Which namespaces are whose decides membership.
      { resource: ORGANIZATIONS, map: () => all(), predicate: generationOrMetadataChanged },
      { resource: NAMESPACES, map: () => all(), predicate: generationOrMetadataChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const group = groups.get(key);
      if (!group || group.metadata.deletionTimestamp) return;
      const decision = desiredGroupStatus(groupMembership(snapshot(), group));
      const generation = group.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(group)?.conditions ?? []) as Condition[];
      reportConditionChange(group, previous, decision.ready, { events: deps.events, log: ctx.log, message: 'group membership changed', fields: { members: decision.members } });
      await deps.status.applyStatus(
        group,
        APIGROUPS.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [decision.ready], generation), members: decision.members, missing: decision.missing },
        APIGROUP_MANAGER,
      );
    },
  });
}
