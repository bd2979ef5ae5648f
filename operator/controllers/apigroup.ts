// ApiGroup reconciler (owner side): status.members, status.missing and Ready
// from the group's membership (model/api-group.ts), and status.notServed and
// MembersServed from the route decisions the gateway-config writer makes for
// each member (a member held closed is in no grant of the group). It writes nothing else:
// the group's Contracts are opened by the Application reconciler, its tiers
// reported by the SlaTier reconciler and its grants rendered by the gateway
// config writer, each from the same membership.
import { generationOrMetadataChanged, specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { reportConditionChange } from '../../kube/effects.ts';
import type { ApiGroup, ApiInstance, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { groupMembership } from '../../model/api-group.ts';
import { routeNeighbours } from '../../model/route-conflicts.ts';
import { APIGROUPS, APIINSTANCES, NAMESPACES, ORGANIZATIONS, POLICIES, SLATIERS } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { desiredGroupStatus, desiredServedCondition, membersNotServed, notServedStatus } from './apigroup-desired.ts';
import type { Deps } from './deps.ts';

type Group = ApiGroup & { kind: string; apiVersion: string };

/** The field manager of an ApiGroup's status (server-side apply). */
export const APIGROUP_MANAGER = 'crossgate-apigroup';

export function registerApiGroupController(mgr: Manager, deps: Deps & { workers?: number; settings?: PlatformSettings }): void {
  const groups = mgr.informer<Group>(APIGROUPS);
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  // The route verdict reads the platform settings (allowed loopback upstreams, reserved hostnames), as the ApiInstance reconciler's does.
  const snapshot = snapshotReader(mgr, deps.settings);
  const all = () => groups.list().map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
  // The groups that list an instance (by spec, whoever's they are: a group naming a foreign instance reports it).
  const listing = (o: { metadata?: { namespace?: string; name?: string } }) =>
    groups
      .list()
      .filter((g) => (g.spec.instances ?? []).some((r) => r.namespace === o.metadata?.namespace && r.name === o.metadata?.name))
      .map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
  const listingAny = (ids: Iterable<string>) => {
    const wanted = new Set(ids);
    return groups
      .list()
      .filter((g) => (g.spec.instances ?? []).some((r) => wanted.has(`${r.namespace}/${r.name}`)))
      .map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
  };
  const inNamespace = (ns: string | undefined) => listingAny(instances.list().filter((i) => i.metadata.namespace === ns).map((i) => `${i.metadata.namespace}/${i.metadata.name}`));

  mgr.addController({
    name: 'apigroup',
    for: APIGROUPS,
    workers: deps.workers,
    watches: [
      // A member itself, and whether a member's route is served: a neighbour on its gateway and basePath (route conflicts), its Policies, its tiers.
      { resource: APIINSTANCES, map: (o) => [...new Set([...listing(o), ...listingAny(routeNeighbours(o as ApiInstance, instances.list()))])], predicate: specOrDeletionChanged },
      { resource: POLICIES, map: (o) => inNamespace(o.metadata?.namespace), predicate: generationOrMetadataChanged },
      {
        resource: SLATIERS,
        map: (o) => {
          const t = o as SlaTier;
          return t.spec?.apiGroupRef ? [`${o.metadata?.namespace}/${t.spec.apiGroupRef.name}`] : listingAny([`${o.metadata?.namespace}/${t.spec?.apiInstanceRef?.name}`]);
        },
        predicate: generationOrMetadataChanged,
      },
      // Which namespaces are whose decides membership.
      { resource: ORGANIZATIONS, map: () => all(), predicate: generationOrMetadataChanged },
      { resource: NAMESPACES, map: () => all(), predicate: generationOrMetadataChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const group = groups.get(key);
      if (!group || group.metadata.deletionTimestamp) return;
      const snap = snapshot();
      const membership = groupMembership(snap, group);
      const decision = desiredGroupStatus(membership);
      const notServed = membersNotServed(membership.members, { snapshot: snap, instances: instances.list(), policies: policies.list(), tiers: tiers.list() });
      const served = desiredServedCondition(membership.members.length, notServed);
      const generation = group.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(group)?.conditions ?? []) as Condition[];
      reportConditionChange(group, previous, decision.ready, { events: deps.events, log: ctx.log, message: 'group membership changed', fields: { members: decision.members } });
      reportConditionChange(group, previous, served, { events: deps.events, log: ctx.log, message: 'group members served changed', fields: { notServed: notServed.map((n) => n.instance) } });
      await deps.status.applyStatus(
        group,
        APIGROUPS.plural,
        {
          observedGeneration: generation,
          conditions: ownConditions(previous, [decision.ready, served], generation),
          members: decision.members,
          missing: decision.missing,
          notServed: notServedStatus(notServed),
        },
        APIGROUP_MANAGER,
      );
    },
  });
}
