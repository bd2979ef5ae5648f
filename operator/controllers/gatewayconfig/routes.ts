// Routes, pure: each served ApiInstance becomes a Route (api/gateway/config.ts)
// in the route shard its id hashes to, within the size budgets, so every
// route shard can always be written.
import type { ApiInstance } from '../../../api/v1alpha1/index.ts';
import { MAX_PART_BYTES, ROUTE_SHARDS, type Route } from '../../../api/gateway/config.ts';
import { checksumOf, routeShardOf } from '../../../api/gateway/checksum.ts';
import { routeOf, type RouteInput } from '../../../model/route-entry.ts';
import { jsonBytes, MAX_ROUTE_BYTES, routeSizeProblem } from '../../../model/route-size.ts';
import { gatewayOf, instanceId, routeConflicts } from '../../../model/route-conflicts.ts';

/** One route shard's content (a Routes part) and its checksum. */
export interface RenderedRouteShard {
  routes: Route[];
  checksum: string;
}

/** The route shards, ROUTE_SHARDS of them, each in id order with its checksum: what render() needs of them (a writer may keep it while the routes do not change). */
export interface RenderedRoutes {
  shards: RenderedRouteShard[];
  /** Routes the renderer itself held closed or left out (ids): over MAX_ROUTE_BYTES, or given up to fit their shard; besides those the route verdict withheld. */
  trimmed: string[];
  /** Of those, the routes left out of the config altogether (their shard did not fit even with them closed). */
  omitted: string[];
}

/**
 * The bytes of a Routes part besides its routes: its own fields (apiVersion,
 * kind, a gateway name of up to 63 characters, generation, checksum, shard
 * numbers) and brackets, at most (a unit test writes the longest).
 */
export const ROUTES_PART_OVERHEAD = 300;

/** A route in its shard: the organization it belongs to, and its bytes in the part. */
interface Placed {
  input: RouteInput;
  route: Route;
  bytes: number;
  owner: string;
}

const largestFirst = (a: Placed, b: Placed) => b.bytes - a.bytes || (a.route.id < b.route.id ? -1 : 1);

const shardTooLarge = (owner: string, ownerBytes: number, budget: number) => ({
  reason: 'RouteTooLarge',
  message:
    `the gateway answers 503 on this route: its route shard is over the ${budget}-byte budget of one config part, and Organization "${owner}", ` +
    `which takes the most of it (${ownerBytes} bytes), gives up its largest routes first. Make its ApiInstances' routes smaller (fewer or shorter hostnames, smaller Policy configs) or fewer`,
});

/**
 * Fits one route shard into the part budget. While it is over, the organization
 * taking the most bytes of the shard gives up its largest route: held closed
 * (503) if it is served and closing it makes it smaller, else left out of the
 * config. So a tenant filling a shard costs its own routes, never a neighbour's
 * that takes less of the shard, and the shard can always be written: one that
 * cannot be written keeps its old content at the gateway, for every
 * organization with a route in it.
 */
function fitShard(bucket: Placed[], budget: number): { kept: Placed[]; held: string[]; omitted: string[] } {
  let total = ROUTES_PART_OVERHEAD + bucket.reduce((n, r) => n + r.bytes + 1, 0);
  const held: string[] = [];
  const omitted: string[] = [];
  if (total <= budget) return { kept: bucket, held, omitted };
  const byOwner = new Map<string, { bytes: number; routes: Placed[] }>();
  for (const r of bucket) {
    const o = byOwner.get(r.owner) ?? { bytes: 0, routes: [] };
    o.bytes += r.bytes + 1;
    o.routes.push(r);
    byOwner.set(r.owner, o);
  }
  for (const o of byOwner.values()) o.routes.sort(largestFirst);
  const gone = new Set<Placed>();
  while (total > budget && byOwner.size > 0) {
    let owner = '';
    let most: { bytes: number; routes: Placed[] } | undefined;
    for (const [name, o] of byOwner) if (!most || o.bytes > most.bytes || (o.bytes === most.bytes && name < owner)) [owner, most] = [name, o];
    const r = most!.routes.shift()!;
    const closed = r.route.withheld ? undefined : routeOf({ ...r.input, withheld: shardTooLarge(owner, most!.bytes, budget) });
    const closedBytes = closed ? jsonBytes(closed) : Infinity;
    if (closed && closedBytes < r.bytes) {
      total += closedBytes - r.bytes;
      most!.bytes += closedBytes - r.bytes;
      r.route = closed;
      r.bytes = closedBytes;
      held.push(r.route.id);
      const at = most!.routes.findIndex((x) => largestFirst(r, x) < 0);
      most!.routes.splice(at < 0 ? most!.routes.length : at, 0, r);
    } else {
      total -= r.bytes + 1;
      most!.bytes -= r.bytes + 1;
      gone.add(r);
      omitted.push(r.route.id);
      if (most!.routes.length === 0) byOwner.delete(owner);
    }
  }
  return { kept: bucket.filter((r) => !gone.has(r)), held, omitted };
}

export interface RenderOptions {
  /** Budget of one route (default MAX_ROUTE_BYTES) and of one route shard (default MAX_PART_BYTES). */
  route?: number;
  part?: number;
  /** The organization a route belongs to, which gives up its routes first when their shard is over budget; default its namespace. */
  ownerOf?: (input: RouteInput) => string;
  /** The last render's shards: a shard whose routes are the very same objects keeps its checksum (not hashed again). */
  previous?: RenderedRoutes;
}

/** Each input's route and bytes, for as long as the input object lives (RouteDecisions hands back the same one while nothing changed). */
const PLACED = new WeakMap<RouteInput, { route: Route; bytes: number; overBudget: boolean }>();

function placedOf(input: RouteInput, budget: number): { route: Route; bytes: number; overBudget: boolean } {
  const known = PLACED.get(input);
  if (known && budget === MAX_ROUTE_BYTES) return known;
  let route = routeOf(input);
  const overBudget = routeSizeProblem(route, budget);
  if (overBudget) route = routeOf({ ...input, withheld: overBudget });
  const placed = { route, bytes: jsonBytes(route), overBudget: overBudget !== undefined };
  if (budget === MAX_ROUTE_BYTES) PLACED.set(input, placed);
  return placed;
}

/**
 * Routes in shards. A route over MAX_ROUTE_BYTES is emitted withheld, by the
 * same decision as the route verdict's (routeSizeProblem, which normally
 * withheld it already); a shard over the part budget is fitted (fitShard):
 * every shard can always be written.
 */
export function renderRoutes(inputs: RouteInput[], opts: RenderOptions = {}): RenderedRoutes {
  const routeBudget = opts.route ?? MAX_ROUTE_BYTES;
  const partBudget = opts.part ?? MAX_PART_BYTES;
  const ownerOf = opts.ownerOf ?? ((i: RouteInput) => i.instance.metadata?.namespace ?? '');
  const buckets: Placed[][] = Array.from({ length: ROUTE_SHARDS }, () => []);
  const trimmed = new Set<string>();
  const omitted: string[] = [];
  for (const input of inputs) {
    const { route, bytes, overBudget } = placedOf(input, routeBudget);
    if (overBudget) trimmed.add(route.id);
    buckets[routeShardOf(route.id, ROUTE_SHARDS)]!.push({ input, route, bytes, owner: ownerOf(input) });
  }
  const shards = buckets.map((bucket, shard) => {
    const fitted = fitShard(bucket, partBudget);
    for (const id of [...fitted.held, ...fitted.omitted]) trimmed.add(id);
    omitted.push(...fitted.omitted);
    const routes = fitted.kept.map((r) => r.route).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const before = opts.previous?.shards[shard];
    if (before && before.routes.length === routes.length && before.routes.every((r, i) => r === routes[i])) return before;
    return { routes, checksum: checksumOf(routes) };
  });
  return { shards, trimmed: [...trimmed], omitted };
}

/** Instances a gateway serves: on that gateway, not being deleted, and not losing a route conflict. */
export function routableInstances<T extends ApiInstance>(instances: readonly T[], gateway: string): T[] {
  const losers = routeConflicts(instances);
  return instances.filter((i) => gatewayOf(i) === gateway && !i.metadata.deletionTimestamp && !losers.has(instanceId(i)));
}
