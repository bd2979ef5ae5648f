// api-key: client-id enforcement. The presented key (header, default
// x-api-key, or a configured query parameter) is hashed with hashApiKey and
// looked up in the credential index; the credential must be for this route
// and inside notBefore/notAfter. Every failure but "no key at all" gets the
// same 401 so a caller learns nothing about which keys exist, where they
// work or when they expire; the precise reason goes to the debug log with the
// non-secret key id. On success the client id, contract and tier are recorded
// and the tier's windows are enforced (sla-tier.ts). The key header and
// query parameter are not forwarded upstream.
import type { ApiKeyPolicyConfig } from '../../api/policies.ts';
import { hashApiKey, keyIdOf } from '../../api/apikey-format.ts';
import type { CompiledCredential } from '../compiled.ts';
import type { Refusal } from '../problem.ts';
import { enforceTier, type CompiledTier } from './sla-tier.ts';
import { headerValue, type PolicyContext, type PolicyDeps, type PolicyHandler } from './types.ts';
import { formDecode, queryPair } from '../query.ts';

export const DEFAULT_API_KEY_HEADER = 'x-api-key';

export type KeyCheck = 'ok' | 'unknown' | 'wrong-route' | 'not-yet-valid' | 'expired';

/** Pure: may this credential call `routeId` at `now`? */
export function checkCredential(cred: CompiledCredential | undefined, routeId: string, now: number): KeyCheck {
  if (!cred) return 'unknown';
  if (cred.route !== routeId) return 'wrong-route';
  if (cred.notBefore !== undefined && now < cred.notBefore) return 'not-yet-valid';
  if (cred.notAfter !== undefined && now >= cred.notAfter) return 'expired';
  return 'ok';
}

/** Finds one query parameter's value in a raw query string (decoded), without parsing the rest. */
export function queryParam(query: string, name: string): string | undefined {
  if (!query) return undefined;
  for (const pair of query.split('&')) {
    const { name: key, rawValue } = queryPair(pair);
    if (key === name) return formDecode(rawValue) ?? rawValue;
  }
  return undefined;
}

/** Where the key came from (for stripping), and the key itself. */
export function extractKey(ctx: Pick<PolicyContext, 'headers' | 'query'>, header: string, queryParameter: string | undefined): { key: string; from: 'header' | 'query' } | undefined {
  const h = headerValue(ctx.headers, header);
  if (h !== undefined && h !== '') return { key: h.trim(), from: 'header' };
  if (queryParameter) {
    const q = queryParam(ctx.query, queryParameter);
    if (q !== undefined && q !== '') return { key: q, from: 'query' };
  }
  return undefined;
}

const missing = (where: string): Refusal => ({
  status: 401,
  slug: 'missing-api-key',
  title: 'Unauthorized',
  detail: `This API requires an API key in ${where}.`,
  policy: 'api-key',
});

const invalid: Refusal = {
  status: 401,
  slug: 'invalid-api-key',
  title: 'Unauthorized',
  detail: 'The API key is not valid for this API.',
  policy: 'api-key',
};

export function compileApiKey(name: string, cfg: ApiKeyPolicyConfig, tiers: ReadonlyMap<string, CompiledTier>, deps: PolicyDeps): PolicyHandler {
  const header = (cfg.header ?? DEFAULT_API_KEY_HEADER).toLowerCase();
  const queryParameter = cfg.queryParameter;
  const where = queryParameter ? `the ${header} header or the ${queryParameter} query parameter` : `the ${header} header`;
  const missingRefusal = missing(where);
  const log = deps.logger;
  return {
    type: 'api-key',
    name,
    preflight: false,
    onRequest(ctx: PolicyContext) {
      const found = extractKey(ctx, header, queryParameter);
      // Never forward the key upstream, whether or not it is valid.
      (ctx.stripHeaders ??= []).push(header);
      if (queryParameter) (ctx.stripQuery ??= []).push(queryParameter);
      if (!found) return missingRefusal;
      const hash = hashApiKey(found.key);
      const cred = ctx.credentials.lookup(hash);
      const check = checkCredential(cred, ctx.routeId, ctx.now);
      if (check !== 'ok' || !cred) {
        ctx.keyId = keyIdOf(hash);
        if (log.isLevelEnabled('debug')) log.debug({ route: ctx.routeId, keyId: ctx.keyId, reason: check }, 'api key refused');
        return invalid;
      }
      ctx.client = cred.client;
      ctx.contract = cred.contract;
      ctx.tier = cred.tier;
      const tier = tiers.get(cred.tier);
      if (!tier) {
        // The operator wrote a credential for a tier the route does not have: fail closed.
        ctx.keyId = keyIdOf(hash);
        log.warn({ route: ctx.routeId, keyId: ctx.keyId, tier: cred.tier, contract: cred.contract }, 'credential names a tier the route does not have; refusing');
        return invalid;
      }
      return enforceTier(deps.counters, tier, ctx, cred.contract);
    },
  };
}
