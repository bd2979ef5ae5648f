// header-injection: set (replace) or remove request headers before the
// request goes upstream, and response headers before the upstream's answer
// goes back. Response changes apply to upstream responses only: the
// gateway's own refusals keep their Retry-After, RateLimit and CORS headers.
// Headers that define the message framing or the connection (Host,
// Content-Length, Transfer-Encoding, hop-by-hop) cannot be changed; such
// entries are ignored.
import type { HeaderInjectionPolicyConfig } from '../../api/policies.ts';
import type { HeaderOps, PolicyContext, PolicyHandler } from './types.ts';

export const PROTECTED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
]);

export function compileOps(ops: { set?: Record<string, string>; remove?: string[] } | undefined): HeaderOps | undefined {
  if (!ops) return undefined;
  const set = Object.entries(ops.set ?? {})
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .filter(([k]) => !PROTECTED_HEADERS.has(k));
  const remove = (ops.remove ?? []).map((h) => h.toLowerCase()).filter((h) => !PROTECTED_HEADERS.has(h));
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
