// ApiGroups: which ApiInstances a group resolves to, and may a consumer reach a
// group. One membership decision for the ApiGroup reconciler (status), the
// webhook (refuses a member of another organization), the Application and
// Contract reconcilers (a group entry's state) and the gateway-config writer
// (a group grant's routes, the group's tiers on its members' routes): a member
// counts only while it exists in an environment namespace of the group's own
// organization. Anything else is left out and named, never reached.
import type { ApiGroup, ApiInstance, Organization } from '../api/v1alpha1/index.ts';
import { crossOrganizationRefusal, type Access } from './access.ts';
import { orgName, ownerOfNamespace } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

/** A reference to an ApiGroup: its name and namespace (the home namespace of its organization). */
export interface GroupRef {
  name: string;
  namespace: string;
}

export interface GroupMemberProblem {
  namespace: string;
  name: string;
  /** ForeignNamespace (another organization's, or none's), NotEnvironment (not an environment namespace), InstanceNotFound. */
  reason: 'ForeignNamespace' | 'NotEnvironment' | 'InstanceNotFound';
  message: string;
}

export interface GroupMembership {
  /** The organization whose home namespace holds the group; undefined when none does. */
  owner: Organization | undefined;
  /** Why the group itself is not where a group lives (its namespace is no organization's home); undefined when it is. */
  misplaced: string | undefined;
  /** The ApiInstances of the group that exist and are its organization's, in spec order. */
  members: ApiInstance[];
  /** Members left out, in spec order, each with why. */
  missing: GroupMemberProblem[];
}

const alive = <T extends { metadata?: { deletionTimestamp?: unknown } }>(o: T | undefined) => (o && !o.metadata?.deletionTimestamp ? o : undefined);

/**
 * The name a group's SlaTier has on each member's route, and in a group grant: "<group>/<tier>". Instance tier names
 * are DNS labels (no "/"), so a group tier never takes an instance tier's name, nor another group's.
 */
export const groupTierName = (group: string, tier: string): string => `${group}/${tier}`;

/** "ns/name" of an ApiInstance or a member reference. */
export const memberId = (m: { namespace?: string; name?: string } | ApiInstance): string =>
  'metadata' in m ? `${m.metadata?.namespace}/${m.metadata?.name}` : `${m.namespace}/${m.name}`;

/** Why the member `ref` of a group of `org` is left out, or undefined when it is a member (an instance of `org` that exists). */
export function memberProblem(snapshot: Snapshot, org: Organization, ref: { namespace?: string; name?: string }): GroupMemberProblem | undefined {
  const namespace = ref?.namespace ?? '';
  const name = ref?.name ?? '';
  const me = orgName(org);
  const owner = ownerOfNamespace(snapshot, namespace);
  if (!owner || orgName(owner.organization) !== me) {
    const belongs = owner ? `belongs to Organization "${orgName(owner.organization)}" (domain "${owner.organization.spec?.domain}")` : 'belongs to no Organization';
    return {
      namespace, name, reason: 'ForeignNamespace',
      message: `ApiInstance "${name}" is named in namespace "${namespace}", which ${belongs}, not to Organization "${me}": an ApiGroup groups only its own organization's ApiInstances`,
    };
  }
  if (owner.role !== 'environment') {
    return {
      namespace, name, reason: 'NotEnvironment',
      message: `namespace "${namespace}" is the home namespace of Organization "${me}": ApiInstances live in its environment namespaces`,
    };
  }
  if (!alive(snapshot.apiInstances(namespace).find((i) => i.metadata?.name === name))) {
    return { namespace, name, reason: 'InstanceNotFound', message: `ApiInstance "${name}" does not exist in namespace "${namespace}"` };
  }
  return undefined;
}

/** The members of `group` and those left out. */
export function groupMembership(snapshot: Snapshot, group: Pick<ApiGroup, 'metadata' | 'spec'>): GroupMembership {
  const ns = group.metadata?.namespace ?? '';
  const home = ownerOfNamespace(snapshot, ns);
  const refs = Array.isArray(group.spec?.instances) ? group.spec.instances : [];
  if (!home || home.role !== 'home') {
    const misplaced = home
      ? `namespace "${ns}" is an environment namespace of Organization "${orgName(home.organization)}": an ApiGroup lives in its organization's home namespace, "${home.organization.spec?.homeNamespace}"`
      : `namespace "${ns}" belongs to no Organization`;
    return { owner: undefined, misplaced, members: [], missing: refs.map((r) => ({ namespace: r?.namespace ?? '', name: r?.name ?? '', reason: 'ForeignNamespace', message: misplaced })) };
  }
  const org = home.organization;
  const members: ApiInstance[] = [];
  const missing: GroupMemberProblem[] = [];
  for (const ref of refs) {
    const problem = memberProblem(snapshot, org, ref);
    if (problem) missing.push(problem);
    else members.push(snapshot.apiInstances(ref.namespace).find((i) => i.metadata?.name === ref.name && !i.metadata?.deletionTimestamp)!);
  }
  return { owner: org, misplaced: undefined, members, missing };
}

/** The groups of `snapshot` that resolve `instanceId` ("ns/name") as a member (same organization, listed in spec). */
export function groupsOfInstance(snapshot: Snapshot, instance: Pick<ApiInstance, 'metadata'>): ApiGroup[] {
  const owner = ownerOfNamespace(snapshot, instance.metadata?.namespace ?? '');
  if (!owner) return [];
  const home = owner.organization.spec?.homeNamespace ?? '';
  return snapshot
    .apiGroups(home)
    .filter((g) => !g.metadata?.deletionTimestamp && (g.spec?.instances ?? []).some((r) => r.namespace === instance.metadata?.namespace && r.name === instance.metadata?.name));
}

export interface GroupAccess extends Access {
  group?: ApiGroup;
  membership?: GroupMembership;
}

/**
 * May a consumer in `consumerNamespace` reach the ApiGroup `ref`? As accessToInstance: same organization, yes;
 * another only while both trust each other and the owner shares that ApiGroup (an AssetShare of kind ApiGroup) with
 * the consumer. The share of a group grants the group only: sharing one of its members is neither needed nor enough.
 * `instanceNamespace` is the group's namespace (where its Contract and tiers live).
 */
export function accessToGroup(snapshot: Snapshot, consumerNamespace: string, ref: GroupRef): GroupAccess {
  const ns = ref.namespace;
  const name = ref.name;
  const base = { instanceNamespace: ns, crossOrganization: false };
  const consumer = ownerOfNamespace(snapshot, consumerNamespace)?.organization;
  if (!consumer) return { ...base, ok: false, reason: 'NoOrganization', message: `namespace "${consumerNamespace}" belongs to no Organization` };
  const home = ownerOfNamespace(snapshot, ns);
  if (!home || home.role !== 'home') {
    const why = home ? `namespace "${ns}" is not the home namespace of Organization "${orgName(home.organization)}" ("${home.organization.spec?.homeNamespace}")` : `namespace "${ns}" belongs to no Organization`;
    return { ...base, consumer, ok: false, reason: 'GroupNotFound', message: `${why}, so ApiGroup "${name}" cannot be there: ApiGroups live in their organization's home namespace` };
  }
  const owner = home.organization;
  const group = alive(snapshot.apiGroups(ns).find((g) => g.metadata?.name === name));
  const cross = orgName(owner) !== orgName(consumer);
  const ctx = { ...base, consumer, owner, crossOrganization: cross, ...(group ? { group } : {}) };
  // A group lives in the home namespace, where its shares are too.
  const refused = cross ? crossOrganizationRefusal(snapshot, consumer, owner, { kind: 'ApiGroup', name, namespace: ns }) : undefined;
  if (refused) return { ...ctx, ok: false, ...refused };
  if (!group) return { ...ctx, ok: false, reason: 'GroupNotFound', message: `ApiGroup "${name}" does not exist in namespace "${ns}"` };
  const membership = groupMembership(snapshot, group);
  return {
    ...ctx,
    membership,
    ok: true,
    reason: 'Accessible',
    message: cross ? `ApiGroup shared by "${owner.spec.domain}" under mutual trust` : 'an ApiGroup of the same organization',
  };
}
