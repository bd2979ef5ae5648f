// SLA tier windows per contract. Not a policy type of its own: once the
// api-key policy has accepted a key, the credential's tier (from the Contract)
// names one of the route's tiers, whose limits are counted per contract, so a
// rotated key's old and new values share one budget.
import type { Tier } from '../../api/gateway/config.ts';
import type { CounterStore, CounterWindow } from '../counters/types.ts';
import { report, retryAfterSeconds, tooManyRequests } from './limits.ts';
import type { Outcome, PolicyContext } from './types.ts';

export interface CompiledTier {
  name: string;
  windows: CounterWindow[];
}

export function compileTier(t: Tier): CompiledTier {
  return {
    name: t.name,
    windows: t.limits.map((l) => ({ name: `${t.name}-${l.periodSeconds}s`, limit: l.requests, windowMs: l.periodSeconds * 1000 })),
  };
}

export function tierCounterKey(routeId: string, contract: string): string {
  return `t|${routeId}|${contract}`;
}

/** Counts the request against the tier; a 429 refusal when a window is full. */
export function enforceTier(counters: CounterStore, tier: CompiledTier, ctx: PolicyContext, contract: string): Outcome | Promise<Outcome> {
  if (tier.windows.length === 0) return undefined;
  const r = counters.consume(tierCounterKey(ctx.routeId, contract), tier.windows, ctx.now);
  const decide = (res: Awaited<typeof r>): Outcome => {
    report(ctx, res);
    if (res.allowed) return undefined;
    return tooManyRequests('sla-tier', `The contract's tier "${tier.name}" allows no more requests in this window.`, retryAfterSeconds(res), ctx);
  };
  return r instanceof Promise ? r.then(decide) : decide(r);
}
