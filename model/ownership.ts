// Who owns a namespace, and the lookups the rules share. The Organizations'
// specs are the source of truth; the namespace label crossgate.dev/organization
// (written by the operator) is the fallback for a namespace no spec lists.
import type { Organization, OrgTrust } from '../api/v1alpha1/index.ts';
import { LABEL_ENVIRONMENT, LABEL_ORGANIZATION, LABEL_ROLE } from '../api/labels.ts';
import type { Snapshot } from './snapshot.ts';

export interface NamespaceOwner {
  organization: Organization;
  /** What the namespace is to the organization; undefined when only a label links them and it names no role. */
  role: 'home' | 'environment' | undefined;
  /** Environment name, for environment namespaces. */
  environment?: string;
  /** How ownership was established. */
  source: 'spec' | 'label';
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

export function ownerOfNamespace(snapshot: Snapshot, namespace: string): NamespaceOwner | undefined {
  const claimants = snapshot
    .organizations()
    .filter((o) => claimOf(o, namespace))
    .sort(olderFirst);
  const first = claimants[0];
  if (first) return { organization: first, ...claimOf(first, namespace)!, source: 'spec' };
  const labels = snapshot.namespace(namespace)?.labels ?? {};
  const labeled = labels[LABEL_ORGANIZATION];
  const org = labeled ? snapshot.organizations().find((o) => orgName(o) === labeled) : undefined;
  if (!org) return undefined;
  const roleLabel = labels[LABEL_ROLE];
  const role = roleLabel === 'home' || roleLabel === 'environment' ? roleLabel : undefined;
  const env = labels[LABEL_ENVIRONMENT];
  return role === 'environment' && env ? { organization: org, role, environment: env, source: 'label' } : { organization: org, role, source: 'label' };
}

/** The organization named by a namespace's label when that organization does not exist (for messages). */
export function danglingOrganizationLabel(snapshot: Snapshot, namespace: string): string | undefined {
  const labeled = snapshot.namespace(namespace)?.labels[LABEL_ORGANIZATION];
  return labeled && !snapshot.organizations().some((o) => orgName(o) === labeled) ? labeled : undefined;
}

export function organizationByDomain(snapshot: Snapshot, domain: string): Organization | undefined {
  return snapshot
    .organizations()
    .filter((o) => o.spec?.domain === domain)
    .sort(olderFirst)[0];
}

/**
 * The OrgTrust in which `org` declares trust in `peerDomain`: it lives in the
 * organization's home namespace and is named after the peer (the CRD enforces
 * name == spec.peerDomain; either matches here).
 */
export function trustOf(snapshot: Snapshot, org: Organization, peerDomain: string): OrgTrust | undefined {
  return snapshot
    .orgTrusts(org.spec?.homeNamespace ?? '')
    .find((t) => t.metadata?.name === peerDomain || t.spec?.peerDomain === peerDomain);
}

export function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}
