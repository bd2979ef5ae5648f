// jwt-validation: a bearer JWT verified with jose against a JSON Web Key Set
// fetched by URL. One createRemoteJWKSet per URL, shared by every compiled
// policy (it caches the keys, refetches on an unknown kid after a cool-down, and
// coalesces concurrent fetches), so config swaps do not refetch. The URLs are
// tenant input and the cache is shared by every organization's routes: each
// owner (the policy's namespace) has its own least-recently-used list of at
// most maxEntries URLs, so one namespace cycling through many URLs evicts only
// its own key sets, never another organization's (which would then be fetched
// again on every request); a URL unused for idleMs is dropped, so URLs that
// came and went never pile up. The whole is bounded by maxEntries per
// namespace, and namespaces are the platform's.
//
// A token without exp is refused unless the policy sets requireExpiry: false:
// such a token, once leaked, would stay valid for good.
//
// Refusals: no token → 401 missing-token; a token that fails (expired, bad
// signature, wrong issuer/audience, algorithm not allowed, malformed) → 401
// invalid-token with the reason in detail and in WWW-Authenticate (RFC 6750).
// A JWKS that cannot be fetched → 503: the gateway cannot decide, and the
// client's token may well be fine.
//
// The checked header is not forwarded upstream unless the policy sets
// forwardToken: a token meant for the gateway is a credential the upstream
// (possibly another team's) should not be able to replay.
import { createRemoteJWKSet, customFetch, jwtVerify, type FetchImplementation, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { JwtValidationPolicyConfig } from '../../api/policies.ts';
import type { Refusal } from '../problem.ts';
import { UPSTREAM_REFUSED } from '../../kube/connect-guard.ts';
import { headerValue, type PolicyContext, type PolicyHandler } from './types.ts';

export const DEFAULT_JWT_ALGORITHMS = ['RS256', 'ES256'];

export interface JwksCacheOptions {
  /** Default 5 s. */
  timeoutMs?: number;
  /** Minimum time between refetches on an unknown kid; default 30 s. */
  cooldownMs?: number;
  /** Keys are refetched after this long; default 10 min. */
  maxAgeMs?: number;
  /** How key sets are fetched: the gateway passes its connect guard's fetch (connect-guard.ts), so a jwksUrl resolving to loopback is never called. */
  fetch?: FetchImplementation;
  /** Most key set URLs held at once per owner (a policy's namespace); that owner's least recently used is evicted beyond it. Default 16. */
  maxEntries?: number;
  /** A URL not used for this long is dropped (its keys refetched on next use). Default 1 h. */
  idleMs?: number;
  /** Clock for idle expiry; Date.now by default. */
  now?: () => number;
}

export const DEFAULT_JWKS_MAX_ENTRIES = 16;
export const DEFAULT_JWKS_IDLE_MS = 3_600_000;

type KeySetEntry = { keys: JWTVerifyGetKey; usedAt: number };

/** The owner of a policy's key sets: its namespace ("ns/name" → "ns"). */
export function jwksOwnerOf(policyName: string): string {
  const slash = policyName.indexOf('/');
  return slash < 0 ? '' : policyName.slice(0, slash);
}

export class JwksCache {
  // Per owner, Map order is recency: get() moves a URL to the end, eviction takes from the front.
  #owners = new Map<string, Map<string, KeySetEntry>>();
  #opts: JwksCacheOptions;
  #max: number;
  #idleMs: number;
  #now: () => number;
  /** When every owner's idle URLs were last dropped (owners not asked again keep theirs until then). */
  #sweptAt = 0;

  constructor(opts: JwksCacheOptions = {}) {
    this.#opts = opts;
    this.#max = Math.max(1, opts.maxEntries ?? DEFAULT_JWKS_MAX_ENTRIES);
    this.#idleMs = opts.idleMs ?? DEFAULT_JWKS_IDLE_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** The key set of `url` for `owner` (a policy's namespace, jwksOwnerOf): owners never evict one another's. */
  get(url: string, owner = ''): JWTVerifyGetKey {
    const now = this.#now();
    if (now - this.#sweptAt >= 60_000) this.#expireAll(now);
    let sets = this.#owners.get(owner);
    if (!sets) this.#owners.set(owner, (sets = new Map()));
    else this.#expire(sets, now);
    let entry = sets.get(url);
    if (entry) sets.delete(url);
    else {
      entry = {
        keys: createRemoteJWKSet(new URL(url), {
          timeoutDuration: this.#opts.timeoutMs ?? 5000,
          cooldownDuration: this.#opts.cooldownMs ?? 30_000,
          cacheMaxAge: this.#opts.maxAgeMs ?? 600_000,
          ...(this.#opts.fetch ? { [customFetch]: this.#opts.fetch } : {}),
        }),
        usedAt: now,
      };
    }
    entry.usedAt = now;
    sets.set(url, entry);
    while (sets.size > this.#max) sets.delete(sets.keys().next().value!);
    return entry.keys;
  }

  /** Drops an owner's entries idle for longer than idleMs; the least recently used sit first, so the scan stops at the first fresh one. */
  #expire(sets: Map<string, KeySetEntry>, now: number): void {
    for (const [url, entry] of sets) {
      if (now - entry.usedAt <= this.#idleMs) break;
      sets.delete(url);
    }
  }

  #expireAll(now: number): void {
    this.#sweptAt = now;
    for (const [owner, sets] of this.#owners) {
      this.#expire(sets, now);
      if (sets.size === 0) this.#owners.delete(owner);
    }
  }

  /** Key sets held now, over every owner. */
  size(): number {
    this.#expireAll(this.#now());
    let n = 0;
    for (const sets of this.#owners.values()) n += sets.size;
    return n;
  }
}

/** The token of "Bearer <token>" (scheme case-insensitive); undefined otherwise. */
export function bearerToken(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^\s*bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
  return m?.[1];
}

export type JwtFailure = { status: 401 | 503; reason: string };

/** Maps a jose (or fetch) error to a status and a short reason safe to return to the client. */
export function describeJwtError(err: unknown): JwtFailure {
  const e = err as { code?: string; claim?: string; reason?: string; name?: string };
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return { status: 401, reason: 'token expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'exp' && e.reason === 'missing') return { status: 401, reason: 'token has no expiry (exp claim); this API accepts only tokens that expire' };
      return { status: 401, reason: `claim "${e.claim ?? '?'}" ${e.reason === 'check_failed' ? 'does not match' : (e.reason ?? 'is invalid').replace(/_/g, ' ')}` };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { status: 401, reason: 'signature verification failed' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { status: 401, reason: 'no key in the JWKS matches the token' };
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { status: 401, reason: 'several keys in the JWKS match the token' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { status: 401, reason: 'signature algorithm not allowed' };
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { status: 401, reason: 'malformed token' };
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return { status: 503, reason: 'the key set could not be fetched' };
    default:
      // fetch() failures (connection refused, DNS, an address the connect guard refuses) arrive as TypeError.
      if (err instanceof TypeError) {
        const refused = (err.cause as { code?: string } | undefined)?.code === UPSTREAM_REFUSED;
        return { status: 503, reason: refused ? 'the key set URL resolves to an address the gateway does not connect to' : 'the key set could not be fetched' };
      }
      return { status: 401, reason: 'token could not be verified' };
  }
}

function unauthorized(slug: string, detail: string, wwwAuthenticate: string): Refusal {
  return { status: 401, slug, title: 'Unauthorized', detail, policy: 'jwt-validation', headers: { 'www-authenticate': wwwAuthenticate } };
}

export function compileJwtValidation(name: string, cfg: JwtValidationPolicyConfig, jwks: JwksCache): PolicyHandler {
  const header = (cfg.header ?? 'authorization').toLowerCase();
  // Looked up per request (not held here), so the cache's recency and bound cover every URL in use; under the
  // policy's namespace, so another organization's URLs never evict this one's.
  const owner = jwksOwnerOf(name);
  const keySet: JWTVerifyGetKey = (header, token) => jwks.get(cfg.jwksUrl, owner)(header, token);
  const options: JWTVerifyOptions = {
    algorithms: cfg.algorithms ?? DEFAULT_JWT_ALGORITHMS,
    clockTolerance: cfg.clockToleranceSeconds ?? 0,
  };
  if (cfg.requireExpiry !== false) options.requiredClaims = ['exp'];
  if (cfg.issuer !== undefined) options.issuer = cfg.issuer;
  if (cfg.audiences !== undefined) options.audience = cfg.audiences;
  const stripToken = cfg.forwardToken !== true;
  const missing = unauthorized('missing-token', `This API requires a bearer token in the ${header} header.`, 'Bearer');
  return {
    type: 'jwt-validation',
    name,
    preflight: false,
    async onRequest(ctx: PolicyContext) {
      if (stripToken) (ctx.stripHeaders ??= []).push(header);
      const token = bearerToken(headerValue(ctx.headers, header));
      if (!token) return missing;
      try {
        await jwtVerify(token, keySet, { ...options, currentDate: new Date(ctx.now) });
        return undefined;
      } catch (err) {
        const f = describeJwtError(err);
        if (f.status === 503) {
          return { status: 503, slug: 'jwks-unavailable', title: 'Service Unavailable', detail: `The token cannot be checked: ${f.reason}.`, policy: 'jwt-validation', headers: { 'retry-after': '5' } };
        }
        return unauthorized('invalid-token', `The bearer token was refused: ${f.reason}.`, `Bearer error="invalid_token", error_description="${f.reason.replace(/"/g, "'")}"`);
      }
    },
  };
}
