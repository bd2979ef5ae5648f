// The ApiInstance copy an ApiPromotion makes, and whether that copy would be
// refused in the target: one decision for the webhook rule (a promotion whose
// copy would be refused is refused itself) and the reconciler (which makes it
// again before writing anything: the webhook can be skipped and the source can
// change after admission). The checks are the ones the ApiInstance rule and
// reconciler run, from the same functions: route space (route-claims.ts),
// Gateway API parents and their conflicts (gateway-parents.ts), conflicts on the
// crossgate gateway (route-conflicts.ts) and upstream URLs (upstream.ts). Pure.
import type { ApiInstance, ApiPromotion } from '../api/v1alpha1/index.ts';
import type { Snapshot } from './snapshot.ts';
import { outsideRouteClaims, withinRouteSpace } from './route-claims.ts';
import { parentConflict, parentRefProblem } from './gateway-parents.ts';
import { conflictMessage, routeConflictOf } from './route-conflicts.ts';
import { outboundUrlProblem } from './upstream.ts';

type Overrides = NonNullable<ApiPromotion['spec']['overrides']>;
type PromotionLike = { metadata?: { name?: string; namespace?: string }; spec?: { overrides?: Overrides } };
type SourceLike = { metadata?: { name?: string; namespace?: string }; spec?: unknown };
type Existing = { metadata?: { creationTimestamp?: Date | string } } | undefined;

/** A JSON copy: the copy never shares an object with the informer's cache. */
export function plainSpec<T>(spec: T): Record<string, unknown> {
  return JSON.parse(JSON.stringify(spec ?? {})) as Record<string, unknown>;
}

/** The copy's spec: the source's spec with each override replacing the whole field of the same name. */
export function promotedInstanceSpec(promotion: PromotionLike, source: SourceLike): Record<string, unknown> {
  const spec = plainSpec(source.spec);
  for (const [field, value] of Object.entries(promotion.spec?.overrides ?? {})) if (value !== undefined) spec[field] = JSON.parse(JSON.stringify(value)) as unknown;
  return spec;
}

export interface CopyRefusal {
  /** What the ApiInstance rule or reconciler would say: OutsideRouteClaims, NotAllowedParent, RouteConflict or UpstreamNotAllowed. */
  reason: 'OutsideRouteClaims' | 'NotAllowedParent' | 'DuplicateParent' | 'RouteConflict' | 'UpstreamNotAllowed';
  /** The promotion's field to blame at admission: an override, or spec.source.name when the value is the source's. */
  field: string;
  /** Says what the promotion would create, where the value comes from, and the ApiInstance rule's own words. */
  message: string;
}

/** The override that sets an instance field (spec.basePath, spec.hostnames[0], spec.upstream.url…), if the promotion overrides it. */
function overrideOf(promotion: PromotionLike, instanceField: string): string | undefined {
  const top = /^spec\.([a-zA-Z]+)/.exec(instanceField)?.[1];
  if (!top || promotion.spec?.overrides?.[top as keyof Overrides] === undefined) return undefined;
  return `spec.overrides.${instanceField.slice('spec.'.length)}`;
}

/**
 * Why the ApiInstance copy `promotion` would make of `source` would be refused in
 * the promotion's namespace, or lose its route there; undefined when it would be
 * admitted and served. `existing` is the copy already in the target (made by an
 * earlier promotion): it keeps its age, so an older copy keeps the route it holds.
 */
export function instanceCopyRefusal(snapshot: Snapshot, promotion: PromotionLike, source: SourceLike, existing?: Existing): CopyRefusal | undefined {
  const namespace = promotion.metadata?.namespace ?? '';
  const name = source.metadata?.name ?? '';
  const spec = promotedInstanceSpec(promotion, source) as Partial<ApiInstance['spec']>;
  const copy = {
    metadata: { name, namespace, ...(existing?.metadata?.creationTimestamp ? { creationTimestamp: existing.metadata.creationTimestamp } : {}) },
    spec,
  } as Pick<ApiInstance, 'metadata' | 'spec'>;
  const refuse = (reason: CopyRefusal['reason'], instanceField: string, words: string, refusedBy = 'which its admission refuses'): CopyRefusal => {
    const override = overrideOf(promotion, instanceField);
    const from = override ? `set by ${override}` : `copied from the source ApiInstance "${source.metadata?.namespace ?? ''}/${name}"`;
    return {
      reason,
      field: override ?? 'spec.source.name',
      message: `it would create ApiInstance "${name}" in "${namespace}" with ${instanceField} ${from}, ${refusedBy}: ${words.replace(/\.$/, '')}`,
    };
  };
  // The ApiInstance rule's order: route space, parents, a conflict on a parent, then the upstream.
  const outside = outsideRouteClaims(snapshot, copy);
  if (outside) return refuse('OutsideRouteClaims', outside.field, outside.message);
  const parent = parentRefProblem(snapshot, namespace, Array.isArray(spec.parentRefs) ? spec.parentRefs : undefined);
  if (parent) return refuse(parent.reason === 'DuplicateParent' ? 'DuplicateParent' : 'NotAllowedParent', parent.field, parent.message);
  if (typeof spec.basePath === 'string') {
    const onParent = parentConflict(snapshot, copy);
    if (onParent) return refuse('RouteConflict', 'spec.basePath', `no HTTPRoute can be rendered: ${conflictMessage(onParent)}`);
    // The ApiInstance reconciler's rule on the crossgate gateway: a copy that loses its route would never be served.
    const onGateway = routeConflictOf(copy, snapshot.apiInstances().filter(withinRouteSpace(snapshot)));
    if (onGateway) return refuse('RouteConflict', 'spec.basePath', conflictMessage(onGateway), 'which the gateway would not serve');
  }
  const url = spec.upstream?.url;
  if (typeof url === 'string') {
    const problem = outboundUrlProblem({ snapshot, namespace, url, field: 'spec.upstream.url' });
    if (problem) return refuse('UpstreamNotAllowed', 'spec.upstream.url', problem);
  }
  return undefined;
}
