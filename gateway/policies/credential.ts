// What the two credential policies (api-key, client-id-enforcement) share:
// once a credential and its grant for the route are found, the request is
// admitted by one path: the client, contract and tier recorded, the grant's
// endpoint scope checked (403 endpoint-not-allowed), then the tier's windows
// (sla-tier.ts). And the handler shape that lets a route carrying both
// policies accept either credential (see eitherCredential).
import type { CompiledCredential, CompiledGrant } from '../compiled.ts';
import type { Refusal } from '../problem.ts';
import { enforceTier, type CompiledTier } from './sla-tier.ts';
import type { Outcome, PolicyContext, PolicyDeps, PolicyHandler } from './types.ts';

export type CredentialPolicyType = 'api-key' | 'client-id-enforcement';

/** A credential policy's handler: it also tells whether a request carries its credential at all. */
export interface CredentialHandler extends PolicyHandler {
  readonly type: CredentialPolicyType;
  /** The request carries this policy's credential (well-formed or not). */
  presents(ctx: PolicyContext): boolean;
  /** Marks every header and parameter this policy reads as not to be forwarded. */
  strip(ctx: PolicyContext): void;
  /** Where this policy reads its credential, for a 401 that names every way in. */
  readonly where: string;
}

export const endpointNotAllowed = (policy: CredentialPolicyType): Refusal => ({
  status: 403,
  slug: 'endpoint-not-allowed',
  title: 'Forbidden',
  detail: 'The contract of this credential does not include this endpoint (method and path).',
  policy,
});

/** Admits a request whose credential holds `grant` for the route: scope, then tier. */
export function admitGrant(
  ctx: PolicyContext,
  cred: CompiledCredential,
  grant: CompiledGrant,
  tiers: ReadonlyMap<string, CompiledTier>,
  deps: PolicyDeps,
  policy: CredentialPolicyType,
  keyId: string,
  invalid: Refusal,
): Outcome | Promise<Outcome> {
  ctx.client = cred.client;
  ctx.contract = grant.contract;
  ctx.tier = grant.tier;
  if (grant.scope && !grant.scope(ctx.method, ctx.path)) {
    ctx.keyId = keyId;
    return endpointNotAllowed(policy);
  }
  const tier = tiers.get(grant.tier);
  if (!tier) {
    // The operator wrote a credential for a tier the route does not have: fail closed.
    ctx.keyId = keyId;
    deps.logger.warn({ route: ctx.routeId, keyId, tier: grant.tier, contract: grant.contract }, 'credential names a tier the route does not have; refusing');
    return invalid;
  }
  return enforceTier(deps.counters, tier, ctx, grant.contract);
}

/**
 * One handler for a route with both an api-key and a client-id-enforcement
 * policy: the credential a request carries decides which policy judges it (an
 * API key first, else client credentials); neither → one 401 naming both ways.
 * Both policies' credentials are stripped whatever happens. Built once when the
 * route is compiled (policies/index.ts), so no per-request flags.
 */
export function eitherCredential(first: CredentialHandler, apiKey: CredentialHandler, clientId: CredentialHandler): PolicyHandler {
  const missing: Refusal = {
    status: 401,
    slug: 'missing-credentials',
    title: 'Unauthorized',
    detail: `This API requires an API key in ${apiKey.where}, or client credentials in ${clientId.where}.`,
    policy: first.type,
  };
  return {
    type: first.type,
    name: `${apiKey.name}|${clientId.name}`,
    preflight: false,
    onRequest(ctx) {
      apiKey.strip(ctx);
      clientId.strip(ctx);
      if (apiKey.presents(ctx)) return apiKey.onRequest(ctx);
      if (clientId.presents(ctx)) return clientId.onRequest(ctx);
      return missing;
    },
  };
}
