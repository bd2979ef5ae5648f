// How big a route is in the gateway config, and the budget one route may use.
//
// Routes are written in shards (api/gateway/config.ts), each at most MAX_PART_BYTES;
// a route over MAX_ROUTE_BYTES would crowd the other routes of its shard out,
// so it is held closed (503, reason RouteTooLarge) instead of emitted whole.
// routeSizeProblem is the one decision: the route verdict (what the
// ApiInstance's Ready says) and the renderer (what it emits) both measure the
// JSON of the same Route (routeOf, model/route-entry.ts).
import type { Route } from '../api/gateway/config.ts';
import { routeOf } from './route-entry.ts';
import type { RouteProblem, RouteVerdictInput } from './route-verdict.ts';

/** The most bytes of one route's JSON in the config (a shard is 900 KiB; a handful of the largest routes still fit one). */
export const MAX_ROUTE_BYTES = 128 * 1024;

/** The bytes a value takes in the config (JSON, as the renderer writes it). */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');

/** Why a route is too large to be emitted whole (over `budget` bytes), naming what to shrink; undefined when it fits. */
export function routeSizeProblem(route: Route, budget = MAX_ROUTE_BYTES): RouteProblem | undefined {
  const total = jsonBytes(route);
  if (total <= budget) return undefined;
  let largest: { name: string; bytes: number } | undefined;
  for (const p of route.policies) {
    const bytes = jsonBytes(p);
    if (!largest || bytes > largest.bytes) largest = { name: p.name.slice(p.name.indexOf('/') + 1), bytes };
  }
  const what = largest ? `; the largest part is the config of Policy "${largest.name}" (${largest.bytes} bytes): make it smaller or split it` : '; shorten its hostnames or tiers';
  return {
    action: 'withhold',
    reason: 'RouteTooLarge',
    message: `the gateway answers 503 on this route: its configuration is ${total} bytes, over the ${budget}-byte budget of one route${what}`,
  };
}

/** Route check (model/route-verdict.ts): a route over MAX_ROUTE_BYTES is held closed, never written whole. */
export function routeWithinBudget({ instance, policies, tiers }: RouteVerdictInput, budget = MAX_ROUTE_BYTES): RouteProblem | undefined {
  return routeSizeProblem(routeOf({ instance, policies, tiers: tiers ?? [] }), budget);
}
