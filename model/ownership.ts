// Who owns a namespace, and the lookups the rules share. Only the Organizations'
// specs decide (platform admins write them); the namespace label
// crossgate.dev/organization is informational: anyone who can label a namespace,
// or a label left behind, must never make a namespace an organization's.
import type { Organization, OrgTrust } from '../api/v1alpha1/index.ts';
import { LABEL_ORGANIZATION } from '../api/labels.ts';
import type { Snapshot } from './snapshot.ts';

export interface NamespaceOwner {
  organization: Organization;
  /** What the namespace is to the organization. */
  role: 'home' | 'environment';
  /** Environment name, for environment namespaces. */
  environment?: string;
}

/** Which of two organizations came first: it keeps a contested domain or namespace (same order as the operator). */
export function olderFirst(a: Organization, b: Organization): number {
  const t = (o: Organization) => (o.metadata?.creationTimestamp ? new Date(o.metadata.creationTimestamp).getTime() : Number.MAX_SAFE_INTEGER);
  return t(a) - t(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

export function orgName(org: Organization): string {
  return org.metadata?.name ?? '';
}

export function environmentNamespaces(org: Organization): string[] {
  return (org.spec?.environments ?? []).map((e) => e.namespace);
}

/** What `namespace` is to `org` according to its spec. */
export function claimOf(org: Organization, namespace: string): { role: 'home' | 'environment'; environment?: string } | undefined {
  if (org.spec?.homeNamespace === namespace) return { role: 'home' };
  const env = (org.spec?.environments ?? []).find((e) => e.namespace === namespace);
  return env ? { role: 'environment', environment: env.name } : undefined;
}

/**
 * Why no Organization may have `namespace` (the system's, crossgate's own): the webhook refuses the claim with this
 * message, the operator neither labels nor binds it (Ready=False, ReservedNamespace), and ownerOfNamespace gives it
 * no owner, so a spec that names it anyway (the webhook skipped) hands no organization a shared namespace.
 */
export function reservedNamespaceProblem(reserved: ReadonlySet<string>, namespace: string): string | undefined {
  // Without a subject ('"x" is reserved …'): the webhook puts the field before it, the operator "namespace".
  return reserved.has(namespace) ? `"${namespace}" is reserved for the system or for crossgate itself and cannot belong to an Organization` : undefined;
}

/** The Organization whose spec lists the namespace (the oldest, if several do); never decided by a label, never a reserved namespace. */
export function ownerOfNamespace(snapshot: Snapshot, namespace: string): NamespaceOwner | undefined {
  if (snapshot.reservedNamespaces.has(namespace)) return undefined;
  const first = snapshot
    .organizations()
    .filter((o) => claimOf(o, namespace))
    .sort(olderFirst)[0];
  return first ? { organization: first, ...claimOf(first, namespace)! } : undefined;
}

/**
 * Why a namespace no spec lists still carries an organization label, for messages: the label names an
 * Organization that does not exist, or one that no longer lists the namespace (its reconciler removes it).
 */
export function strayOrganizationLabel(snapshot: Snapshot, namespace: string): string | undefined {
  const labeled = snapshot.namespace(namespace)?.labels[LABEL_ORGANIZATION];
  if (!labeled) return undefined;
  const exists = snapshot.organizations().some((o) => orgName(o) === labeled);
  return exists
    ? `namespace "${namespace}" is labeled ${LABEL_ORGANIZATION}=${labeled}, but Organization "${labeled}" does not list it in its spec (the label is informational and is being removed)`
    : `namespace "${namespace}" is labeled ${LABEL_ORGANIZATION}=${labeled}, but no Organization "${labeled}" exists`;
}

export function organizationByDomain(snapshot: Snapshot, domain: string): Organization | undefined {
  return snapshot
    .organizations()
    .filter((o) => o.spec?.domain === domain)
    .sort(olderFirst)[0];
}

/**
 * `org`'s home namespace if it is its own (ownerOfNamespace: the oldest Organization listing it), else undefined:
 * an Organization whose spec names another's namespace (a race at creation, the webhook skipped) must not read
 * that organization's OrgTrusts and AssetShares as its own, nor have them written for it by that organization's admins.
 */
export function ownHome(snapshot: Snapshot, org: Organization): string | undefined {
  const home = org.spec?.homeNamespace;
  if (!home) return undefined;
  const owner = ownerOfNamespace(snapshot, home);
  return owner?.role === 'home' && orgName(owner.organization) === orgName(org) ? home : undefined;
}

/**
 * The OrgTrust in which `org` declares trust in `peerDomain`: it lives in the
 * organization's own home namespace (ownHome) and is named after the peer (the CRD enforces
 * name == spec.peerDomain; either matches here).
 */
export function trustOf(snapshot: Snapshot, org: Organization, peerDomain: string): OrgTrust | undefined {
  const home = ownHome(snapshot, org);
  if (home === undefined) return undefined;
  return snapshot.orgTrusts(home).find((t) => t.metadata?.name === peerDomain || t.spec?.peerDomain === peerDomain);
}

export function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}
