// Pure decisions for the ApiInstance reconciler, shared with the gateway-config
// renderer: which Asset an instance implements, which instances hold their
// route and which lose it to an older one, and the status each should report.
// No I/O.
//
// Route conflicts. Two ApiInstances conflict when they are served by the same
// gateway (spec.gateway, default "default"), have the same basePath and their
// hostnames overlap (no hostnames = any host; "*.example.com" matches every
// name below example.com, one label or more, never example.com itself). The
// older one (creationTimestamp, then namespace/name) keeps the route, as
// Gateway API resolves HTTPRoute conflicts. An instance loses as soon as ANY
// older instance claims an overlapping route, whether or not that older one
// is itself served: so an instance's verdict depends only on the specs of the
// instances older than it, deleting an instance can only free routes (never
// take one away from a served instance), and there is no chain reaction. A
// claim is made by existence: an older instance whose Asset is missing still
// holds its route (the gateway answers for it once the Asset appears), and an
// instance being deleted claims nothing.
import type { ApiInstance, Organization } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { orgName, ownerOfNamespace } from '../../model/ownership.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import type { RouteProblem } from '../../model/route-verdict.ts';
import { hostnamesOverlap } from '../../model/route-claims.ts';

export const DEFAULT_GATEWAY = 'default';

type Meta = { metadata?: { name?: string; namespace?: string; creationTimestamp?: Date | string; deletionTimestamp?: Date | string } };
type InstanceLike = Meta & { spec: Pick<ApiInstance['spec'], 'basePath' | 'hostnames' | 'gateway'> };

/** The gateway that serves an instance. */
export function gatewayOf(instance: InstanceLike): string {
  return instance.spec?.gateway || DEFAULT_GATEWAY;
}

/** "namespace/name", the instance's id in messages and in the gateway config. */
export function instanceId(instance: Meta): string {
  return `${instance.metadata?.namespace ?? ''}/${instance.metadata?.name ?? ''}`;
}

function createdAt(o: Meta): number {
  const t = o.metadata?.creationTimestamp;
  const ms = t === undefined ? NaN : new Date(t).getTime();
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}

/** Which of two instances came first: by creationTimestamp, then namespace/name. Negative when `a` is older. */
export function olderInstanceFirst(a: Meta, b: Meta): number {
  const d = createdAt(a) - createdAt(b);
  if (d !== 0) return d < 0 ? -1 : 1;
  const x = instanceId(a);
  const y = instanceId(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Hostname overlap is a model/ decision shared with route claims; re-exported for existing callers.
export { hostPatternOverlap, hostnamesOverlap } from '../../model/route-claims.ts';

/** Why an instance does not get its route. */
export interface RouteConflict {
  /** namespace/name of the instance that loses. */
  instance: string;
  /** namespace/name of the older instance that keeps the route (the oldest, if several). */
  heldBy: string;
  gateway: string;
  /** A host both claim ("*" for any host). */
  host: string;
  basePath: string;
  /** How many older instances claim an overlapping route. */
  claimants: number;
}

const alive = (i: Meta) => !i.metadata?.deletionTimestamp;

/** `group`: the instances of one gateway and basePath, oldest first. */
function conflictWithin(instance: InstanceLike, group: readonly InstanceLike[]): RouteConflict | undefined {
  let found: RouteConflict | undefined;
  for (const other of group) {
    if (other === instance || instanceId(other) === instanceId(instance)) continue;
    if (olderInstanceFirst(other, instance) >= 0) continue;
    const host = hostnamesOverlap(other.spec.hostnames, instance.spec.hostnames);
    if (host === undefined) continue;
    // `group` is sorted oldest first, so the first claimant found is the oldest.
    if (!found) {
      found = { instance: instanceId(instance), heldBy: instanceId(other), gateway: gatewayOf(instance), host, basePath: instance.spec.basePath, claimants: 1 };
    } else {
      found.claimants++;
    }
  }
  return found;
}

function routeGroups(instances: readonly InstanceLike[]): Map<string, InstanceLike[]> {
  const groups = new Map<string, InstanceLike[]>();
  for (const i of instances) {
    if (!alive(i) || !i.spec?.basePath) continue;
    const k = `${gatewayOf(i)}\u0000${i.spec.basePath}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  for (const g of groups.values()) g.sort(olderInstanceFirst);
  return groups;
}

/**
 * Every instance that loses its route, keyed by its namespace/name. The
 * gateway-config renderer serves exactly the instances absent from this map
 * (and not being deleted). Instances of every namespace and gateway may be
 * passed at once.
 */
export function routeConflicts(instances: readonly InstanceLike[]): Map<string, RouteConflict> {
  const out = new Map<string, RouteConflict>();
  for (const group of routeGroups(instances).values()) {
    if (group.length < 2) continue;
    for (const i of group) {
      const c = conflictWithin(i, group);
      if (c) out.set(c.instance, c);
    }
  }
  return out;
}

/** The conflict that keeps `instance` off its route, if any (same rule as routeConflicts, for one instance). */
export function routeConflictOf(instance: InstanceLike, instances: readonly InstanceLike[]): RouteConflict | undefined {
  if (!alive(instance)) return undefined;
  const gw = gatewayOf(instance);
  const group = instances.filter((i) => alive(i) && gatewayOf(i) === gw && i.spec?.basePath === instance.spec.basePath).sort(olderInstanceFirst);
  return conflictWithin(instance, group);
}

/** Keys (namespace/name) of the instances whose route verdict may change when `instance` appears, changes or goes. */
export function routeNeighbours(instance: InstanceLike, instances: readonly InstanceLike[]): string[] {
  const gw = gatewayOf(instance);
  return instances.filter((i) => gatewayOf(i) === gw && i.spec?.basePath === instance.spec?.basePath).map(instanceId);
}

export function conflictMessage(c: RouteConflict): string {
  const host = c.host === '*' ? 'any host' : `host "${c.host}"`;
  const more = c.claimants > 1 ? ` (${c.claimants - 1} more older instance${c.claimants > 2 ? 's' : ''} claim it too)` : '';
  return (
    `route conflict on gateway "${c.gateway}": ApiInstance "${c.heldBy}" is older and already claims ${host} with basePath "${c.basePath}"${more}; ` +
    `the older instance keeps the route: change spec.basePath or spec.hostnames, or delete the other instance`
  );
}

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
