// What an ApiInstance's route is in the gateway config (api/gateway/config.ts
// Route): built here, once, for the renderer (what it writes) and for the size
// check (model/route-size.ts: what it measures), so both see the same bytes.
import type { ApiInstance, Policy, SlaTier } from '../api/v1alpha1/index.ts';
import { PERIOD_SECONDS, type Route } from '../api/gateway/config.ts';
import { upstreamUrlOf } from './upstream.ts';

export interface RouteInput {
  instance: ApiInstance;
  /** Already in enforcement order. */
  policies: readonly Policy[];
  tiers: readonly SlaTier[];
  /** Set when the route is held closed (model/route-verdict.ts): emitted without upstream, policies or tiers. */
  withheld?: { reason: string; message: string };
}

/** The id of an instance's route: "namespace/name". */
export function routeIdOf(instance: Pick<ApiInstance, 'metadata'>): string {
  return `${instance.metadata?.namespace ?? ''}/${instance.metadata?.name ?? ''}`;
}

export function routeOf({ instance, policies, tiers, withheld }: RouteInput): Route {
  const ns = instance.metadata?.namespace ?? '';
  const timeoutMs = (instance.spec.upstream.timeoutSeconds ?? 30) * 1000;
  const id = routeIdOf(instance);
  const hostnames = [...(instance.spec.hostnames ?? [])].sort();
  if (withheld) {
    return { id, hostnames, basePath: instance.spec.basePath, upstream: { url: '', timeoutMs }, policies: [], tiers: [], withheld: { reason: withheld.reason, message: withheld.message } };
  }
  return {
    id,
    hostnames,
    basePath: instance.spec.basePath,
    upstream: { url: upstreamUrlOf(instance), timeoutMs },
    policies: policies.map((p) => ({ name: `${ns}/${p.metadata?.name ?? ''}`, type: p.spec.type, order: p.spec.order ?? 100, config: (p.spec.config ?? {}) as Record<string, unknown> })),
    tiers: [...tiers]
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map((t) => ({ name: t.metadata?.name ?? '', limits: t.spec.limits.map((l) => ({ requests: l.requests, periodSeconds: PERIOD_SECONDS[l.period] })) })),
  };
}
