// Which ApiInstances hold their route and which lose it to an older one: one
// decision over the instances of a gateway, for the ApiInstance reconciler
// (its Ready) and the gateway-config renderer (what it emits). Pure, no I/O.
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
//
// Per listener. The same rule applies where two instances actually share a
// listener: on the crossgate gateway, the gateway they name (routeConflictOf);
// on a Gateway API Gateway (spec.parentRefs, the rendered HTTPRoute), the same
// Gateway with the same sectionName and port, a parentRef without one reaching
// every listener of the Gateway (parentRouteConflictOf). An instance may so
// lose its route on one parent and keep it on another. Organizations' route
// claims (route-claims.ts) are checked before and hold on every parent.
import type { ApiInstance } from '../api/v1alpha1/index.ts';
import { hostnamesOverlap } from './route-claims.ts';

export const DEFAULT_GATEWAY = 'default';

export type Meta = { metadata?: { name?: string; namespace?: string; creationTimestamp?: Date | string; deletionTimestamp?: Date | string } };
export type InstanceLike = Meta & { spec: Pick<ApiInstance['spec'], 'basePath' | 'hostnames' | 'gateway'> & Partial<Pick<ApiInstance['spec'], 'parentRefs'>> };

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
  /** On a Gateway API parent: the listener both reach, e.g. `Gateway "ns/name" listener "http"`. */
  listener?: string;
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

// ---- Gateway API parents ------------------------------------------------------

/** A Gateway API parent of an instance's HTTPRoute: the Gateway ("namespace/name", namespace defaulted) and the listener it names, if any. */
export interface ParentListener {
  gateway: string;
  sectionName?: string;
  port?: number;
}

/** The parents of an instance's HTTPRoute (spec.parentRefs), namespaces defaulted to the instance's. */
export function parentListeners(instance: InstanceLike): ParentListener[] {
  const ns = instance.metadata?.namespace ?? '';
  const refs = Array.isArray(instance.spec?.parentRefs) ? instance.spec.parentRefs : [];
  return refs.map((r) => ({ gateway: `${r.namespace ?? ns}/${r.name}`, ...(r.sectionName ? { sectionName: r.sectionName } : {}), ...(r.port ? { port: r.port } : {}) }));
}

/**
 * The listener two parents can both attach to, described for messages, or
 * undefined: the same Gateway, and sectionName and port each equal or left
 * open by either (a parentRef without them attaches to every listener).
 */
export function sharedListener(a: ParentListener, b: ParentListener): string | undefined {
  if (a.gateway !== b.gateway) return undefined;
  if (a.sectionName && b.sectionName && a.sectionName !== b.sectionName) return undefined;
  if (a.port && b.port && a.port !== b.port) return undefined;
  const section = a.sectionName ?? b.sectionName;
  const port = a.port ?? b.port;
  const which = [...(section ? [`listener "${section}"`] : []), ...(port ? [`port ${port}`] : [])];
  return `Gateway "${a.gateway}" ${which.length ? which.join(' ') : '(every listener)'}`;
}

/**
 * The conflict that keeps `instance`'s HTTPRoute off one of its parents: an
 * older instance on a listener one of its parents shares, with the same
 * basePath and overlapping hostnames (the rule of routeConflictOf, per
 * listener instead of per crossgate gateway). The first parent that conflicts,
 * its oldest claimant; undefined when none does.
 */
export function parentRouteConflictOf(instance: InstanceLike, instances: readonly InstanceLike[]): RouteConflict | undefined {
  if (!alive(instance)) return undefined;
  const mine = parentListeners(instance);
  if (!mine.length) return undefined;
  const older = instances
    .filter((i) => alive(i) && i.spec?.basePath === instance.spec.basePath && instanceId(i) !== instanceId(instance) && olderInstanceFirst(i, instance) < 0)
    .sort(olderInstanceFirst);
  for (const p of mine) {
    let found: RouteConflict | undefined;
    for (const other of older) {
      const host = hostnamesOverlap(other.spec.hostnames, instance.spec.hostnames);
      if (host === undefined) continue;
      const listener = parentListeners(other).map((q) => sharedListener(p, q)).find((l) => l !== undefined);
      if (listener === undefined) continue;
      if (found) found.claimants++;
      else found = { instance: instanceId(instance), heldBy: instanceId(other), gateway: p.gateway, host, basePath: instance.spec.basePath, claimants: 1, listener };
    }
    if (found) return found;
  }
  return undefined;
}

export function conflictMessage(c: RouteConflict): string {
  const host = c.host === '*' ? 'any host' : `host "${c.host}"`;
  const more = c.claimants > 1 ? ` (${c.claimants - 1} more older instance${c.claimants > 2 ? 's' : ''} claim it too)` : '';
  const on = c.listener ?? `gateway "${c.gateway}"`;
  return (
    `route conflict on ${on}: ApiInstance "${c.heldBy}" is older and already claims ${host} with basePath "${c.basePath}"${more}; ` +
    `the older instance keeps the route: change spec.basePath or spec.hostnames${c.listener ? ', attach to another listener (spec.parentRefs)' : ''}, or delete the other instance`
  );
}
