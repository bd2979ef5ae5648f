// Routes, pure: each served ApiInstance becomes a Route (api/gateway/v1.ts)
// in the route shard its id hashes to, within the size budgets, so every
// route shard can always be written.
import type { ApiInstance } from '../../../api/v1alpha1/index.ts';
import { MAX_PART_BYTES, ROUTE_SHARDS, type Route } from '../../../api/gateway/v1.ts';
import { checksumOf, routeShardOf } from '../../../api/gateway/checksum.ts';
import { routeOf, type RouteInput } from '../../../model/route-entry.ts';
import { jsonBytes, MAX_ROUTE_BYTES, routeSizeProblem } from '../../../model/route-size.ts';
import { gatewayOf, instanceId, routeConflicts } from '../apiinstance-desired.ts';

/** One route shard's content (a Routes part) and its checksum. */
export interface RenderedRouteShard {
  routes: Route[];
  checksum: string;
}

/** The route shards, ROUTE_SHARDS of them, each in id order with its checksum: what render() needs of them (a writer may keep it while the routes do not change). */
export interface RenderedRoutes {
  shards: RenderedRouteShard[];
  /** Routes the renderer itself held closed (ids): over MAX_ROUTE_BYTES, or the largest of a shard over MAX_PART_BYTES; besides those the route verdict withheld. */
  trimmed: string[];
}

const tooLarge = (bytes: number, budget: number, why: string) => ({
  reason: 'RouteTooLarge',
  message: `the gateway answers 503 on this route: its configuration is ${bytes} bytes, ${why} (budget ${budget} bytes); make its Policies' configs smaller`,
});

/**
 * Routes in shards. A route over MAX_ROUTE_BYTES is emitted withheld, by the
 * same decision as the route verdict's (routeSizeProblem, which normally
 * withheld it already); a shard still over the part budget has its largest
 * routes withheld until it fits, so every shard can always be written.
 */
export function renderRoutes(inputs: RouteInput[], budgets: { route?: number; part?: number } = {}): RenderedRoutes {
  const routeBudget = budgets.route ?? MAX_ROUTE_BYTES;
  const partBudget = budgets.part ?? MAX_PART_BYTES;
  const buckets: Array<Array<{ input: RouteInput; route: Route; bytes: number }>> = Array.from({ length: ROUTE_SHARDS }, () => []);
  const trimmed: string[] = [];
  for (const input of inputs) {
    let route = routeOf(input);
    const overBudget = routeSizeProblem(route, routeBudget);
    if (overBudget) {
      route = routeOf({ ...input, withheld: overBudget });
      trimmed.push(route.id);
    }
    const bytes = jsonBytes(route);
    buckets[routeShardOf(route.id, ROUTE_SHARDS)]!.push({ input, route, bytes });
  }
  const shards = buckets.map((bucket) => {
    // The part's own fields (apiVersion, kind, gateway, generation, checksum, shard numbers) and separators.
    let total = 300 + bucket.reduce((n, r) => n + r.bytes + 1, 0);
    if (total > partBudget) {
      for (const r of [...bucket].sort((a, b) => b.bytes - a.bytes || (a.route.id < b.route.id ? -1 : 1))) {
        if (total <= partBudget) break;
        if (r.route.withheld && r.bytes < 1024) continue;
        const held = routeOf({ ...r.input, withheld: tooLarge(r.bytes, partBudget, 'and its route shard is over the budget of one config part') });
        const bytes = jsonBytes(held);
        total += bytes - r.bytes;
        r.route = held;
        r.bytes = bytes;
        trimmed.push(held.id);
      }
    }
    const routes = bucket.map((r) => r.route).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { routes, checksum: checksumOf(routes) };
  });
  return { shards, trimmed };
}

/** Instances a gateway serves: on that gateway, not being deleted, and not losing a route conflict. */
export function routableInstances<T extends ApiInstance>(instances: readonly T[], gateway: string): T[] {
  const losers = routeConflicts(instances);
  return instances.filter((i) => gatewayOf(i) === gateway && !i.metadata.deletionTimestamp && !losers.has(instanceId(i)));
}
