// The route step: each routable instance's verdict (model/route-verdict.ts)
// decides whether its route is served, held closed (503) or not emitted;
// then the routes are rendered in shards.
import type { ApiInstance, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Logger } from 'pino';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { withinRouteSpace } from '../../../model/route-claims.ts';
import { orgName, ownerOfNamespace } from '../../../model/ownership.ts';
import type { Snapshot } from '../../../model/snapshot.ts';
import { policiesFor } from '../../../model/policy-selection.ts';
import { routeTiersFor } from '../slatier-desired.ts';
import type { RouteInput } from '../../../model/route-entry.ts';
import { renderRoutes, routableInstances } from './routes.ts';
import type { ServedRoutes } from './state.ts';

export interface RouteSources {
  instances: readonly ApiInstance[];
  policies: readonly Policy[];
  tiers: readonly SlaTier[];
  snapshot: Snapshot;
}

export function servedRoutes(gateway: string, from: RouteSources, log: Pick<Logger, 'warn'>): ServedRoutes {
  const tiersByInstance = new Map<string, SlaTier[]>();
  const groupTiers: SlaTier[] = [];
  for (const tier of from.tiers) {
    if (tier.spec.apiGroupRef) {
      groupTiers.push(tier);
      continue;
    }
    const id = `${tier.metadata.namespace}/${tier.spec.apiInstanceRef?.name}`;
    const list = tiersByInstance.get(id);
    if (list) list.push(tier);
    else tiersByInstance.set(id, [tier]);
  }
  // Only instances inside their route space contest routes (an unserved squatter holds nothing).
  const inputs = routableInstances(from.instances.filter(withinRouteSpace(from.snapshot)), gateway).flatMap((instance): RouteInput[] => {
    const id = `${instance.metadata.namespace}/${instance.metadata.name}`;
    const applied = policiesFor(instance, from.policies);
    // Its own tiers and its groups' ("<group>/<tier>"): a group tier is on every member's route, counted per contract across them.
    const instanceTiers = routeTiersFor(from.snapshot, instance, [...(tiersByInstance.get(id) ?? []), ...groupTiers]);
    const problem = routeVerdict({ snapshot: from.snapshot, instance, policies: applied, tiers: instanceTiers });
    if (problem) log.warn({ instance: id, reason: problem.reason, action: problem.action }, problem.action === 'omit' ? 'route not served' : 'route withheld');
    if (problem?.action === 'omit') return [];
    if (problem) return [{ instance, policies: [], tiers: [], withheld: problem }];
    return [{ instance, policies: applied, tiers: instanceTiers }];
  });
  // Over a shard's budget, the organization taking the most of it gives up its routes first (routes.ts).
  const ownerOf = (i: RouteInput) => {
    const ns = i.instance.metadata.namespace ?? '';
    const owner = ownerOfNamespace(from.snapshot, ns);
    return owner ? orgName(owner.organization) : ns;
  };
  const rendered = renderRoutes(inputs, { ownerOf });
  const omitted = new Set(rendered.omitted);
  for (const id of rendered.trimmed) {
    log.warn({ instance: id, reason: 'RouteTooLarge' }, omitted.has(id) ? 'route left out by the renderer: its shard is over budget even with it closed' : 'route withheld by the renderer: over its size budget or its shard\'s');
  }
  // Keys reach only the routes that are served (not those held closed).
  const held = new Set(rendered.trimmed);
  const served = inputs.filter((r) => !r.withheld).map((r) => `${r.instance.metadata.namespace}/${r.instance.metadata.name}`).filter((id) => !held.has(id));
  return { ids: new Set(served), rendered };
}
