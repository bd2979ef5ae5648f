// What every enforcement module sees and returns.
//
// A route's policies are compiled once per config swap into PolicyHandlers
// (parsed CIDRs, origin sets, windows, JWKS handles) and run in order on each
// request. A handler returns undefined to let the request continue or a
// Refusal to answer it; it may record facts on the context (the client id,
// RateLimit state, headers to add or strip) that later policies, the proxy,
// the metrics and the access log use.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Refusal } from '../problem.ts';
import type { CounterStore } from '../counters/types.ts';
import type { JwksCache } from './jwt-validation.ts';
import type { CredentialIndex } from '../compiled.ts';
import type { TrustedProxies } from '../client-address.ts';

export type { Refusal };

/** One window's state for the RateLimit headers. */
export interface RateLimitReport {
  name: string;
  limit: number;
  remaining: number;
  resetMs: number;
  windowMs: number;
}

/** Header changes, names lower-cased. */
export interface HeaderOps {
  set: ReadonlyArray<readonly [string, string]>;
  remove: readonly string[];
}

export interface PolicyContext {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** Raw path, without the query string. */
  readonly path: string;
  /** Raw query string without "?", "" when absent. */
  readonly query: string;
  /** Socket peer address as Node reports it. */
  readonly remoteAddress: string;
  /** The peer is one of the gateway's trusted proxies: its x-forwarded-for chain is kept upstream. */
  readonly peerTrusted: boolean;
  readonly now: number;
  readonly routeId: string;
  /** The credential index of the config this request runs on. */
  readonly credentials: CredentialIndex;
  /** Client id (the consumer's ApiKey namespace/name), once a key was accepted. */
  client: string | undefined;
  contract: string | undefined;
  tier: string | undefined;
  /** Non-secret key id (first 12 hex of the hash) for logs. */
  keyId: string | undefined;
  /** Windows to report in RateLimit headers. */
  rateLimits: RateLimitReport[] | undefined;
  /** Request headers not to forward (the API key header). */
  stripHeaders: string[] | undefined;
  /** Query parameters not to forward (the API key parameter). */
  stripQuery: string[] | undefined;
  requestOps: HeaderOps[] | undefined;
  responseOps: HeaderOps[] | undefined;
  /** CORS headers for every response on this route (origin allowed). */
  corsHeaders: Record<string, string> | undefined;
}

export type Outcome = Refusal | undefined;

export interface PolicyHandler {
  readonly type: string;
  /** namespace/name of the Policy. */
  readonly name: string;
  /** Runs for CORS preflight requests too (IP lists, limits); auth policies do not. */
  readonly preflight: boolean;
  onRequest(ctx: PolicyContext): Outcome | Promise<Outcome>;
}

/** What compiling a policy may need; shared across config swaps. */
export interface PolicyDeps {
  /** Tier and rate-limit counters (memory or shared). */
  counters: CounterStore;
  /** Proxies whose forwarding headers are believed (platform setting); none when absent. */
  trustedProxies?: TrustedProxies;
  jwks: JwksCache;
  logger: Logger;
}

export function newContext(init: {
  method: string;
  headers: IncomingHttpHeaders;
  path: string;
  query: string;
  remoteAddress: string;
  now: number;
  routeId: string;
  credentials: CredentialIndex;
  peerTrusted?: boolean;
}): PolicyContext {
  // Every field written out (no spread): one object of one shape per request.
  return {
    method: init.method,
    headers: init.headers,
    path: init.path,
    query: init.query,
    remoteAddress: init.remoteAddress,
    now: init.now,
    routeId: init.routeId,
    credentials: init.credentials,
    peerTrusted: init.peerTrusted ?? false,
    client: undefined,
    contract: undefined,
    tier: undefined,
    keyId: undefined,
    rateLimits: undefined,
    stripHeaders: undefined,
    stripQuery: undefined,
    requestOps: undefined,
    responseOps: undefined,
    corsHeaders: undefined,
  };
}

/** The single value of a header: undefined when absent, the first when repeated. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
