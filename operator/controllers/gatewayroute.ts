// Gateway API step of the ApiInstance: for an instance with spec.parentRefs,
// applies (server-side apply, own field manager) the HTTPRoute, the Envoy
// Gateway SecurityPolicy calling crossgate-authz and the ReferenceGrant that
// gatewayroute-desired.ts decides; removes them when parentRefs goes or the
// decision says no; sweeps a namespace's ReferenceGrant once no instance there
// needs it (and every unneeded one at start: namespaces may have gone while the
// operator was down); and reflects the route's Accepted/ResolvedRefs (written
// by the Gateway API controller) in the GatewayRouteAccepted condition. Every
// instance's decision is taken again when an Organization changes (route
// claims, environments); a rendered object the apiserver refuses takes what was
// rendered for the older spec with it (RenderRejected); a grant deleted while
// routes of its namespace need it is applied again; an object of ours orphaned
// (the instance deleted with --cascade=orphan) is removed, or taken back by a
// live instance of its name. An HTTPRoute or SecurityPolicy under the
// instance's name that it did not render (by owner uid and labels) is never
// overwritten nor deleted: the condition names it (NameTaken) and the route
// waits until it is gone.
//
// The Gateway API and Envoy Gateway kinds may be absent from the cluster: the
// HTTPRoute informer is optional (never waited for), an apply answered 404 says
// so in the condition and is retried slowly, never in a hot loop.
import type { Manager, ReconcileContext, ReconcileResult } from '../../kube/controller.ts';
import { generationOrMetadataChanged, specOrDeletionChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition, type ConditionInput } from '../../kube/conditions.ts';
import { applyOwned, deleteIfExists, deleteIfStill } from '../../kube/effects.ts';
import { describeError, isNotFound, statusCodeOf } from '../../kube/kube.ts';
import { objectPath, type ResourceRef } from '../../kube/keys.ts';
import { APPLY_PATCH } from '../../kube/status.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import type { ApiInstance, Policy } from '../../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { APIINSTANCES, ORGANIZATIONS, POLICIES } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import type { Deps } from './deps.ts';
import {
  GATEWAY_ROUTE_CONDITION, HTTPROUTES, LABEL_GATEWAY_ROUTE, LABEL_GRANT_FROM, REFERENCEGRANTS, SECURITYPOLICIES, desiredGatewayRoute, grantName, kindAbsentCondition, nameTakenCondition,
  orphanedRender, renderRejectedCondition, renderedFor, routeAcceptance, type AuthzService,
} from './gatewayroute-desired.ts';

type Instance = ApiInstance & { kind: string; apiVersion: string };

/** Field manager of the rendered objects and of the GatewayRouteAccepted condition. */
export const GATEWAYROUTE_MANAGER = 'crossgate-gatewayroute';
/** How soon a missing kind is looked at again: soon, as a CRD just installed is served a few seconds after it is Established. */
const KIND_ABSENT_RETRY_MS = 10_000;
/** How soon a rendered object the apiserver refused is tried again (the instance's edits are watched; this is for the apiserver's rules changing). */
const RENDER_REJECTED_RETRY_MS = 60_000;
/** How soon a name held by another object is looked at again (that object is not watched). */
const NAME_TAKEN_RETRY_MS = 10_000;

export interface GatewayRouteOptions {
  authz: AuthzService;
  settings?: PlatformSettings;
  workers?: number;
}

/** Only the HTTPRoutes crossgate rendered; optional: the kind may not be served. */
const OWN_HTTPROUTES = { ...HTTPROUTES, namespaced: true, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_GATEWAY_ROUTE}`, optional: true };
/** The ReferenceGrants crossgate manages in authz's namespace; optional likewise. */
const ownGrants = (authzNamespace: string) => ({ ...REFERENCEGRANTS, namespaced: true, namespace: authzNamespace, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_GRANT_FROM}`, optional: true });

/** A same-name object someone else made between the reconciler's read and its apply (applyOwned said so). */
class NameTakenMeanwhile extends Error {
  readonly res: ResourceRef;
  constructor(res: ResourceRef) {
    super(`${res.kind} name taken meanwhile`);
    this.res = res;
  }
}

class KindAbsent extends Error {
  readonly res: ResourceRef;
  constructor(res: ResourceRef) {
    super(`${res.kind} not served`);
    this.res = res;
  }
}

/** The apiserver refused a rendered object for good (its CRD's schema or CEL, an admission policy): retrying the same object cannot help. */
class RenderRejected extends Error {
  readonly res: ResourceRef;
  readonly reason: string;
  constructor(res: ResourceRef, err: unknown) {
    super(`${res.kind} refused`);
    this.res = res;
    this.reason = describeError(err);
  }
}
/** 400 Bad Request, 403 Forbidden (an admission webhook or policy) and 422 Invalid: the object itself is refused. */
const REFUSED = new Set([400, 403, 422]);

export function registerGatewayRouteController(mgr: Manager, deps: Deps & GatewayRouteOptions): void {
  const instances = mgr.informer<Instance>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const snapshot = snapshotReader(mgr, deps.settings);
  const withParents = (ns?: string) => instances.list().filter((i) => (ns === undefined || i.metadata.namespace === ns) && i.spec.parentRefs?.length);
  const keyOf = (i: Instance) => `${i.metadata.namespace}/${i.metadata.name}`;
  /** The instances that may need the grant of namespace `from`. */
  const grantUsers = (from: string | undefined) => (from ? withParents(from).map(keyOf) : []);

  /**
   * The ReferenceGrant (authz's namespace, ours by name) is applied with force; the route and policy through
   * applyOwned with the uid read just before (`owned`: present), so a same-name object a user makes between the
   * read and the write is never taken over (NameTakenMeanwhile).
   */
  const apply = async (res: ResourceRef, obj: { metadata: Record<string, unknown> }, owned?: { uid: string | undefined }): Promise<Record<string, any>> => {
    const path = objectPath(res, obj.metadata.namespace as string, obj.metadata.name as string);
    try {
      if (!owned) return (await deps.http.request('PATCH', path, { contentType: APPLY_PATCH, query: { fieldManager: GATEWAYROUTE_MANAGER, force: true }, body: obj })) as Record<string, any>;
      const r = await applyOwned(deps.http, path, obj, GATEWAYROUTE_MANAGER, owned.uid);
      if ('taken' in r) throw new NameTakenMeanwhile(res);
      return r.applied;
    } catch (err) {
      // The instance's namespace exists: a 404 on apply is the kind (or the authz namespace) missing.
      if (isNotFound(err)) throw new KindAbsent(res);
      if (REFUSED.has(statusCodeOf(err) ?? 0)) throw new RenderRejected(res, err);
      throw err;
    }
  };
  /** The object under `name`, or undefined (a 404 is also what an absent kind answers: the apply says which). */
  const current = async (res: ResourceRef, ns: string, name: string): Promise<Record<string, any> | undefined> => {
    try {
      return (await deps.http.request('GET', objectPath(res, ns, name))) as Record<string, any>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  /** Rendered for `instance`, or rendered by crossgate under its name and orphaned since (no owner left). */
  const ours = (obj: Record<string, any>, name: string, instance?: Instance) => (instance !== undefined && renderedFor(obj, instance)) || orphanedRender(obj, name, GATEWAYROUTE_MANAGER);
  /** The route, then its policy, each only when it is ours for `instance` (or, without one, orphaned) and still the same object. */
  const remove = async (ns: string, name: string, instance?: Instance) => {
    for (const res of [HTTPROUTES, SECURITYPOLICIES]) {
      const obj = await current(res, ns, name);
      if (obj && ours(obj, name, instance)) await deleteIfStill(deps.http, objectPath(res, ns, name), obj.metadata.uid);
    }
  };
  /** Whether a namespace still needs its grant: an instance there renders a route. */
  const grantNeeded = (ns: string) => {
    const snap = snapshot();
    return instances.list().some((i) => i.metadata.namespace === ns && !i.metadata.deletionTimestamp && desiredGatewayRoute(snap, i, deps.authz).render);
  };
  /** The namespace's grant stays while any instance there renders a route. */
  const sweepGrant = async (ns: string) => {
    if (ns === deps.authz.namespace) return;
    if (!grantNeeded(ns)) await deleteIfExists(deps.http, objectPath(REFERENCEGRANTS, deps.authz.namespace, grantName(ns)));
  };
  const writeCondition = async (instance: Instance, cond: ConditionInput) => {
    const previous = (deps.status.current(instance)?.conditions ?? []) as Condition[];
    const generation = instance.metadata.generation ?? 0;
    await deps.status.applyStatus(instance, APIINSTANCES.plural, { conditions: ownConditions(previous, [cond], generation) }, GATEWAYROUTE_MANAGER);
  };

  mgr.addController({
    name: 'apiinstance-gatewayroute',
    for: { ...APIINSTANCES, predicate: generationOrMetadataChanged },
    workers: deps.workers,
    watches: [
      // The route's status (Accepted, ResolvedRefs) changes: reflect it; a rendered route changed or deleted by hand: put it back (a route is named as its instance).
      { resource: OWN_HTTPROUTES, map: (o) => `${o.metadata?.namespace}/${o.metadata?.name}` },
      // Route conflicts per listener: an instance with the same basePath appears, changes or goes.
      { resource: APIINSTANCES, map: (o) => withParents().filter((i) => i.spec.basePath === (o as Instance).spec?.basePath).map(keyOf), predicate: generationOrMetadataChanged },
      // A CORS policy of the namespace decides the SecurityPolicy's spec.cors.
      { resource: POLICIES, map: (o) => withParents(o.metadata?.namespace).map(keyOf), predicate: generationOrMetadataChanged },
      // Route claims and environments decide every route (a claim taken back, or voided by another Organization's):
      // a stale route would keep, as the older one, a host its new owner's route also matches.
      { resource: ORGANIZATIONS, map: () => withParents().map(keyOf), predicate: specOrDeletionChanged },
      // A namespace's grant deleted (a sweep that raced a new route there, or by hand): its routes apply it again.
      { resource: ownGrants(deps.authz.namespace), map: (o) => grantUsers(o.metadata?.labels?.[LABEL_GRANT_FROM]), predicate: (e) => e.type === 'delete' },
    ],
    reconcile: async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const instance = instances.get(key);
      if (!instance || instance.metadata.deletionTimestamp) {
        // The route and policy go with their owner (garbage collection), unless it was deleted orphaning them; the grant is ours to sweep.
        await remove(ctx.namespace!, ctx.name);
        await sweepGrant(ctx.namespace!);
        return;
      }
      const decision = desiredGatewayRoute(snapshot(), instance, deps.authz, policies.list());
      if (!decision.render) {
        await remove(ctx.namespace!, ctx.name, instance);
        await sweepGrant(ctx.namespace!);
        const had = (deps.status.current(instance)?.conditions as Condition[] | undefined)?.some((c) => c.type === GATEWAY_ROUTE_CONDITION);
        const cond = decision.condition ?? (had ? { type: GATEWAY_ROUTE_CONDITION, status: 'False' as const, reason: 'NoParentRefs', message: 'spec.parentRefs is empty: served by the crossgate gateway only' } : undefined);
        if (cond) await writeCondition(instance, cond);
        return;
      }
      const read = new Map<ResourceRef, { uid: string | undefined }>();
      for (const res of [HTTPROUTES, SECURITYPOLICIES]) {
        const obj = await current(res, ctx.namespace!, ctx.name);
        read.set(res, { uid: obj?.metadata?.uid });
        // An orphan of ours is taken back: applied with force and its uid, which puts the owner reference back.
        if (!obj || ours(obj, ctx.name, instance)) continue;
        // Never ours to change: our other object goes too (a policy of ours would target their route by name).
        await remove(ctx.namespace!, ctx.name, instance);
        await writeCondition(instance, nameTakenCondition(res.kind, ctx.namespace!, ctx.name));
        return { requeueAfterMs: NAME_TAKEN_RETRY_MS };
      }
      try {
        // The policy before the route: a route never exists without its ext_authz.
        await apply(SECURITYPOLICIES, decision.policy, read.get(SECURITYPOLICIES));
        if (decision.grant) await apply(REFERENCEGRANTS, decision.grant);
        const route = await apply(HTTPROUTES, decision.route, read.get(HTTPROUTES));
        await writeCondition(instance, routeAcceptance(route));
      } catch (err) {
        if (err instanceof NameTakenMeanwhile) {
          // Made between our read and our write: left as it is; ours of the pair goes, as when the read finds it.
          await remove(ctx.namespace!, ctx.name, instance);
          await writeCondition(instance, nameTakenCondition(err.res.kind!, ctx.namespace!, ctx.name));
          return { requeueAfterMs: NAME_TAKEN_RETRY_MS };
        }
        if (err instanceof RenderRejected) {
          // What was rendered for an older spec must not stay in force (its hostnames may have gone to another organization).
          ctx.log.info({ kind: err.res.kind, err: err.reason }, 'rendered object refused by the apiserver: no route rendered');
          await remove(ctx.namespace!, ctx.name, instance);
          await writeCondition(instance, renderRejectedCondition(err.res.kind!, err.res.group!, err.reason));
          return { requeueAfterMs: RENDER_REJECTED_RETRY_MS };
        }
        if (!(err instanceof KindAbsent)) throw err;
        ctx.log.info({ kind: err.res.kind }, 'Gateway API kind not served: no route rendered');
        // Without its SecurityPolicy a route would bypass crossgate-authz: none is left behind.
        await remove(ctx.namespace!, ctx.name, instance).catch(() => undefined);
        await writeCondition(instance, kindAbsentCondition(err.res.kind!, err.res.group!));
        return { requeueAfterMs: KIND_ABSENT_RETRY_MS };
      }
    },
  });

  const grants = mgr.informer(ownGrants(deps.authz.namespace));
  // Every managed ReferenceGrant is looked at when it appears, so also at start: one whose namespace
  // no longer renders a route (deleted while the operator was down) goes without waiting for a change there.
  mgr.addController({
    name: 'apiinstance-gatewayroute-grants',
    for: { ...ownGrants(deps.authz.namespace), predicate: (e) => e.type !== 'delete' },
    reconcile: async (key: string, ctx: ReconcileContext): Promise<void> => {
      const grant = grants.get(key);
      const from = grant?.metadata?.labels?.[LABEL_GRANT_FROM];
      if (!grant || !from || grantNeeded(from)) return;
      if (await deleteIfStill(deps.http, objectPath(REFERENCEGRANTS, deps.authz.namespace, ctx.name), grant.metadata!.uid)) {
        ctx.log.info({ grant: key, from }, 'swept a ReferenceGrant no route of its namespace needs');
      }
    },
  });
}
