// Pure decisions for the ApiInstance reconciler: which Asset an instance
// implements, where it is served, and the status it reports. Which instances
// hold their route is model/route-conflicts.ts. No I/O.
import type { ApiInstance, Organization } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { orgName, ownerOfNamespace } from '../../model/ownership.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import type { RouteProblem } from '../../model/route-verdict.ts';
import { conflictMessage, gatewayOf, type InstanceLike, type RouteConflict } from '../../model/route-conflicts.ts';

/** Where the gateway serves an instance: gateway URL (scheme and port) when known, the first hostname (or "*"), then basePath. */
export function endpointOf(instance: InstanceLike, gatewayUrl?: string): string {
  const host = instance.spec.hostnames?.[0];
  const basePath = instance.spec.basePath;
  if (!gatewayUrl) return `http://${host ?? '*'}${basePath}`;
  let url: URL;
  try {
    url = new URL(gatewayUrl);
  } catch {
    return `http://${host ?? '*'}${basePath}`;
  }
  const prefix = url.pathname.replace(/\/+$/, '');
  const path = basePath === '/' && prefix ? `${prefix}/` : `${prefix}${basePath}`;
  if (!host) return `${url.protocol}//${url.host}${path}`;
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}${path}`;
}

export type AssetResolution =
  | { ok: true; namespace: string; name: string; organization: Organization }
  | { ok: false; reason: 'NoOrganization' | 'NotAnEnvironment' | 'AssetNotFound'; message: string };

/**
 * The Asset an instance implements: spec.assetRef in the organization's home
 * namespace, or in the namespace it names, which must belong to the same organization.
 */
export function resolveAsset(snapshot: Snapshot, instance: ApiInstance): AssetResolution {
  const ns = instance.metadata.namespace!;
  const owner = ownerOfNamespace(snapshot, ns);
  if (!owner) return { ok: false, reason: 'NoOrganization', message: `namespace "${ns}" belongs to no Organization` };
  const org = owner.organization;
  if (owner.role === 'home') {
    return {
      ok: false,
      reason: 'NotAnEnvironment',
      message: `namespace "${ns}" is the home namespace of Organization "${orgName(org)}": an ApiInstance belongs in one of its environment namespaces`,
    };
  }
  const ref = instance.spec.assetRef;
  const home = org.spec?.homeNamespace ?? '';
  const assetNs = ref.namespace ?? home;
  if (ref.namespace !== undefined && ref.namespace !== home) {
    const other = ownerOfNamespace(snapshot, ref.namespace);
    if (!other || orgName(other.organization) !== orgName(org)) {
      return {
        ok: false,
        reason: 'AssetNotFound',
        message: `Asset "${ref.name}" is looked for in namespace "${ref.namespace}", which does not belong to Organization "${orgName(org)}": an ApiInstance implements an Asset of its own organization (default namespace "${home}")`,
      };
    }
  }
  const found = snapshot.assets(assetNs).find((a) => a.metadata?.name === ref.name && !a.metadata?.deletionTimestamp);
  if (!found) {
    return { ok: false, reason: 'AssetNotFound', message: `Asset "${ref.name}" does not exist in namespace "${assetNs}"` };
  }
  return { ok: true, namespace: assetNs, name: ref.name, organization: org };
}

export interface InstanceStatusDecision {
  ready: ConditionInput;
  gateway: string;
  /** Only while Ready. */
  endpoint?: string;
}

export function desiredInstanceStatus(
  asset: AssetResolution,
  conflict: RouteConflict | undefined,
  instance: ApiInstance,
  gatewayUrl?: string,
  problem?: RouteProblem,
): InstanceStatusDecision {
  const gateway = gatewayOf(instance);
  if (!asset.ok) return { gateway, ready: { type: 'Ready', status: 'False', reason: asset.reason, message: asset.message } };
  if (problem?.action === 'omit') return { gateway, ready: { type: 'Ready', status: 'False', reason: problem.reason, message: problem.message } };
  if (conflict) return { gateway, ready: { type: 'Ready', status: 'False', reason: 'RouteConflict', message: conflictMessage(conflict) } };
  if (problem) return { gateway, ready: { type: 'Ready', status: 'False', reason: problem.reason, message: problem.message } };
  const endpoint = endpointOf(instance, gatewayUrl);
  return {
    gateway,
    endpoint,
    ready: {
      type: 'Ready',
      status: 'True',
      reason: 'Routed',
      // Not the upstream URL: it may carry credentials (user:password@host).
      message: `served by gateway "${gateway}" at ${endpoint} (Asset "${asset.namespace}/${asset.name}")`,
    },
  };
}
