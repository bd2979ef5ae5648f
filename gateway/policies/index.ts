// Compiles a Routes part into CompiledRoutes: each policy config checked
// against its schema (api/policies.ts, the same one admission uses) and
// compiled by its module, in order (order, then name).
import type { ApiKeyPolicyConfig, ClientIdEnforcementPolicyConfig, CorsPolicyConfig, HeaderInjectionPolicyConfig, IpListPolicyConfig, JwtValidationPolicyConfig, RateLimitPolicyConfig, SpikeControlPolicyConfig } from '../../api/policies.ts';
import { validatePolicyConfig } from '../../api/policies.ts';
import { formatErrors } from '../../api/validation.ts';
import type { PolicyEntry, Route, RoutesPart } from '../../api/gateway/config.ts';
import { Router, segments, upstreamPoolKey, type CompiledRoute, type CompiledRoutes, type CompiledUpstream } from '../compiled.ts';
import { compileApiKey } from './api-key.ts';
import { compileClientIdEnforcement } from './client-id-enforcement.ts';
import { eitherCredential, type CredentialHandler } from './credential.ts';
import { compileCors, type CompiledCors } from './cors.ts';
import { compileHeaderInjection } from './header-injection.ts';
import { compileIpList } from './ip-list.ts';
import { compileJwtValidation } from './jwt-validation.ts';
import { compileRateLimit } from './rate-limit.ts';
import { compileSpikeControl } from './spike-control.ts';
import { compileTier, type CompiledTier } from './sla-tier.ts';
import type { PolicyDeps, PolicyHandler } from './types.ts';
import { NO_TRUSTED_PROXIES } from '../client-address.ts';

export class RouteCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteCompileError';
  }
}

export function sortPolicies(policies: readonly PolicyEntry[]): PolicyEntry[] {
  return [...policies].sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function compileUpstream(route: Route): CompiledUpstream {
  let u: URL;
  try {
    u = new URL(route.upstream.url);
  } catch {
    throw new RouteCompileError(`route ${route.id}: upstream url ${JSON.stringify(route.upstream.url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RouteCompileError(`route ${route.id}: upstream url must be http or https`);
  if (u.username || u.password) throw new RouteCompileError(`route ${route.id}: upstream url must not carry credentials`);
  return { origin: u.origin, pool: upstreamPoolKey(route.id, u.origin), basePath: u.pathname.replace(/\/+$/, ''), timeoutMs: route.upstream.timeoutMs };
}

/** A route held closed: it keeps its place in the router and answers 503 (see server.ts). */
export function withheldRoute(route: Route, withheld: { reason: string; message: string }): CompiledRoute {
  return {
    id: route.id,
    hostnames: route.hostnames,
    basePath: route.basePath,
    baseSegments: segments(route.basePath),
    upstream: { origin: '', pool: '', basePath: '', timeoutMs: route.upstream.timeoutMs },
    policies: [],
    cors: undefined,
    tiers: new Map(),
    withheld,
    source: route,
  };
}

export function compileRoute(route: Route, deps: PolicyDeps): CompiledRoute {
  if (route.withheld) return withheldRoute(route, route.withheld);
  const tiers = new Map<string, CompiledTier>(route.tiers.map((t) => [t.name, compileTier(t)]));
  const ordered = sortPolicies(route.policies);
  for (const p of ordered) {
    const errors = validatePolicyConfig(p.type, p.config);
    if (errors.length) throw new RouteCompileError(`route ${route.id}: policy ${p.name} (${p.type}): ${formatErrors(errors)}`);
  }
  // The trusted client-address header of the route, for rate-limit per ip.
  const ipHeader = ordered
    .filter((p) => p.type === 'ip-allowlist' || p.type === 'ip-blocklist')
    .map((p) => (p.config as IpListPolicyConfig).clientIpHeader)
    .find((h) => h !== undefined)
    ?.toLowerCase();
  const handlers: PolicyHandler[] = [];
  let cors: CompiledCors | undefined;
  for (const p of ordered) {
    switch (p.type) {
      case 'api-key':
        handlers.push(compileApiKey(p.name, p.config as ApiKeyPolicyConfig, tiers, deps));
        break;
      case 'client-id-enforcement':
        handlers.push(compileClientIdEnforcement(p.name, p.config as ClientIdEnforcementPolicyConfig, tiers, deps));
        break;
      case 'rate-limit':
        handlers.push(compileRateLimit(p.name, p.config as RateLimitPolicyConfig, deps, ipHeader));
        break;
      case 'spike-control':
        handlers.push(compileSpikeControl(p.name, p.config as SpikeControlPolicyConfig));
        break;
      case 'ip-allowlist':
      case 'ip-blocklist':
        handlers.push(compileIpList(p.type, p.name, p.config as IpListPolicyConfig, deps.trustedProxies ?? NO_TRUSTED_PROXIES));
        break;
      case 'cors':
        // The first CORS policy decides; it runs before all others (see cors.ts).
        if (!cors) cors = compileCors(p.name, p.config as CorsPolicyConfig);
        else deps.logger.warn({ route: route.id, policy: p.name }, 'second cors policy on a route ignored');
        break;
      case 'header-injection':
        handlers.push(compileHeaderInjection(p.name, p.config as HeaderInjectionPolicyConfig));
        break;
      case 'jwt-validation':
        handlers.push(compileJwtValidation(p.name, p.config as JwtValidationPolicyConfig, deps.jwks));
        break;
      default: {
        const t: never = p.type;
        throw new RouteCompileError(`route ${route.id}: unknown policy type ${String(t)}`);
      }
    }
  }
  return { id: route.id, hostnames: route.hostnames, basePath: route.basePath, baseSegments: segments(route.basePath), upstream: compileUpstream(route), policies: combineCredentials(handlers), cors, tiers, withheld: undefined, source: route };
}

const isCredential = (h: PolicyHandler): h is CredentialHandler => h.type === 'api-key' || h.type === 'client-id-enforcement';

/**
 * Either credential: on a route with an api-key and a client-id-enforcement
 * policy, the first of each become one handler, at the place of the earlier,
 * that lets the credential a request carries decide which judges it
 * (credential.ts eitherCredential). Further credential policies of a type
 * keep running on their own, as on a route with one type.
 */
export function combineCredentials(handlers: readonly PolicyHandler[]): PolicyHandler[] {
  const apiKey = handlers.find((h): h is CredentialHandler => isCredential(h) && h.type === 'api-key');
  const clientId = handlers.find((h): h is CredentialHandler => isCredential(h) && h.type === 'client-id-enforcement');
  if (!apiKey || !clientId) return [...handlers];
  const first = handlers.indexOf(apiKey) < handlers.indexOf(clientId) ? apiKey : clientId;
  const either = eitherCredential(first, apiKey, clientId);
  const out: PolicyHandler[] = [];
  for (const h of handlers) {
    if (h === first) out.push(either);
    else if (h !== apiKey && h !== clientId) out.push(h);
  }
  return out;
}

export function compileRoutes(part: RoutesPart, deps: PolicyDeps): CompiledRoutes {
  // One route that cannot be compiled is held closed; it never costs the others their config.
  const routes = part.routes.map((r) => {
    try {
      return compileRoute(r, deps);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      deps.logger.error({ route: r.id, err: message }, 'route withheld: it cannot be compiled');
      return withheldRoute(r, { reason: 'InvalidRoute', message });
    }
  });
  const router = new Router(routes);
  // Conflicts are logged by the loader over the router of all route shards (config-source/loader.ts).
  return { checksum: part.checksum, routes, byId: new Map(routes.map((r) => [r.id, r])), router };
}
