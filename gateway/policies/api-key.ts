// api-key: API key enforcement. The presented key (header, default
// x-api-key, or a configured query parameter) is hashed with hashApiKey and
// looked up in the credential index; the credential must be for this route
// and inside notBefore/notAfter. Every failure but "no key at all" gets the
// same 401 so a caller learns nothing about which keys exist, where they
// work or when they expire; the precise reason goes to the debug log with the
// non-secret key id. On success the client id, contract and tier are recorded,
// the grant's endpoint scope is checked (403 endpoint-not-allowed) and the
// tier's windows are enforced (credential.ts, sla-tier.ts). The key header and
// query parameter are not forwarded upstream.
import type { ApiKeyPolicyConfig } from '../../api/policies.ts';
import { hashApiKey, keyIdOf } from '../../api/credential-format.ts';
import { grantFor, type CompiledCredential } from '../compiled.ts';
import type { Refusal } from '../problem.ts';
import { admitGrant, type CredentialHandler } from './credential.ts';
import type { CompiledTier } from './sla-tier.ts';
import { headerValue, type PolicyContext, type PolicyDeps } from './types.ts';
import { formDecode, queryPair } from '../query.ts';

export const DEFAULT_API_KEY_HEADER = 'x-api-key';

export type KeyCheck = 'ok' | 'unknown' | 'wrong-route' | 'not-yet-valid' | 'expired';

/** Pure: may this credential call `routeId` at `now` as an API key? */
export function checkCredential(cred: CompiledCredential | undefined, routeId: string, now: number): KeyCheck {
  if (!cred || cred.kind !== 'api-key') return 'unknown';
  if (!grantFor(cred, routeId)) return 'wrong-route';
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

export function compileApiKey(name: string, cfg: ApiKeyPolicyConfig, tiers: ReadonlyMap<string, CompiledTier>, deps: PolicyDeps): CredentialHandler {
  const header = (cfg.header ?? DEFAULT_API_KEY_HEADER).toLowerCase();
  const queryParameter = cfg.queryParameter;
  const where = queryParameter ? `the ${header} header or the ${queryParameter} query parameter` : `the ${header} header`;
  const missingRefusal = missing(where);
  const log = deps.logger;
  const strip = (ctx: PolicyContext): void => {
    // Never forward the key upstream, whether or not it is valid.
    (ctx.stripHeaders ??= []).push(header);
    if (queryParameter) (ctx.stripQuery ??= []).push(queryParameter);
  };
  return {
    type: 'api-key',
    name,
    preflight: false,
    where,
    strip,
    presents: (ctx) => extractKey(ctx, header, queryParameter) !== undefined,
    onRequest(ctx: PolicyContext) {
      const found = extractKey(ctx, header, queryParameter);
      strip(ctx);
      if (!found) return missingRefusal;
      const hash = hashApiKey(found.key);
      const cred = ctx.credentials.lookup(hash);
      const check = checkCredential(cred, ctx.routeId, ctx.now);
      const grant = cred && check === 'ok' ? grantFor(cred, ctx.routeId) : undefined;
      if (!grant || !cred) {
        ctx.keyId = keyIdOf(hash);
        if (log.isLevelEnabled('debug')) log.debug({ route: ctx.routeId, keyId: ctx.keyId, reason: check }, 'api key refused');
        return invalid;
      }
      return admitGrant(ctx, cred, grant, tiers, deps, 'api-key', keyIdOf(hash), invalid);
    },
  };
}
