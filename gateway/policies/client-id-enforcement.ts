// client-id-enforcement: an Application's client ID and client secret. Read
// from the two headers (default x-client-id, x-client-secret) when both are
// there, else, when allowBasicAuth (default true), from
// `Authorization: Basic base64(clientId:clientSecret)`. The secret is hashed
// (SHA-256, as API keys) and looked up in the credential index: it must be a
// client-secret credential, for the client ID presented, inside
// notBefore/notAfter. No credentials → 401 missing-client-credentials; every
// other failure → the same 401 invalid-client-credentials (the reason goes to
// the debug log with the non-secret key id, never the secret); a known client
// whose grants do not open this route → 403 no-contract. Then the grant's
// endpoint scope and the tier (credential.ts). The secret never goes
// upstream: both headers are stripped, and Authorization when it carried
// Basic credentials.
import { hashApiKey, keyIdOf } from '../../api/credential-format.ts';
import type { ClientIdEnforcementPolicyConfig } from '../../api/policies.ts';
import { grantFor, type CompiledCredential } from '../compiled.ts';
import type { Refusal } from '../problem.ts';
import { admitGrant, type CredentialHandler } from './credential.ts';
import type { CompiledTier } from './sla-tier.ts';
import { headerValue, type PolicyContext, type PolicyDeps } from './types.ts';

export const DEFAULT_CLIENT_ID_HEADER = 'x-client-id';
export const DEFAULT_CLIENT_SECRET_HEADER = 'x-client-secret';

export type ClientCheck = 'ok' | 'unknown' | 'not-a-client-secret' | 'client-id-mismatch' | 'not-yet-valid' | 'expired' | 'no-contract';

/** Pure: may this credential, presented with `clientId`, call `routeId` at `now`? */
export function checkClientCredential(cred: CompiledCredential | undefined, clientId: string, routeId: string, now: number): ClientCheck {
  if (!cred) return 'unknown';
  if (cred.kind !== 'client-secret') return 'not-a-client-secret';
  if (cred.clientId === undefined || cred.clientId !== clientId) return 'client-id-mismatch';
  if (cred.notBefore !== undefined && now < cred.notBefore) return 'not-yet-valid';
  if (cred.notAfter !== undefined && now >= cred.notAfter) return 'expired';
  if (!grantFor(cred, routeId)) return 'no-contract';
  return 'ok';
}

/** The Basic credentials of an Authorization header value, or 'malformed'; undefined when it is not Basic. */
export function parseBasic(authorization: string | undefined): { id: string; secret: string } | 'malformed' | undefined {
  if (authorization === undefined) return undefined;
  const v = authorization.trim();
  if (v.length < 6 || v.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const b64 = v.slice(6).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'malformed';
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return 'malformed';
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export type Extracted = { id: string; secret: string; from: 'headers' | 'basic' } | 'malformed' | undefined;

/** Client ID and secret: both headers, else Basic (when allowed); 'malformed' for unreadable Basic credentials. */
export function extractClientCredentials(headers: PolicyContext['headers'], idHeader: string, secretHeader: string, allowBasic: boolean): Extracted {
  const id = headerValue(headers, idHeader)?.trim();
  const secret = headerValue(headers, secretHeader)?.trim();
  if (id && secret) return { id, secret, from: 'headers' };
  if (allowBasic) {
    const b = parseBasic(headerValue(headers, 'authorization'));
    if (b === 'malformed') return b;
    if (b) return { ...b, from: 'basic' };
  }
  return undefined;
}

const invalid: Refusal = {
  status: 401,
  slug: 'invalid-client-credentials',
  title: 'Unauthorized',
  detail: 'The client credentials are not valid for this API.',
  policy: 'client-id-enforcement',
};

const noContract: Refusal = {
  status: 403,
  slug: 'no-contract',
  title: 'Forbidden',
  detail: 'The application has no approved contract for this API.',
  policy: 'client-id-enforcement',
};

export function compileClientIdEnforcement(name: string, cfg: ClientIdEnforcementPolicyConfig, tiers: ReadonlyMap<string, CompiledTier>, deps: PolicyDeps): CredentialHandler {
  const idHeader = (cfg.clientIdHeader ?? DEFAULT_CLIENT_ID_HEADER).toLowerCase();
  const secretHeader = (cfg.clientSecretHeader ?? DEFAULT_CLIENT_SECRET_HEADER).toLowerCase();
  const allowBasic = cfg.allowBasicAuth ?? true;
  const where = allowBasic ? `the ${idHeader} and ${secretHeader} headers or HTTP Basic authentication` : `the ${idHeader} and ${secretHeader} headers`;
  const missing: Refusal = {
    status: 401,
    slug: 'missing-client-credentials',
    title: 'Unauthorized',
    detail: `This API requires client credentials (client ID and client secret) in ${where}.`,
    policy: 'client-id-enforcement',
    ...(allowBasic ? { headers: { 'www-authenticate': 'Basic realm="crossgate", charset="UTF-8"' } } : {}),
  };
  const log = deps.logger;
  const carriesBasic = (ctx: PolicyContext): boolean => allowBasic && parseBasic(headerValue(ctx.headers, 'authorization')) !== undefined;
  const strip = (ctx: PolicyContext): void => {
    // Never forward the secret, valid or not; Authorization only when it carried Basic credentials (it may be the upstream's own otherwise).
    const s = (ctx.stripHeaders ??= []);
    s.push(idHeader, secretHeader);
    if (carriesBasic(ctx)) s.push('authorization');
  };
  return {
    type: 'client-id-enforcement',
    name,
    preflight: false,
    where,
    strip,
    presents: (ctx) => !!headerValue(ctx.headers, idHeader) || !!headerValue(ctx.headers, secretHeader) || carriesBasic(ctx),
    onRequest(ctx: PolicyContext) {
      strip(ctx);
      const found = extractClientCredentials(ctx.headers, idHeader, secretHeader, allowBasic);
      if (found === undefined) return missing;
      if (found === 'malformed') {
        if (log.isLevelEnabled('debug')) log.debug({ route: ctx.routeId, reason: 'malformed-basic' }, 'client credentials refused');
        return invalid;
      }
      const hash = hashApiKey(found.secret);
      const keyId = keyIdOf(hash);
      const cred = ctx.credentials.lookup(hash);
      const check = checkClientCredential(cred, found.id, ctx.routeId, ctx.now);
      if (check !== 'ok' || !cred) {
        ctx.keyId = keyId;
        // Not attributed to its client (ctx.client): an application of another organization is no client of this
        // API, and named it would take the API's client names in the owner's figures (security-model row 8h).
        if (check === 'no-contract') return noContract;
        if (log.isLevelEnabled('debug')) log.debug({ route: ctx.routeId, keyId, reason: check }, 'client credentials refused');
        return invalid;
      }
      return admitGrant(ctx, cred, grantFor(cred, ctx.routeId)!, tiers, deps, 'client-id-enforcement', keyId, invalid);
    },
  };
}
