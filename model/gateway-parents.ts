// Which Gateway API Gateways an ApiInstance may attach a rendered HTTPRoute to
// (spec.parentRefs), and which hostnames that route may carry: the decisions
// that keep one organization's rendered routes out of another's traffic. The
// webhook refuses with these messages; the operator renders nothing when they
// object (it does not trust that the webhook ran).
import type { ApiInstance } from '../api/v1alpha1/index.ts';
import { ENV_GATEWAY_HOSTNAMES, ENV_GATEWAY_PARENTS } from '../api/platform.ts';
import type { Snapshot } from './snapshot.ts';
import { outsideRouteClaims, withinRouteSpace } from './route-claims.ts';
import { conflictMessage, parentRouteConflictOf, type RouteConflict } from './route-conflicts.ts';

export type ParentRef = NonNullable<ApiInstance['spec']['parentRefs']>[number];

export interface GatewayRouteProblem {
  /** NotAllowedParent, DuplicateParent, OutsideRouteClaims, RouteConflict or NoSharedHost. */
  reason: string;
  field: string;
  message: string;
}

/** "namespace/name" of the Gateway a ParentReference names (namespace defaults to the route's). */
export function parentGateway(ref: Pick<ParentRef, 'name' | 'namespace'>, routeNamespace: string): string {
  return `${ref.namespace ?? routeNamespace}/${ref.name}`;
}

/** The first parentRef naming a Gateway the platform does not share, or one Gateway twice (DuplicateParent), or undefined. */
export function parentRefProblem(snapshot: Snapshot, namespace: string, parentRefs: readonly ParentRef[] | undefined): GatewayRouteProblem | undefined {
  const allowed = snapshot.platform.gatewayParents ?? [];
  for (const [i, ref] of (parentRefs ?? []).entries()) {
    const gw = parentGateway(ref, namespace);
    if (allowed.includes(gw)) continue;
    const shared = allowed.length ? `the platform shares ${allowed.map((a) => `"${a}"`).join(', ')}` : 'the platform shares no Gateway';
    return {
      reason: 'NotAllowedParent',
      field: `spec.parentRefs[${i}]`,
      message:
        `spec.parentRefs[${i}] names Gateway "${gw}", which is not a Gateway routes may attach to: ${shared} (${ENV_GATEWAY_PARENTS}). ` +
        'Name one of those, or remove spec.parentRefs to be served by the crossgate gateway; shared Gateways are listed by a platform admin',
    };
  }
  return duplicateParent(namespace, parentRefs ?? []);
}

/**
 * The first parentRef naming a Gateway an earlier one names too, unless both name different listeners by
 * sectionName: the HTTPRoute CRD refuses that route ("sectionName must be specified / unique when parentRefs
 * includes 2 or more references to the same parent"), namespaces compared after defaulting, as rendered.
 */
function duplicateParent(namespace: string, refs: readonly ParentRef[]): GatewayRouteProblem | undefined {
  for (const [j, b] of refs.entries()) {
    const i = refs.findIndex((a, k) => k < j && parentGateway(a, namespace) === parentGateway(b, namespace) && (!a.sectionName || !b.sectionName || a.sectionName === b.sectionName));
    if (i < 0) continue;
    return {
      reason: 'DuplicateParent',
      field: `spec.parentRefs[${j}]`,
      message:
        `spec.parentRefs[${j}] names Gateway "${parentGateway(b, namespace)}" again, as spec.parentRefs[${i}] does: ` +
        'Gateway API refuses an HTTPRoute that names one Gateway twice unless each names a different listener by sectionName. Give each a sectionName of its own, or name the Gateway once',
    };
  }
  return undefined;
}

/**
 * The route conflict on a parent listener that keeps an instance's HTTPRoute
 * from being rendered (model/route-conflicts.ts, per listener), among the
 * snapshot's instances inside their organization's route space (one outside
 * is never served, so it holds nothing). The webhook refuses a new one; the
 * operator renders no route while it holds.
 */
export function parentConflict(snapshot: Snapshot, instance: Pick<ApiInstance, 'metadata' | 'spec'>): RouteConflict | undefined {
  if (!instance.spec.parentRefs?.length) return undefined;
  return parentRouteConflictOf(instance, snapshot.apiInstances().filter(withinRouteSpace(snapshot)));
}

export type RouteScope = { ok: true; hostnames: string[] } | ({ ok: false } & GatewayRouteProblem);

/**
 * The hostnames of the HTTPRoute rendered for an instance, or why none may be
 * rendered. Route claims apply as on the crossgate gateway, conflicts with
 * older instances per parent listener; an instance on the
 * shared host (no spec.hostnames) gets the platform's gateway host names, never
 * an HTTPRoute without hostnames, which would match its basePath on every host
 * of the Gateway's listeners, other organizations' hostnames included.
 */
export function gatewayRouteScope(snapshot: Snapshot, instance: Pick<ApiInstance, 'metadata' | 'spec'>): RouteScope {
  const ns = instance.metadata.namespace ?? '';
  const parent = parentRefProblem(snapshot, ns, instance.spec.parentRefs);
  if (parent) return { ok: false, ...parent };
  const outside = outsideRouteClaims(snapshot, instance);
  if (outside) return { ok: false, reason: 'OutsideRouteClaims', field: outside.field, message: outside.message };
  const conflict = parentConflict(snapshot, instance);
  if (conflict) return { ok: false, reason: 'RouteConflict', field: 'spec.parentRefs', message: conflictMessage(conflict) };
  const own = instance.spec.hostnames ?? [];
  if (own.length) return { ok: true, hostnames: [...own] };
  const shared = snapshot.platform.gatewayHostnames;
  if (!shared.length) {
    return {
      ok: false,
      reason: 'NoSharedHost',
      field: 'spec.hostnames',
      message:
        `an instance without spec.hostnames is served on the gateway's shared host, but the platform names none (${ENV_GATEWAY_HOSTNAMES}): ` +
        'an HTTPRoute without hostnames would match on every host of the Gateway. Set spec.hostnames to hostnames of the organization',
    };
  }
  return { ok: true, hostnames: [...shared] };
}
