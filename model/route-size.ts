// How big a route is in the gateway config, and the budget one route may use.
//
// Routes are written in shards (api/gateway/config.ts), each at most MAX_PART_BYTES;
// a route over MAX_ROUTE_BYTES would crowd the other routes of its shard out,
// so it is held closed (503, reason RouteTooLarge) instead of emitted whole.
// The estimate is computed from the instance, its applied policies and its
// tiers, the inputs the renderer writes, so the renderer (what it emits) and
// the ApiInstance's Ready condition (what it says) agree without rendering.
import type { ApiInstance, Policy, SlaTier } from '../api/v1alpha1/index.ts';
import type { RouteProblem, RouteVerdictInput } from './route-verdict.ts';
import { upstreamUrlOf } from './upstream.ts';

/** The most bytes of one route's JSON in the config (a shard is 900 KiB; a handful of the largest routes still fit one). */
export const MAX_ROUTE_BYTES = 128 * 1024;

/** Field names and punctuation of a route, a policy entry and a tier entry (api/gateway/config.ts Route), rounded up. */
const ROUTE_OVERHEAD = 160;
const POLICY_OVERHEAD = 64;
const TIER_OVERHEAD = 32;
const LIMIT_BYTES = 48;

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

export interface RouteSize {
  total: number;
  /** The policy contributing most, if any: named in the message so the user knows what to shrink. */
  largestPolicy: { name: string; bytes: number } | undefined;
}

/** An upper estimate of the bytes the route of `instance` takes in the config (JSON, as the renderer writes it). */
export function routeSize(instance: ApiInstance, policies: readonly Policy[], tiers: readonly SlaTier[]): RouteSize {
  const ns = instance.metadata?.namespace ?? '';
  let total = ROUTE_OVERHEAD + bytes(`${ns}/${instance.metadata?.name ?? ''}`) + bytes(instance.spec.hostnames ?? []) + bytes(instance.spec.basePath);
  total += bytes(upstreamUrlOf(instance));
  let largestPolicy: RouteSize['largestPolicy'];
  for (const p of policies) {
    const b = POLICY_OVERHEAD + bytes(`${ns}/${p.metadata?.name ?? ''}`) + bytes(p.spec.type) + bytes(p.spec.config ?? {});
    total += b;
    if (!largestPolicy || b > largestPolicy.bytes) largestPolicy = { name: p.metadata?.name ?? '', bytes: b };
  }
  for (const t of tiers) total += TIER_OVERHEAD + bytes(t.metadata?.name ?? '') + LIMIT_BYTES * (t.spec.limits?.length ?? 0);
  return { total, largestPolicy };
}

/** Route check (model/route-verdict.ts): a route over MAX_ROUTE_BYTES is held closed, never written whole. */
export function routeWithinBudget({ instance, policies, tiers }: RouteVerdictInput, budget = MAX_ROUTE_BYTES): RouteProblem | undefined {
  const size = routeSize(instance, policies, tiers ?? []);
  if (size.total <= budget) return undefined;
  const largest = size.largestPolicy;
  const what = largest ? `; the largest part is the config of Policy "${largest.name}" (about ${largest.bytes} bytes): make it smaller or split it` : '; shorten its hostnames or tiers';
  return {
    action: 'withhold',
    reason: 'RouteTooLarge',
    message: `the gateway answers 503 on this route: its configuration is about ${size.total} bytes, over the ${budget}-byte budget of one route${what}`,
  };
}
