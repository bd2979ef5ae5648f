// The route step: each routable instance's verdict (model/route-verdict.ts)
// decides whether its route is served, held closed (503) or not emitted;
// then the routes are rendered in shards. A RouteDecisions carried from one
// render to the next decides again only the instances whose inputs changed:
// one organization rewriting its Policies or ApiInstances every 100 ms must
// not make each render decide every organization's route again (with 10,000
// instances that took seconds per write and held back other organizations'
// revocations, which wait for the render in progress).
import type { ApiGroup, ApiInstance, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Logger } from 'pino';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { withinRouteSpace } from '../../../model/route-claims.ts';
import { orgName, ownerOfNamespace } from '../../../model/ownership.ts';
import type { Snapshot } from '../../../model/snapshot.ts';
import { policiesFor } from '../../../model/policy-selection.ts';
import { groupsOfInstance } from '../../../model/api-group.ts';
import { gatewayOf } from '../../../model/route-conflicts.ts';
import { gatewayOverBudget } from '../../../model/gateway-names.ts';
import { routeTiersFor } from '../slatier-desired.ts';
import type { RouteInput } from '../../../model/route-entry.ts';
import { renderRoutes, routableInstances, type RenderedRoutes } from './routes.ts';
import type { ServedRoutes } from './state.ts';

export interface RouteSources {
  instances: readonly ApiInstance[];
  policies: readonly Policy[];
  tiers: readonly SlaTier[];
  snapshot: Snapshot;
}

/** One instance's decision (its RouteInput, or undefined when not emitted) and the objects it was decided from. */
interface Decided {
  deps: readonly unknown[];
  input: RouteInput | undefined;
}

const sameObjects = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A gateway's route decisions from its last render, kept by the writer. A
 * decision reads only its instance, the Policies and SlaTiers applied to it,
 * its ApiGroups (and their tiers), the Organizations, the platform settings
 * and its organization's gateway budget (model/gateway-names.ts); informers replace an object on every change, so while each of
 * those is the same object the decision is too. The last rendered shards let
 * an unchanged shard keep its checksum.
 */
export class RouteDecisions {
  #world: readonly unknown[] = [];
  #byInstance = new Map<string, Decided>();
  last: RenderedRoutes | undefined;

  /** Starts a render: everything is decided again when an Organization or the platform settings changed. */
  begin(snapshot: Snapshot): void {
    const world = [snapshot.platform, ...snapshot.organizations()];
    if (!sameObjects(world, this.#world)) this.#byInstance = new Map();
    this.#world = world;
  }

  decide(id: string, deps: readonly unknown[], decide: () => RouteInput | undefined, seen: Map<string, Decided>): RouteInput | undefined {
    const prev = this.#byInstance.get(id);
    const d = prev && sameObjects(prev.deps, deps) ? prev : { deps, input: decide() };
    seen.set(id, d);
    return d.input;
  }

  /** Ends a render: only the instances decided in it are kept (a map rebuilt, not deleted from). */
  end(seen: Map<string, Decided>, rendered: RenderedRoutes): void {
    this.#byInstance = seen;
    this.last = rendered;
  }
}

/** `decisions`: the gateway's decisions from its last render (reused where nothing changed); absent, every instance is decided. */
export function servedRoutes(gateway: string, from: RouteSources, log: Pick<Logger, 'warn'>, decisions = new RouteDecisions()): ServedRoutes {
  // Indexed once: a Policy applies only in its own namespace, by targetRef name or (without one) by selector;
  // scanning every Policy per instance made a render O(instances × policies).
  const ownTiers = new Map<string, SlaTier[]>();
  const groupTiers = new Map<string, SlaTier[]>();
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const tier of from.tiers) {
    if (tier.spec.apiGroupRef) push(groupTiers, `${tier.metadata.namespace}/${tier.spec.apiGroupRef.name}`, tier);
    else push(ownTiers, `${tier.metadata.namespace}/${tier.spec.apiInstanceRef?.name}`, tier);
  }
  const targeted = new Map<string, Policy[]>();
  const bySelector = new Map<string, Policy[]>();
  for (const p of from.policies) {
    if (p.spec.targetRef) push(targeted, `${p.metadata.namespace}/${p.spec.targetRef.name}`, p);
    else push(bySelector, p.metadata.namespace ?? '', p);
  }
  decisions.begin(from.snapshot);
  const seen = new Map<string, Decided>();
  // Only instances inside their route space contest routes (an unserved squatter holds nothing); only those of this
  // gateway (conflicts are per gateway): a render costs its own gateway's instances, not every gateway's.
  const inSpace = withinRouteSpace(from.snapshot);
  const inputs = routableInstances(from.instances.filter((i) => gatewayOf(i) === gateway && inSpace(i)), gateway).flatMap((instance): RouteInput[] => {
    const ns = instance.metadata.namespace ?? '';
    const id = `${ns}/${instance.metadata.name}`;
    const candidates = [...(targeted.get(id) ?? []), ...(bySelector.get(ns) ?? [])];
    const applied = policiesFor(instance, candidates);
    const own = ownTiers.get(id) ?? [];
    const groups: ApiGroup[] = groupsOfInstance(from.snapshot, instance);
    const ofGroups = groups.flatMap((g) => groupTiers.get(`${g.metadata.namespace}/${g.metadata.name}`) ?? []);
    // The gateway budget reads the organization's other instances: its answer is an input too.
    const input = decisions.decide(id, [instance, gatewayOverBudget(from.snapshot, instance), ...applied, ...own, ...groups, ...ofGroups], () => {
      // Its own tiers and its groups' ("<group>/<tier>"): a group tier is on every member's route, counted per contract across them.
      const instanceTiers = routeTiersFor(from.snapshot, instance, [...own, ...ofGroups]);
      const problem = routeVerdict({ snapshot: from.snapshot, instance, policies: applied, tiers: instanceTiers });
      if (problem) log.warn({ instance: id, reason: problem.reason, action: problem.action }, problem.action === 'omit' ? 'route not served' : 'route withheld');
      if (problem?.action === 'omit') return undefined;
      if (problem) return { instance, policies: [], tiers: [], withheld: problem };
      return { instance, policies: applied, tiers: instanceTiers };
    }, seen);
    return input ? [input] : [];
  });
  // Over a shard's budget, the organization taking the most of it gives up its routes first (routes.ts).
  const ownerOf = (i: RouteInput) => {
    const ns = i.instance.metadata.namespace ?? '';
    const owner = ownerOfNamespace(from.snapshot, ns);
    return owner ? orgName(owner.organization) : ns;
  };
  const rendered = renderRoutes(inputs, { ownerOf, previous: decisions.last });
  decisions.end(seen, rendered);
  const omitted = new Set(rendered.omitted);
  for (const id of rendered.trimmed) {
    log.warn({ instance: id, reason: 'RouteTooLarge' }, omitted.has(id) ? 'route left out by the renderer: its shard is over budget even with it closed' : 'route withheld by the renderer: over its size budget or its shard\'s');
  }
  // Keys reach only the routes that are served (not those held closed).
  const held = new Set(rendered.trimmed);
  const served = inputs.filter((r) => !r.withheld).map((r) => `${r.instance.metadata.namespace}/${r.instance.metadata.name}`).filter((id) => !held.has(id));
  return { ids: new Set(served), rendered };
}
