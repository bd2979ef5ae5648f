// ApiInstance reconciler: resolves the Asset the instance implements, decides
// whether it holds its route on its gateway or loses it to an older instance
// (apiinstance-desired.ts), and reports Ready (Routed / AssetNotFound /
// RouteConflict / NoOrganization / NotAnEnvironment / a route problem) and
// TiersEnforced (model/tier-enforcement.ts) with status.endpoint and
// status.gateway, and an Event when the verdict changes. It writes nothing but
// status: the gateway-config renderer (gatewayconfig/served-routes.ts) makes
// the same decisions (route conflicts, model/route-verdict.ts) from the same
// instances.
import type { Manager, ReconcileContext } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import { conditionChanged, reportConditionChange } from '../../kube/effects.ts';
import type { ApiGroup, ApiInstance, Asset, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { groupMembership, memberId } from '../../model/api-group.ts';
import { APIGROUPS, APIINSTANCES, ASSETS, NAMESPACES, ORGANIZATIONS, POLICIES, SLATIERS } from '../resources.ts';
import { tierEnforcement } from '../../model/tier-enforcement.ts';
import { routeTiersFor } from './slatier-desired.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { withinRouteSpace } from '../../model/route-claims.ts';
import { routeVerdict } from '../../model/route-verdict.ts';
import { policiesFor } from '../../model/policy-selection.ts';
import { snapshotReader } from './snapshot.ts';
import type { Deps } from './deps.ts';
import { gatewayOf, routeConflictOf, routeNeighbours } from '../../model/route-conflicts.ts';
import { desiredInstanceStatus, resolveAsset } from './apiinstance-desired.ts';

type Instance = ApiInstance & { kind: string; apiVersion: string };

/** The field manager of this reconciler's status fields (server-side apply). */
export const APIINSTANCE_MANAGER = 'crossgate-apiinstance';

export interface ApiInstanceOptions {
  workers?: number;
  /**
   * The URL clients reach a gateway at (e.g. from CROSSGATE_GATEWAY_URL), for
   * status.endpoint: a string for every gateway, or a lookup per gateway name.
   * Without it the endpoint is "http://<first hostname or *><basePath>".
   */
  gatewayUrl?: string | ((gateway: string) => string | undefined);
  /** Platform settings the route verdict reads (allowed loopback upstreams, reserved hostnames). */
  settings?: PlatformSettings;
}

export function registerApiInstanceController(mgr: Manager, deps: Deps & ApiInstanceOptions): void {
  const instances = mgr.informer<Instance>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const snapshot = snapshotReader(mgr, deps.settings);
  const urlOf = (gateway: string) => (typeof deps.gatewayUrl === 'function' ? deps.gatewayUrl(gateway) : deps.gatewayUrl);
  const all = () => instances.list().map((i) => `${i.metadata.namespace}/${i.metadata.name}`);

  mgr.addController({
    name: 'apiinstance',
    for: APIINSTANCES,
    workers: deps.workers,
    watches: [
      // An instance that appears, moves or goes can start or end a conflict with
      // the others on its gateway and basePath (old and new object are both mapped).
      { resource: APIINSTANCES, map: (o) => routeNeighbours(o as Instance, instances.list()), predicate: generationOrMetadataChanged },
      // The Asset an instance implements appears or goes.
      {
        resource: ASSETS,
        map: (o) => {
          const a = o as Asset;
          return instances.list().filter((i) => i.spec.assetRef?.name === a.metadata?.name).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
        },
        predicate: generationOrMetadataChanged,
      },
      // Home namespaces and environments decide where Assets are looked up; route claims and allowed hosts decide the route.
      { resource: ORGANIZATIONS, map: () => all(), predicate: generationOrMetadataChanged },
      { resource: NAMESPACES, map: () => all(), predicate: generationOrMetadataChanged },
      // A Policy's config decides whether the route is held closed.
      {
        resource: POLICIES,
        map: (o) => {
          const p = o as Policy;
          return instances.list().filter((i) => i.metadata.namespace === p.metadata?.namespace).map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
        },
        predicate: generationOrMetadataChanged,
      },
      // Tiers count toward the route's size and decide TiersEnforced.
      // A group tier is on each member's route: it reaches the members of its group.
      {
        resource: SLATIERS,
        map: (o) => {
          const t = o as SlaTier;
          if (!t.spec?.apiGroupRef) return [`${o.metadata?.namespace}/${t.spec?.apiInstanceRef?.name}`];
          const group = snapshot().apiGroups(o.metadata?.namespace).find((g) => g.metadata.name === t.spec.apiGroupRef!.name);
          return group ? groupMembership(snapshot(), group).members.map((m) => memberId(m)) : [];
        },
        predicate: generationOrMetadataChanged,
      },
      // Joining or leaving a group adds or removes the group's tiers on the route (old and new spec are both mapped).
      { resource: APIGROUPS, map: (o) => ((o as ApiGroup).spec?.instances ?? []).map((r) => `${r.namespace}/${r.name}`), predicate: generationOrMetadataChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const instance = instances.get(key);
      if (!instance || instance.metadata.deletionTimestamp) return;
      const snap = snapshot();
      const asset = resolveAsset(snap, instance);
      const conflict = routeConflictOf(instance, instances.list().filter(withinRouteSpace(snap)));
      const applied = policiesFor(instance, policies.list());
      const instanceTiers = routeTiersFor(snap, instance, tiers.list());
      const problem = routeVerdict({ snapshot: snap, instance, policies: applied, tiers: instanceTiers });
      const decision = desiredInstanceStatus(asset, conflict, instance, urlOf(gatewayOf(instance)), problem);
      const enforced = tierEnforcement(instance.metadata.name!, applied, instanceTiers.length);
      const generation = instance.metadata.generation ?? 0;
      const previous: Condition[] = (deps.status.current(instance)?.conditions ?? []) as Condition[];
      const now = decision.ready;
      const tiersEnforced = { type: 'TiersEnforced', ...enforced };
      // Tiers that start being enforced are no news; only losing enforcement warns.
      if (enforced.status === 'False' && conditionChanged(previous, tiersEnforced)) deps.events.warning(instance, enforced.reason, enforced.message);
      reportConditionChange(instance, previous, now, { events: deps.events, log: ctx.log, message: 'api instance state changed', fields: { gateway: decision.gateway } });
      // Its own fields only (status.analytics is apianalytics'); an undefined endpoint is removed.
      await deps.status.applyStatus(
        instance,
        APIINSTANCES.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [now, tiersEnforced], generation), gateway: decision.gateway, endpoint: decision.endpoint },
        APIINSTANCE_MANAGER,
      );
    },
  });
}
