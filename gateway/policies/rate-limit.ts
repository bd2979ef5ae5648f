// rate-limit: fixed windows counted per API (all callers together), per
// client (the id an earlier api-key policy recorded; callers without one are
// counted by address) or per client address. Counts go to the configured
// store (memory per replica, or Redis shared).
import { PERIOD_SECONDS } from '../../api/gateway/config.ts';
import type { RateLimitPolicyConfig } from '../../api/policies.ts';
import type { CounterWindow } from '../counters/types.ts';
import { clientAddressKey } from './ip-list.ts';
import { NO_TRUSTED_PROXIES, type TrustedProxies } from '../client-address.ts';
import { report, retryAfterSeconds, tooManyRequests } from './limits.ts';
import type { Outcome, PolicyContext, PolicyDeps, PolicyHandler } from './types.ts';

export function rateLimitWindows(name: string, cfg: RateLimitPolicyConfig): CounterWindow[] {
  return cfg.limits.map((l) => ({ name: `${name}-${PERIOD_SECONDS[l.period]}s`, limit: l.requests, windowMs: PERIOD_SECONDS[l.period] * 1000 }));
}

/** Whose requests count together (pure): per ip, the canonical client address (gateway/client-address.ts), never the text sent. */
export function rateLimitSubject(per: 'api' | 'client' | 'ip', ctx: PolicyContext, clientIpHeader: string | undefined, trusted: TrustedProxies = NO_TRUSTED_PROXIES): string {
  if (per === 'api') return 'api';
  if (per === 'client' && ctx.client) return `client:${ctx.client}`;
  return `ip:${clientAddressKey(ctx.headers, ctx.remoteAddress, clientIpHeader, trusted)}`;
}

/** clientIpHeader: the route's trusted client-address header (from its IP list policies), if any. */
export function compileRateLimit(name: string, cfg: RateLimitPolicyConfig, deps: PolicyDeps, clientIpHeader: string | undefined): PolicyHandler {
  const windows = rateLimitWindows(name, cfg);
  const per = cfg.per ?? 'api';
  const counters = deps.counters;
  const trusted = deps.trustedProxies ?? NO_TRUSTED_PROXIES;
  return {
    type: 'rate-limit',
    name,
    preflight: true,
    onRequest(ctx: PolicyContext) {
      const subject = rateLimitSubject(per, ctx, clientIpHeader, trusted);
      const key = `rl|${ctx.routeId}|${name}|${subject}`;
      // Per-address counters are bounded in number per route (see counters/memory.ts); per api or client they are not client-chosen.
      const r = counters.consume(key, windows, ctx.now, subject.startsWith('ip:') ? ctx.routeId : undefined);
      const decide = (res: Awaited<typeof r>): Outcome => {
        report(ctx, res);
        if (res.allowed) return undefined;
        if (res.saturated) return tooManyRequests('rate-limit', 'Too many client addresses are being counted on this API; try again when the current window ends.', retryAfterSeconds(res), ctx);
        return tooManyRequests('rate-limit', `Rate limit of this API exceeded (counted per ${per}).`, retryAfterSeconds(res), ctx);
      };
      return r instanceof Promise ? r.then(decide) : decide(r);
    },
  };
}
