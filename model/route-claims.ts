// Route space is assigned, not grabbed. Platform admins assign each
// Organization (cluster-scoped, only they write it) hostnames and, on the
// gateway's shared host, path prefixes (spec.routes); an ApiInstance must sit
// inside its organization's claims. Two Organizations never hold overlapping
// claims, and the gateway's own host names (platform settings) are nobody's.
// The webhook refuses a claim that overlaps (organizationRules) and an
// instance outside its claims (apiInstanceRules); the operator, which must not
// trust that the webhook ran, computes the same effective claims here: a claim
// already granted (the Organization's status.routeClaims) keeps contested space,
// else the older Organization does; the other overlapping claim is void, and a
// route outside the effective claims is never emitted (ROUTE_CHECKS in
// route-verdict.ts). Pure, no I/O.
import type { ApiInstance, Organization } from '../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../api/platform.ts';
import { olderFirst, orgName, ownerOfNamespace, quoteList } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

// ---- paths -------------------------------------------------------------------

/** "/a/b" -> ["a", "b"]; "/" -> []. Empty segments (a trailing or doubled "/") are dropped, so "/a/" is "/a". */
export function pathSegments(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** Whether `path` is `prefix` or lies under it, segment by segment ("/" covers every path; "/rail" does not cover "/railway"). */
export function pathUnder(path: string, prefix: string): boolean {
  const p = pathSegments(path);
  const q = pathSegments(prefix);
  return q.length <= p.length && q.every((s, i) => s === p[i]);
}

/** Whether two path prefixes can match the same request path: equal, or one under the other. */
export function pathsOverlap(a: string, b: string): boolean {
  return pathUnder(a, b) || pathUnder(b, a);
}

// ---- hostnames ---------------------------------------------------------------

const isWildcard = (h: string) => h.startsWith('*.');
const normalHost = (h: string) => h.toLowerCase().replace(/\.$/, '');

/** Whether two hostname patterns can match the same host; returns the more specific of the two when they do. */
export function hostPatternOverlap(a: string, b: string): string | undefined {
  if (a === b) return a;
  if (isWildcard(a) && isWildcard(b)) {
    const sa = a.slice(2);
    const sb = b.slice(2);
    if (sa.endsWith(`.${sb}`)) return a;
    if (sb.endsWith(`.${sa}`)) return b;
    return undefined;
  }
  if (isWildcard(a)) return b.endsWith(a.slice(1)) ? b : undefined;
  if (isWildcard(b)) return a.endsWith(b.slice(1)) ? a : undefined;
  return undefined;
}

/**
 * A host both hostname lists can match, for messages ("*" when both are on the
 * shared host); undefined when they are disjoint. An empty or absent list means
 * the gateway's shared host: every host that no route names, so it never
 * overlaps a named host (a named host's requests never go to a shared-host route).
 */
export function hostnamesOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): string | undefined {
  const anyA = !a || a.length === 0;
  const anyB = !b || b.length === 0;
  if (anyA && anyB) return '*';
  if (anyA || anyB) return undefined;
  for (const x of a) for (const y of b!) {
    const o = hostPatternOverlap(x, y);
    if (o !== undefined) return o;
  }
  return undefined;
}

/**
 * Whether a hostname claim covers a hostname (exact or wildcard) an instance
 * lists: an exact claim covers itself only; "*.x.example" covers every name
 * below x.example ("a.x.example", "*.y.x.example", itself), never "x.example".
 */
export function hostCovered(host: string, claim: string): boolean {
  const h = normalHost(host);
  const c = normalHost(claim);
  if (h === c) return true;
  return isWildcard(c) && h.endsWith(c.slice(1));
}

// ---- claims between Organizations ---------------------------------------------

export type ClaimField = 'hostnames' | 'pathPrefixes';

export interface RouteClaimSet {
  hostnames: readonly string[];
  pathPrefixes: readonly string[];
}

/** What an Organization's spec claims (read defensively: the operator may see what admission never checked). */
export function claimsOf(org: Pick<Organization, 'spec'> | undefined): RouteClaimSet {
  const routes = org?.spec?.routes;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { hostnames: strings(routes?.hostnames).map(normalHost), pathPrefixes: strings(routes?.pathPrefixes) };
}

/** One claim that overlaps a claim held by another Organization, or a reserved gateway host name. */
export interface ClaimOverlap {
  field: ClaimField;
  /** The claim that overlaps. */
  claim: string;
  /** The Organization that holds the other claim; undefined when it is a reserved gateway host name. */
  heldBy?: string;
  /** The other Organization's claim, or the reserved gateway host name. */
  held: string;
}

const overlapsOf = (field: ClaimField) => (field === 'hostnames' ? (a: string, b: string) => hostPatternOverlap(a, b) !== undefined : pathsOverlap);

/**
 * The claims of `claims` that overlap a reserved gateway host name or a claim
 * of one of `others` (one entry per offending claim: the reserved name first,
 * then the oldest other Organization). Nesting inside one Organization is not
 * an overlap: pass only the other Organizations.
 */
export function claimOverlaps(claims: RouteClaimSet, others: readonly Organization[], reservedHostnames: readonly string[]): ClaimOverlap[] {
  const holders = [...others].sort(olderFirst).map((o) => ({ name: orgName(o), claims: claimsOf(o) }));
  const out: ClaimOverlap[] = [];
  for (const field of ['hostnames', 'pathPrefixes'] as const) {
    const overlaps = overlapsOf(field);
    for (const claim of new Set(claims[field])) {
      const reserved = field === 'hostnames' ? reservedHostnames.find((r) => overlaps(claim, normalHost(r))) : undefined;
      if (reserved !== undefined) {
        out.push({ field, claim, held: reserved });
        continue;
      }
      for (const h of holders) {
        const held = h.claims[field].find((c) => overlaps(claim, c));
        if (held !== undefined) {
          out.push({ field, claim, heldBy: h.name, held });
          break;
        }
      }
    }
  }
  return out;
}

const FIELD_NOUN: Record<ClaimField, string> = { hostnames: 'hostname', pathPrefixes: 'path prefix' };

/** `spec.routes.pathPrefixes "/rail/v2/x" overlaps "/rail/v2", claimed by Organization "a"` (and the reserved-host variant). */
export function overlapMessage(o: ClaimOverlap): string {
  const what = `spec.routes.${o.field} "${o.claim}"`;
  if (o.heldBy === undefined) return `${what} overlaps "${o.held}", a host name of the gateway itself (reserved by the platform settings)`;
  return `${what} overlaps ${FIELD_NOUN[o.field]} "${o.held}", claimed by Organization "${o.heldBy}"`;
}

/** What an Organization may actually use: its claims minus those void because another Organization (granted first, or older) or the gateway holds an overlapping one. */
export interface EffectiveClaims extends RouteClaimSet {
  organization: string;
  /** Claims of the spec that are void, each with what it overlaps. */
  void: readonly ClaimOverlap[];
}

/** The claims the operator last granted an Organization (status.routeClaims): a granted claim keeps its place. */
export function grantedClaimsOf(org: Pick<Organization, 'status'> | undefined): RouteClaimSet {
  const granted = (org?.status as { routeClaims?: Partial<RouteClaimSet> } | undefined)?.routeClaims;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { hostnames: strings(granted?.hostnames).map(normalHost), pathPrefixes: strings(granted?.pathPrefixes) };
}

/**
 * Whether `other`'s claim `held` takes precedence over `org`'s overlapping claim
 * `claim`. A claim already granted (in status, written only by the operator)
 * beats one that is not: adding a claim to an Organization never takes space
 * another Organization holds, however old the adder is (Gateway API's "oldest
 * wins" lets an older route take a newer one's hostname just by adding it).
 * Between two claims both granted or both new, the older Organization wins.
 */
function precedes(other: Organization, held: string, org: Organization, claim: string, field: ClaimField): boolean {
  const otherGranted = grantedClaimsOf(other)[field].includes(held);
  const mineGranted = grantedClaimsOf(org)[field].includes(claim);
  if (otherGranted !== mineGranted) return otherGranted;
  return olderFirst(other, org) < 0;
}

/**
 * The effective claims of `org` among `organizations`: a claim overlapping a
 * reserved gateway host name, or a claim of another Organization that takes
 * precedence over it (granted before it, or as old and older), is void.
 */
export function effectiveClaimsAmong(org: Organization, organizations: readonly Organization[], platform: Pick<PlatformSettings, 'gatewayHostnames'>): EffectiveClaims {
  const name = orgName(org);
  const others = organizations.filter((o) => orgName(o) !== name);
  const claims = claimsOf(org);
  const voided: ClaimOverlap[] = [];
  for (const field of ['hostnames', 'pathPrefixes'] as const) {
    for (const claim of new Set(claims[field])) {
      const [overlap] = claimOverlaps(
        { hostnames: [], pathPrefixes: [], [field]: [claim] },
        others.filter((o) => claimsOf(o)[field].some((held) => overlapsOf(field)(claim, held) && precedes(o, held, org, claim, field))),
        platform.gatewayHostnames,
      );
      if (overlap) voided.push(overlap);
    }
  }
  const isVoid = (field: ClaimField, c: string) => voided.some((v) => v.field === field && v.claim === c);
  return {
    organization: name,
    hostnames: claims.hostnames.filter((c) => !isVoid('hostnames', c)),
    pathPrefixes: claims.pathPrefixes.filter((c) => !isVoid('pathPrefixes', c)),
    void: voided,
  };
}

// Every route verdict asks for its organization's claims: computed once per
// snapshot, kept on it (Snapshot.memo), so they go when the snapshot goes.
const EFFECTIVE_CLAIMS = Symbol('effective route claims by Organization name');

/** effectiveClaimsAmong over the snapshot's Organizations and platform settings, memoized on the snapshot. */
export function effectiveClaims(snapshot: Snapshot, org: Organization): EffectiveClaims {
  const byName = snapshot.memo(EFFECTIVE_CLAIMS, () => new Map<string, EffectiveClaims>());
  const name = orgName(org);
  let found = byName.get(name);
  if (!found) byName.set(name, (found = effectiveClaimsAmong(org, snapshot.organizations(), snapshot.platform)));
  return found;
}

// ---- an ApiInstance inside its organization's claims --------------------------

export interface OutsideClaims {
  /** The field a user changes: "spec.basePath", "spec.hostnames[i]" or "metadata.namespace". */
  field: string;
  message: string;
}

type InstanceRoute = { metadata?: { namespace?: string }; spec?: Partial<Pick<ApiInstance['spec'], 'basePath' | 'hostnames'>> };

/**
 * Whether an instance may take part in route decisions at all: one outside its
 * organization's route space is never served, so it must not hold a contested
 * route either (an older squatter would otherwise keep the owner's newer route off).
 */
export function withinRouteSpace(snapshot: Snapshot): (instance: InstanceRoute) => boolean {
  return (instance) => outsideRouteClaims(snapshot, instance) === undefined;
}

const ASSIGN_HINT = 'route space is assigned by a platform admin in the Organization (spec.routes)';

function voidNote(eff: EffectiveClaims, field: ClaimField, covers: (claim: string) => boolean): string {
  const v = eff.void.find((o) => o.field === field && covers(o.claim));
  if (!v) return '';
  const why = v.heldBy === undefined ? `it overlaps "${v.held}", a host name of the gateway itself` : `Organization "${v.heldBy}" holds "${v.held}" (granted first, or older)`;
  return `; its claim "${v.claim}" would cover it but is void because ${why}`;
}

/**
 * Why an ApiInstance's route lies outside its organization's effective claims,
 * or undefined when it lies inside. Without hostnames (the gateway's shared
 * host) the basePath must be equal to or under a claimed path prefix; with
 * hostnames, each must be covered by a claimed hostname. Reads the instance
 * defensively: a malformed field is left to the schema check.
 */
export function outsideRouteClaims(snapshot: Snapshot, instance: InstanceRoute): OutsideClaims | undefined {
  const ns = instance.metadata?.namespace ?? '';
  const owner = ownerOfNamespace(snapshot, ns);
  if (!owner) {
    return { field: 'metadata.namespace', message: `namespace "${ns}" belongs to no Organization, so it has no route space: ${ASSIGN_HINT}` };
  }
  const org = orgName(owner.organization);
  const eff = effectiveClaims(snapshot, owner.organization);
  const hostnames = Array.isArray(instance.spec?.hostnames) ? instance.spec.hostnames.filter((h): h is string => typeof h === 'string') : [];
  if (hostnames.length === 0) {
    const basePath = instance.spec?.basePath;
    if (typeof basePath !== 'string') return undefined;
    if (eff.pathPrefixes.some((p) => pathUnder(basePath, p))) return undefined;
    const claimed = eff.pathPrefixes.length ? `it claims path prefixes ${quoteList(eff.pathPrefixes)}` : 'it claims no path prefix';
    return {
      field: 'spec.basePath',
      message:
        `spec.basePath "${basePath}" on the gateway's shared host (no spec.hostnames) is outside the route space of Organization "${org}": ` +
        `${claimed} (spec.routes.pathPrefixes)${voidNote(eff, 'pathPrefixes', (c) => pathUnder(basePath, c))}. ` +
        `Use a basePath under one of its prefixes, or hostnames it claims; ${ASSIGN_HINT}`,
    };
  }
  for (const [i, host] of hostnames.entries()) {
    if (eff.hostnames.some((c) => hostCovered(host, c))) continue;
    const claimed = eff.hostnames.length ? `it claims hostnames ${quoteList(eff.hostnames)}` : 'it claims no hostname';
    return {
      field: `spec.hostnames[${i}]`,
      message:
        `spec.hostnames[${i}] "${host}" is outside the route space of Organization "${org}": ` +
        `${claimed} (spec.routes.hostnames)${voidNote(eff, 'hostnames', (c) => hostCovered(host, c))}. ` +
        `Use a hostname it claims, or no hostnames and a basePath under its path prefixes; ${ASSIGN_HINT}`,
    };
  }
  return undefined;
}

/** What the Organization's RouteClaims condition says about void claims (empty when none is void). */
export function voidClaimsMessage(eff: EffectiveClaims): string {
  if (eff.void.length === 0) return '';
  return (
    `${eff.void.map(overlapMessage).join('; ')}: ${eff.void.length > 1 ? 'these claims are' : 'this claim is'} void, because contested route space stays with the claim granted first (else the older Organization) ` +
    `and the gateway's own host names belong to no Organization, so no ApiInstance route under ${eff.void.length > 1 ? 'them' : 'it'} is served. ` +
    `A platform admin removes the claim here, or from the other Organization`
  );
}

/** What the Organization's RouteClaims condition says when every claim holds. */
export function claimsSummary(claims: RouteClaimSet): string {
  const parts = [
    ...(claims.hostnames.length ? [`hostnames ${quoteList(claims.hostnames)}`] : []),
    ...(claims.pathPrefixes.length ? [`path prefixes ${quoteList(claims.pathPrefixes)} on the gateway's shared host`] : []),
  ];
  return parts.length ? `route space: ${parts.join('; ')}` : 'no route space assigned (spec.routes): its ApiInstances are not served until a platform admin assigns some';
}
