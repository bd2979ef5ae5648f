// Gateway API step of the ApiInstance: for an instance with spec.parentRefs,
// applies (server-side apply, own field manager) the HTTPRoute, the Envoy
// Gateway SecurityPolicy calling crossgate-authz and the ReferenceGrant that
// gatewayroute-desired.ts decides; removes them when parentRefs goes or the
// decision says no; sweeps a namespace's ReferenceGrant once no instance there
// needs it; and reflects the route's Accepted/ResolvedRefs (written by the
// Gateway API controller) in the GatewayRouteAccepted condition.
//
// The Gateway API and Envoy Gateway kinds may be absent from the cluster: the
// HTTPRoute informer is optional (never waited for), an apply answered 404 says
// so in the condition and is retried slowly, never in a hot loop.
import type { Manager, ReconcileContext, ReconcileResult } from '../../kube/controller.ts';
import { generationOrMetadataChanged } from '../../kube/controller.ts';
import { ownConditions, type Condition, type ConditionInput } from '../../kube/conditions.ts';
import { deleteIfExists } from '../../kube/effects.ts';
import { isNotFound } from '../../kube/kube.ts';
import { objectPath, type ResourceRef } from '../../kube/keys.ts';
import { APPLY_PATCH } from '../../kube/status.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import type { ApiInstance } from '../../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { APIINSTANCES } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import type { Deps } from './deps.ts';
import {
  GATEWAY_ROUTE_CONDITION, HTTPROUTES, LABEL_GATEWAY_ROUTE, REFERENCEGRANTS, SECURITYPOLICIES, desiredGatewayRoute, grantName, kindAbsentCondition, routeAcceptance,
  type AuthzService,
} from './gatewayroute-desired.ts';

type Instance = ApiInstance & { kind: string; apiVersion: string };

/** Field manager of the rendered objects and of the GatewayRouteAccepted condition. */
export const GATEWAYROUTE_MANAGER = 'crossgate-gatewayroute';
/** How soon a missing kind is looked for again. */
const KIND_ABSENT_RETRY_MS = 60_000;

export interface GatewayRouteOptions {
  authz: AuthzService;
  settings?: PlatformSettings;
  workers?: number;
}

/** Only the HTTPRoutes crossgate rendered; optional: the kind may not be served. */
const OWN_HTTPROUTES = { ...HTTPROUTES, namespaced: true, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_GATEWAY_ROUTE}`, optional: true };

class KindAbsent extends Error {
  readonly res: ResourceRef;
  constructor(res: ResourceRef) {
    super(`${res.kind} not served`);
    this.res = res;
  }
}

export function registerGatewayRouteController(mgr: Manager, deps: Deps & GatewayRouteOptions): void {
  const instances = mgr.informer<Instance>(APIINSTANCES);
  const snapshot = snapshotReader(mgr, deps.settings);

  const apply = async (res: ResourceRef, obj: { metadata: Record<string, unknown> }): Promise<Record<string, any>> => {
    const path = objectPath(res, obj.metadata.namespace as string, obj.metadata.name as string);
    try {
      return (await deps.http.request('PATCH', path, { contentType: APPLY_PATCH, query: { fieldManager: GATEWAYROUTE_MANAGER, force: true }, body: obj })) as Record<string, any>;
    } catch (err) {
      // The instance's namespace exists: a 404 on apply is the kind (or the authz namespace) missing.
      if (isNotFound(err)) throw new KindAbsent(res);
      throw err;
    }
  };
  const remove = async (ns: string, name: string) => {
    await deleteIfExists(deps.http, objectPath(HTTPROUTES, ns, name));
    await deleteIfExists(deps.http, objectPath(SECURITYPOLICIES, ns, name));
  };
  /** The namespace's grant stays while any instance there renders a route. */
  const sweepGrant = async (ns: string) => {
    if (ns === deps.authz.namespace) return;
    const snap = snapshot();
    const needed = instances.list().some((i) => i.metadata.namespace === ns && !i.metadata.deletionTimestamp && desiredGatewayRoute(snap, i, deps.authz).render);
    if (!needed) await deleteIfExists(deps.http, objectPath(REFERENCEGRANTS, deps.authz.namespace, grantName(ns)));
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
      // The route's status (Accepted, ResolvedRefs) changes: reflect it; a rendered route changed or deleted by hand: put it back.
      { resource: OWN_HTTPROUTES, map: (o) => `${o.metadata?.namespace}/${o.metadata?.labels?.[LABEL_GATEWAY_ROUTE]}` },
    ],
    reconcile: async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const instance = instances.get(key);
      if (!instance || instance.metadata.deletionTimestamp) {
        // The route and policy go with their owner (garbage collection); the grant is ours to sweep.
        await sweepGrant(ctx.namespace!);
        return;
      }
      const decision = desiredGatewayRoute(snapshot(), instance, deps.authz);
      if (!decision.render) {
        await remove(ctx.namespace!, ctx.name);
        await sweepGrant(ctx.namespace!);
        const had = (deps.status.current(instance)?.conditions as Condition[] | undefined)?.some((c) => c.type === GATEWAY_ROUTE_CONDITION);
        const cond = decision.condition ?? (had ? { type: GATEWAY_ROUTE_CONDITION, status: 'False' as const, reason: 'NoParentRefs', message: 'spec.parentRefs is empty: served by the crossgate gateway only' } : undefined);
        if (cond) await writeCondition(instance, cond);
        return;
      }
      try {
        // The policy before the route: a route never exists without its ext_authz.
        await apply(SECURITYPOLICIES, decision.policy);
        if (decision.grant) await apply(REFERENCEGRANTS, decision.grant);
        const route = await apply(HTTPROUTES, decision.route);
        await writeCondition(instance, routeAcceptance(route));
      } catch (err) {
        if (!(err instanceof KindAbsent)) throw err;
        ctx.log.info({ kind: err.res.kind }, 'Gateway API kind not served: no route rendered');
        // Without its SecurityPolicy a route would bypass crossgate-authz: none is left behind.
        await remove(ctx.namespace!, ctx.name).catch(() => undefined);
        await writeCondition(instance, kindAbsentCondition(err.res.kind!, err.res.group!));
        return { requeueAfterMs: KIND_ABSENT_RETRY_MS };
      }
    },
  });
}
