// Shared by the SLA tier, rate-limit and spike-control modules: the 429
// refusal and the RateLimit headers.
//
// Headers follow the IETF httpapi draft "RateLimit header fields for HTTP"
// in its current structured-field form (draft-ietf-httpapi-ratelimit-headers-09
// and later), not the older RateLimit-Limit/-Remaining/-Reset trio:
//   RateLimit-Policy: "gold-60s";q=1000;w=60, "gold-3600s";q=20000;w=3600
//   RateLimit: "gold-60s";r=998;t=42, "gold-3600s";r=19990;t=1242
// q = quota, w = window (s), r = remaining, t = seconds until reset. They are
// sent on every response of a limited route, refusals included.
import type { ConsumeResult } from '../counters/types.ts';
import type { Refusal } from '../problem.ts';
import type { PolicyContext, RateLimitReport } from './types.ts';

/** Quoted window names, remembered: the names come from the config (a few per tier), and quoting one per response showed in profiles. */
const QUOTED = new Map<string, string>();
const QUOTED_MAX = 4096;

function sfString(s: string): string {
  let q = QUOTED.get(s);
  if (q === undefined) {
    q = `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    // Bounded: a config that churns through names starts the memo over rather than growing it.
    if (QUOTED.size >= QUOTED_MAX) QUOTED.clear();
    QUOTED.set(s, q);
  }
  return q;
}

export function rateLimitHeaders(reports: readonly RateLimitReport[]): { 'ratelimit-policy': string; ratelimit: string } {
  let policy = '';
  let state = '';
  for (const r of reports) {
    const name = sfString(r.name);
    const sep = policy ? ', ' : '';
    policy += `${sep}${name};q=${r.limit};w=${Math.round(r.windowMs / 1000) || 1}`;
    state += `${sep}${name};r=${r.remaining};t=${Math.max(0, Math.ceil(r.resetMs / 1000))}`;
  }
  return { 'ratelimit-policy': policy, ratelimit: state };
}

/** Records the windows of a consume() on the context, for the headers. */
export function report(ctx: PolicyContext, result: ConsumeResult): void {
  const list = (ctx.rateLimits ??= []);
  for (const w of result.windows) list.push({ name: w.name, limit: w.limit, remaining: w.remaining, resetMs: w.resetMs, windowMs: w.windowMs });
}

/** Seconds until the refusing windows all reset, at least 1. */
export function retryAfterSeconds(result: ConsumeResult): number {
  let ms = 0;
  for (const w of result.windows) if (w.exceeded && w.resetMs > ms) ms = w.resetMs;
  return Math.max(1, Math.ceil(ms / 1000));
}

export function tooManyRequests(policy: string, detail: string, retryAfter: number, ctx: PolicyContext | undefined): Refusal {
  const headers: Record<string, string> = { 'retry-after': String(retryAfter) };
  if (ctx?.rateLimits?.length) Object.assign(headers, rateLimitHeaders(ctx.rateLimits));
  return { status: 429, slug: 'rate-limited', title: 'Too Many Requests', detail, policy, headers };
}
