// May a consumer (an ApiKey, or an Application's access entry) reach an ApiInstance? Shared by the webhook (which
// refuses what can never work) and the operator (which suspends what stops
// working). Same organization: yes. Another organization: only while both
// trust each other and the owner shares that ApiInstance with the consumer.
import type { ApiKey, ApiInstance, Organization } from '../api/v1alpha1/index.ts';
import type { Snapshot } from './snapshot.ts';
import { organizationByDomain, ownerOfNamespace, ownHome } from './ownership.ts';
import { mutualTrust } from './trust.ts';

export interface Access {
  ok: boolean;
  /** CamelCase reason for conditions. */
  reason: string;
  message: string;
  consumer?: Organization;
  owner?: Organization;
  instance?: ApiInstance;
  instanceNamespace: string;
  crossOrganization: boolean;
}

/** A reference to an ApiInstance; its namespace defaults to the consumer's. */
export interface InstanceRef {
  name: string;
  namespace?: string;
}

export function instanceNamespaceOf(key: ApiKey): string {
  return key.spec.apiInstanceRef.namespace ?? key.metadata.namespace!;
}

const alive = <T extends { metadata?: { deletionTimestamp?: unknown } }>(o: T | undefined) => (o && !o.metadata?.deletionTimestamp ? o : undefined);

/** May the ApiKey reach the ApiInstance it names? */
export function resolveAccess(snapshot: Snapshot, key: ApiKey): Access {
  return accessToInstance(snapshot, key.metadata.namespace!, key.spec.apiInstanceRef);
}

/** May a consumer in `consumerNamespace` reach the ApiInstance `ref`? */
export function accessToInstance(snapshot: Snapshot, consumerNamespace: string, ref: InstanceRef): Access {
  const ns = ref.namespace ?? consumerNamespace;
  const name = ref.name;
  const base = { instanceNamespace: ns, crossOrganization: false };
  const consumer = ownerOfNamespace(snapshot, consumerNamespace)?.organization;
  if (!consumer) {
    return { ...base, ok: false, reason: 'NoOrganization', message: `namespace "${consumerNamespace}" belongs to no Organization` };
  }
  const owner = ownerOfNamespace(snapshot, ns)?.organization;
  if (!owner) {
    return { ...base, consumer, ok: false, reason: 'InstanceNotFound', message: `namespace "${ns}" belongs to no Organization, so ApiInstance "${name}" cannot be there` };
  }
  const instance = alive(snapshot.apiInstances(ns).find((i) => i.metadata.name === name));
  const cross = owner.metadata.name !== consumer.metadata.name;
  const ctx = { ...base, consumer, owner, crossOrganization: cross, ...(instance ? { instance } : {}) };
  const refused = cross ? crossOrganizationRefusal(snapshot, consumer, owner, { kind: 'ApiInstance', name, namespace: ns }) : undefined;
  if (refused) return { ...ctx, ok: false, ...refused };
  if (!instance) {
    return { ...ctx, ok: false, reason: 'InstanceNotFound', message: `ApiInstance "${name}" does not exist in namespace "${ns}"` };
  }
  return { ...ctx, ok: true, reason: 'Accessible', message: cross ? `shared by "${owner.spec.domain}" under mutual trust` : 'an ApiInstance of the same organization' };
}

/**
 * Why a consumer of another organization may not reach `target` of `owner`, or undefined when it may: both
 * organizations must trust each other (decided where the OrgTrust reconciler decides it), and the owner must share
 * that very object (an AssetShare of its kind, view-only, in the owner's home namespace) with the consumer.
 */
export function crossOrganizationRefusal(
  snapshot: Snapshot,
  consumer: Organization,
  owner: Organization,
  target: { kind: 'ApiInstance' | 'ApiGroup'; name: string; namespace: string },
): { reason: string; message: string } | undefined {
  const trust = mutualTrust(snapshot, consumer, owner);
  if (!trust.ok) return { reason: trust.reason, message: trust.message };
  const me = consumer.spec.domain;
  const home = owner.spec.homeNamespace;
  // Only shares in a home namespace the owner owns (ownHome): another organization's share there is not the owner's.
  const shared = (ownHome(snapshot, owner) === undefined ? [] : snapshot.assetShares(home))
    .some(
      (s) =>
        !s.metadata.deletionTimestamp &&
        s.spec.targetRef.kind === target.kind &&
        s.spec.targetRef.name === target.name &&
        (s.spec.targetRef.namespace ?? s.metadata.namespace) === target.namespace &&
        s.spec.peers.some((p) => p.domain === me && (p.access ?? 'view') === 'view'),
    );
  if (shared) return undefined;
  return {
    reason: 'NotShared',
    message: `"${owner.spec.domain}" does not share ${target.kind} "${target.name}" (namespace "${target.namespace}") with "${me}": it needs an AssetShare of it with peer "${me}" in namespace "${home}"`,
  };
}

/** Whether the organization owning `domain` exists (for messages about unknown peers). */
export function knownDomain(snapshot: Snapshot, domain: string): boolean {
  return organizationByDomain(snapshot, domain) !== undefined;
}
