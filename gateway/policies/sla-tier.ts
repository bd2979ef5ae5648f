// SLA tier windows per contract. Not a policy type of its own: once a
// credential policy (api-key, client-id-enforcement) has accepted a
// credential, its grant's tier (from the Contract) names one of the route's
// tiers, whose limits are counted per contract: a rotated key's old and new
// values share one budget, and so do the routes of a contract that opens
// several (each route's tier says the limits; the count is the contract's).
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

/** The counter of a contract's tier windows: one per contract, whichever of its routes is called. */
export function tierCounterKey(contract: string): string {
  return `t|${contract}`;
}

/** Counts the request against the tier; a 429 refusal when a window is full. */
export function enforceTier(counters: CounterStore, tier: CompiledTier, ctx: PolicyContext, contract: string): Outcome | Promise<Outcome> {
  if (tier.windows.length === 0) return undefined;
  const r = counters.consume(tierCounterKey(contract), tier.windows, ctx.now);
  const decide = (res: Awaited<typeof r>): Outcome => {
    report(ctx, res);
    if (res.allowed) return undefined;
    return tooManyRequests('sla-tier', `The contract's tier "${tier.name}" allows no more requests in this window.`, retryAfterSeconds(res), ctx);
  };
  return r instanceof Promise ? r.then(decide) : decide(r);
}
