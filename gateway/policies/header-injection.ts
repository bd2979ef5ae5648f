// header-injection: set (replace) or remove request headers before the
// request goes upstream, and response headers before the upstream's answer
// goes back. Response changes apply to upstream responses only: the
// gateway's own refusals keep their Retry-After, RateLimit and CORS headers.
// Request changes apply before the gateway's own headers are set.
// Reserved headers (the gateway's own x-crossgate-*, forwarding, framing and
// hop-by-hop: api/headers.ts) are refused by the config schema, so a route
// carrying them is withheld before it gets here; compileOps drops them as
// well so no caller can ever apply them.
import type { HeaderInjectionPolicyConfig } from '../../api/policies.ts';
import { isReservedHeader } from '../../api/headers.ts';
import type { HeaderOps, PolicyContext, PolicyHandler } from './types.ts';

export function compileOps(ops: { set?: Record<string, string>; remove?: string[] } | undefined): HeaderOps | undefined {
  if (!ops) return undefined;
  const set = Object.entries(ops.set ?? {})
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .filter(([k]) => !isReservedHeader(k));
  const remove = (ops.remove ?? []).map((h) => h.toLowerCase()).filter((h) => !isReservedHeader(h));
  return set.length || remove.length ? { set, remove } : undefined;
}

/** Applies ops in place to a header object with lower-case names: removals first, then sets. */
export function applyOps(headers: Record<string, string | string[] | number | undefined>, ops: readonly HeaderOps[] | undefined): void {
  if (!ops) return;
  for (const op of ops) {
    for (const h of op.remove) delete headers[h];
    for (const [k, v] of op.set) headers[k] = v;
  }
}

export function compileHeaderInjection(name: string, cfg: HeaderInjectionPolicyConfig): PolicyHandler {
  const req = compileOps(cfg.request);
  const res = compileOps(cfg.response);
  return {
    type: 'header-injection',
    name,
    preflight: false,
    onRequest(ctx: PolicyContext) {
      if (req) (ctx.requestOps ??= []).push(req);
      if (res) (ctx.responseOps ??= []).push(res);
      return undefined;
    },
  };
}
