// The in-memory form of a gateway config, built once per swap and then only
// read: routes compiled (policies ready to run, tiers as counter windows), a
// router (per host, a trie on path segments: longest basePath wins), and the
// credential index (one Map per shard, so one changed shard is one rebuilt Map).
import { shardOf } from '../api/gateway/checksum.ts';
import type { Credential, CredentialKind, GrantEndpoint, Route } from '../api/gateway/config.ts';
import { compileEndpointScope, type EndpointMatcher } from '../model/endpoint-scope.ts';
import type { CompiledCors } from './policies/cors.ts';
import type { CompiledTier } from './policies/sla-tier.ts';
import type { PolicyHandler } from './policies/types.ts';

export interface CompiledGrant {
  routes: readonly string[];
  contract: string;
  tier: string;
  endpoints: readonly GrantEndpoint[] | undefined;
  /** The endpoints compiled once at load (model/endpoint-scope.ts); undefined: the whole route. */
  scope: EndpointMatcher | undefined;
}

export interface CompiledCredential {
  kind: CredentialKind;
  client: string;
  clientId: string | undefined;
  /** ms since the epoch; undefined when unbounded. */
  notBefore: number | undefined;
  notAfter: number | undefined;
  grants: readonly CompiledGrant[];
}

/** The grant of `cred` that opens `routeId`, if any (a client holds a handful: a scan is fastest). */
export function grantFor(cred: CompiledCredential, routeId: string): CompiledGrant | undefined {
  for (const g of cred.grants) if (g.routes.includes(routeId)) return g;
  return undefined;
}

export function compileCredential(c: Credential): CompiledCredential {
  const parse = (s: string | undefined, fallback: number): number | undefined => {
    if (s === undefined) return undefined;
    const t = Date.parse(s);
    // An unreadable bound refuses the key (fail closed) rather than the whole config.
    return Number.isNaN(t) ? fallback : t;
  };
  return {
    kind: c.kind,
    client: c.client,
    clientId: c.clientId,
    grants: c.grants.map((g) => ({ routes: g.routes, contract: g.contract, tier: g.tier, endpoints: g.endpoints, scope: g.endpoints ? compileEndpointScope(g.endpoints) : undefined })),
    notBefore: parse(c.notBefore, Number.POSITIVE_INFINITY),
    notAfter: parse(c.notAfter, Number.NEGATIVE_INFINITY),
  };
}

export type ShardMap = ReadonlyMap<string, CompiledCredential>;

export class CredentialIndex {
  readonly shards: number;
  readonly maps: ReadonlyArray<ShardMap | undefined>;
  readonly size: number;

  constructor(shards: number, maps: ReadonlyArray<ShardMap | undefined>) {
    this.shards = shards;
    this.maps = maps;
    let n = 0;
    for (const m of maps) n += m?.size ?? 0;
    this.size = n;
  }

  static empty(): CredentialIndex {
    return new CredentialIndex(1, []);
  }

  lookup(hashHex: string): CompiledCredential | undefined {
    return this.maps[shardOf(hashHex, this.shards)]?.get(hashHex);
  }
}

export interface CompiledUpstream {
  /** scheme://host:port. */
  origin: string;
  /** The connection pool's key (upstreamPoolKey): one pool per namespace and origin, never shared between organizations. */
  pool: string;
  /** Path of the upstream URL without a trailing slash ("" for the root). */
  basePath: string;
  timeoutMs: number;
}

/**
 * Routes of one namespace share a pool per origin; another namespace's routes to the same origin get their own, so a
 * route whose upstream path hangs can fill (and queue behind) only its own namespace's connections.
 */
export function upstreamPoolKey(routeId: string, origin: string): string {
  return `${routeId.slice(0, routeId.indexOf('/') + 1)} ${origin}`;
}

/** The namespace part of a pool key ("ns/"): the scope of its connections' name lookups (connect-guard.ts). */
export function poolScope(key: string): string {
  return key.slice(0, Math.max(0, key.indexOf(' ')));
}

export interface CompiledRoute {
  id: string;
  hostnames: readonly string[];
  basePath: string;
  /** basePath split into segments (what the router matched). */
  baseSegments: readonly string[];
  upstream: CompiledUpstream;
  /** In enforcement order, CORS excluded (see policies/cors.ts). */
  policies: readonly PolicyHandler[];
  cors: CompiledCors | undefined;
  tiers: ReadonlyMap<string, CompiledTier>;
  /** Set when the route is held closed: every request on it is answered 503, none falls through to another route. */
  withheld: { reason: string; message: string } | undefined;
  /** The raw route, for /configz. */
  source: Route;
}

// ---------------------------------------------------------------------------
// Router

/** At most this many hosts' names() answers are remembered per Router. */
export const NAMED_CACHE_SIZE = 1024;

interface TrieNode {
  children: Map<string, TrieNode>;
  route: CompiledRoute | undefined;
}

const node = (): TrieNode => ({ children: new Map(), route: undefined });

/** Path segments of a basePath or request path: "/a//b/" → ["a", "b"]. */
export function segments(path: string): string[] {
  const out: string[] = [];
  let start = 0;
  const n = path.length;
  for (let i = 0; i <= n; i++) {
    if (i === n || path.charCodeAt(i) === 47 /* / */) {
      if (i > start) out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

function insert(root: TrieNode, route: CompiledRoute, conflicts: string[]): void {
  let n = root;
  for (const s of segments(route.basePath)) {
    let c = n.children.get(s);
    if (!c) n.children.set(s, (c = node()));
    n = c;
  }
  if (n.route) conflicts.push(`${route.id} has the same host and basePath as ${n.route.id}; ${n.route.id} wins`);
  else n.route = route;
}

function lookup(root: TrieNode, path: string): CompiledRoute | undefined {
  let best = root.route;
  let n: TrieNode | undefined = root;
  let start = path.charCodeAt(0) === 47 ? 1 : 0;
  const len = path.length;
  while (n && start <= len) {
    let end = path.indexOf('/', start);
    if (end < 0) end = len;
    if (end > start) {
      n = n.children.get(path.slice(start, end));
      if (!n) break;
      if (n.route) best = n.route;
    }
    start = end + 1;
  }
  return best;
}

/** Host (lower case, no port) from a Host header, IPv6 literals kept in brackets. */
export function hostOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  let h = hostHeader;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end < 0 ? h : h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  return h.toLowerCase().replace(/\.$/, '');
}

/**
 * Routes by host then longest basePath, segment-wise ("/flights" matches
 * "/flights" and "/flights/1", not "/flightsX"). Host precedence: an exact
 * hostname, then the longest matching wildcard ("*.example.com"); routes with
 * no hostnames (the shared host) only for a host no route names.
 */
export class Router {
  #exact = new Map<string, TrieNode>();
  /** By wildcard suffix (".example.com"): looked up label by label from the host, never scanned (one organization may hold thousands). */
  #wildcards = new Map<string, TrieNode>();
  /** names() remembered per host (bounded, cleared whole when full). */
  #named = new Map<string, boolean>();
  #any = node();
  /** Per route with hostnames: its exact names and wildcard suffixes (".example.com"), normalized once. */
  #hostsOf = new Map<CompiledRoute, { exact: ReadonlySet<string>; suffixes: readonly string[] }>();
  readonly conflicts: string[] = [];

  constructor(routes: readonly CompiledRoute[]) {
    const wild = this.#wildcards;
    for (const r of routes) {
      if (r.hostnames.length === 0) {
        insert(this.#any, r, this.conflicts);
        continue;
      }
      const exact = new Set<string>();
      const suffixes: string[] = [];
      this.#hostsOf.set(r, { exact, suffixes });
      for (const raw of r.hostnames) {
        const h = raw.toLowerCase().replace(/\.$/, '');
        if (h.startsWith('*.')) {
          const suffix = h.slice(1); // ".example.com"
          suffixes.push(suffix);
          let root = wild.get(suffix);
          if (!root) wild.set(suffix, (root = node()));
          insert(root, r, this.conflicts);
        } else {
          exact.add(h);
          let root = this.#exact.get(h);
          if (!root) this.#exact.set(h, (root = node()));
          insert(root, r, this.conflicts);
        }
      }
    }
  }

  /** Some route names `host` (lower case, no port), exactly or under a wildcard: it belongs to that route's organization. */
  names(host: string): boolean {
    if (this.#exact.has(host)) return true;
    let n = this.#named.get(host);
    if (n === undefined) {
      n = false;
      if (this.#wildcards.size > 0) for (let i = host.indexOf('.', 1); i > 0 && !n; i = host.indexOf('.', i + 1)) n = this.#wildcards.has(host.slice(i));
      if (host.length <= 255) {
        if (this.#named.size >= NAMED_CACHE_SIZE) this.#named.clear();
        this.#named.set(host, n);
      }
    }
    return n;
  }

  /**
   * `host` (lower case, no port) is one `route` answers on, as match() decides
   * hosts: one of its hostnames (exact, or under its wildcard); for a route
   * without hostnames (the shared host), a host no route names.
   */
  hostOfRoute(route: CompiledRoute, host: string): boolean {
    const own = this.#hostsOf.get(route);
    if (own === undefined) return route.hostnames.length === 0 && !this.names(host);
    if (own.exact.has(host)) return true;
    for (const s of own.suffixes) if (host.length > s.length && host.endsWith(s)) return true;
    return false;
  }

  match(host: string | undefined, path: string): CompiledRoute | undefined {
    if (host !== undefined) {
      // A host some route names belongs to its organization (route claims): its requests never fall
      // through to the shared host's routes, which are another organization's.
      let named = false;
      const exact = this.#exact.get(host);
      if (exact) {
        named = true;
        const r = lookup(exact, path);
        if (r) return r;
      }
      // The wildcards the host lies strictly under, longest suffix first (".b.example.com" before ".example.com"):
      // one lookup per label of the host, whatever the number of wildcards (one organization may hold thousands).
      // From the first "." after the first character: a label precedes the suffix.
      if (this.#wildcards.size > 0) {
        for (let i = host.indexOf('.', 1); i > 0; i = host.indexOf('.', i + 1)) {
          const root = this.#wildcards.get(host.slice(i));
          if (!root) continue;
          named = true;
          const r = lookup(root, path);
          if (r) return r;
        }
      }
      if (named) return undefined;
    }
    return lookup(this.#any, path);
  }
}

export interface CompiledRoutes {
  checksum: string;
  routes: readonly CompiledRoute[];
  byId: ReadonlyMap<string, CompiledRoute>;
  router: Router;
}

export interface CompiledConfig {
  gateway: string;
  generation: number;
  /** Checksums of the parts, by part name. */
  parts: ReadonlyMap<string, string>;
  routes: CompiledRoutes;
  credentials: CredentialIndex;
  loadedAt: number;
}
