// How many crossgate gateways an organization may name. Each gateway name an
// ApiInstance gives (spec.gateway, any DNS label) gets a config of its own
// from the operator (a Manifest, ROUTE_SHARDS route shards and at least
// CREDENTIAL_SHARDS credential shards) and is reconciled at every watched
// event of every organization: an organization naming thousands would fill
// the gateway namespace and hold every other organization's revocations
// behind its gateways' reconciles. So besides "default", an organization's
// instances name at most MAX_GATEWAYS_PER_ORGANIZATION gateways: those named
// first (by the oldest instance naming each, then namespace/name). An
// instance naming another is not served (the route verdict omits it, the
// webhook refuses it) and its gateway gets no config.
import type { ApiInstance } from '../api/v1alpha1/index.ts';
import type { Snapshot } from './snapshot.ts';
import { orgName, ownerOfNamespace } from './ownership.ts';
import { DEFAULT_GATEWAY, gatewayOf, olderInstanceFirst } from './route-conflicts.ts';

/** Gateways besides "default" one organization's ApiInstances may name. */
export const MAX_GATEWAYS_PER_ORGANIZATION = 4;

type Instance = Pick<ApiInstance, 'metadata' | 'spec'>;


/** The gateways besides "default" that `instances` (one organization's) may name, in the order they were first named. */
export function gatewaysAllowed(instances: readonly Instance[]): string[] {
  const allowed: string[] = [];
  for (const i of [...instances].filter((x) => !x.metadata?.deletionTimestamp).sort(olderInstanceFirst)) {
    const g = gatewayOf(i);
    if (g === DEFAULT_GATEWAY || allowed.includes(g)) continue;
    if (allowed.length < MAX_GATEWAYS_PER_ORGANIZATION) allowed.push(g);
  }
  return allowed;
}

const BY_ORGANIZATION = Symbol('gatewaysByOrganization');

/** The instances of the organization owning `namespace` (its environments), and its name; undefined without an owner. */
function organizationInstances(snapshot: Snapshot, namespace: string): { org: string; instances: Instance[] } | undefined {
  const owner = ownerOfNamespace(snapshot, namespace);
  if (!owner) return undefined;
  const envs = (owner.organization.spec?.environments ?? []).map((e) => e.namespace);
  return { org: orgName(owner.organization), instances: envs.flatMap((ns) => [...snapshot.apiInstances(ns)]) };
}

/** gatewaysAllowed of the organization owning `namespace`, memoized on the snapshot per organization. */
function allowedIn(snapshot: Snapshot, namespace: string): { org: string; allowed: string[] } | undefined {
  const found = organizationInstances(snapshot, namespace);
  if (!found) return undefined;
  const memo = snapshot.memo(BY_ORGANIZATION, () => new Map<string, string[]>());
  let allowed = memo.get(found.org);
  if (!allowed) memo.set(found.org, (allowed = gatewaysAllowed(found.instances)));
  return { org: found.org, allowed };
}

const message = (org: string, gateway: string, allowed: readonly string[]) =>
  `spec.gateway "${gateway}" would be a ${MAX_GATEWAYS_PER_ORGANIZATION + 1}th gateway of Organization "${org}" besides "${DEFAULT_GATEWAY}" ` +
  `(its ApiInstances already name ${allowed.map((g) => `"${g}"`).join(', ')}; at most ${MAX_GATEWAYS_PER_ORGANIZATION}: each gets a config of its own): name one of those, or "${DEFAULT_GATEWAY}"`;

/** Why `instance` may not name its gateway (the organization's budget is taken), or undefined. */
export function gatewayOverBudget(snapshot: Snapshot, instance: Instance): string | undefined {
  const g = gatewayOf(instance);
  if (g === DEFAULT_GATEWAY) return undefined;
  const found = allowedIn(snapshot, instance.metadata?.namespace ?? '');
  // Under the budget, any name fits (also when the snapshot does not hold the instance yet).
  if (!found || found.allowed.includes(g) || found.allowed.length < MAX_GATEWAYS_PER_ORGANIZATION) return undefined;
  return message(found.org, g, found.allowed);
}

/**
 * For admission: why naming `gateway` from `namespace` would take an organization over its budget, counting the
 * organization's instances other than `name` (the one being written), or undefined.
 */
export function newGatewayRefusal(snapshot: Snapshot, namespace: string, name: string, gateway: string | undefined): string | undefined {
  const g = gateway || DEFAULT_GATEWAY;
  if (g === DEFAULT_GATEWAY) return undefined;
  const found = organizationInstances(snapshot, namespace);
  if (!found) return undefined;
  const others = found.instances.filter((i) => !(i.metadata?.namespace === namespace && i.metadata?.name === name));
  const allowed = gatewaysAllowed(others);
  if (allowed.includes(g) || allowed.length < MAX_GATEWAYS_PER_ORGANIZATION) return undefined;
  return message(found.org, g, allowed);
}

/** Every gateway some organization's instance may name, "default" first: the gateways the operator writes configs for. */
export function gatewaysInUse(snapshot: Snapshot, instances: readonly Instance[]): string[] {
  const out = new Set<string>([DEFAULT_GATEWAY]);
  for (const i of instances) {
    if (i.metadata?.deletionTimestamp) continue;
    const g = gatewayOf(i);
    if (out.has(g)) continue;
    // An instance no organization owns is never served: it names no gateway either.
    const found = allowedIn(snapshot, i.metadata?.namespace ?? '');
    if (found?.allowed.includes(g)) out.add(g);
  }
  return [...out];
}
