// Pure decisions about sharing between organizations: what a peer shares with
// an organization, the state of a share toward each peer, and the view-only
// RBAC an active share needs. Whether trust is mutual is model/trust.ts.
import type { V1Role, V1RoleBinding } from '@kubernetes/client-node';
import type { AssetShare, Organization, OrgTrust } from '../../api/v1alpha1/index.ts';
import { API_VERSION, kindDefinition } from '../../api/v1alpha1/index.ts';
import { ANNOTATION_SHARE, LABEL_MANAGED_BY, LABEL_PEER, LABEL_SHARE_UID, MANAGED_BY } from '../../api/labels.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { organizationByDomain, ownerOfNamespace, ownHome } from '../../model/ownership.ts';
import { mutualTrust } from '../../model/trust.ts';
import { nonViewPeers, shareRbacName, shareTargetProblem } from '../../model/share-grant.ts';

/** The organization that owns a namespace, if it is that organization's home namespace. */
export function homeOwner(snapshot: Snapshot, namespace: string): Organization | undefined {
  const owner = ownerOfNamespace(snapshot, namespace);
  return owner?.organization.spec.homeNamespace === namespace ? owner.organization : undefined;
}

/** Namespace of a share's target: given, else the share's own (an Asset in the home namespace). */
export function targetNamespace(share: AssetShare): string {
  return share.spec.targetRef.namespace ?? share.metadata.namespace!;
}

export interface SharedWithMe {
  kind: 'Asset' | 'ApiInstance' | 'ApiGroup';
  namespace: string;
  name: string;
  access: string;
  share: string;
}

/** What `peer` currently shares with `me`: its view shares naming my domain, while trust is mutual. */
export function sharedWith(snapshot: Snapshot, me: Organization, peer: Organization): SharedWithMe[] {
  if (!mutualTrust(snapshot, me, peer.spec.domain).ok) return [];
  const out: SharedWithMe[] = [];
  const home = ownHome(snapshot, peer);
  for (const share of home === undefined ? [] : snapshot.assetShares(home)) {
    if (share.metadata.deletionTimestamp) continue;
    const entry = share.spec.peers.find((p) => p.domain === me.spec.domain);
    if (!entry || (entry.access ?? 'view') !== 'view') continue;
    if (!targetExists(snapshot, share)) continue;
    // What the operator would refuse to grant is not shown as shared either.
    if (shareTargetProblem(snapshot, peer, share.spec.targetRef, share.metadata.namespace!)) continue;
    out.push({ kind: share.spec.targetRef.kind, namespace: targetNamespace(share), name: share.spec.targetRef.name, access: 'view', share: share.metadata.name! });
  }
  return out.sort((x, y) => `${x.kind}/${x.namespace}/${x.name}`.localeCompare(`${y.kind}/${y.namespace}/${y.name}`));
}

export function targetExists(snapshot: Snapshot, share: AssetShare): boolean {
  const ns = targetNamespace(share);
  const kind = share.spec.targetRef.kind;
  const list = kind === 'Asset' ? snapshot.assets(ns) : kind === 'ApiGroup' ? snapshot.apiGroups(ns) : snapshot.apiInstances(ns);
  return list.some((o) => o.metadata.name === share.spec.targetRef.name && !o.metadata.deletionTimestamp);
}

export interface PeerState {
  domain: string;
  state: 'Active' | 'Suspended';
  reason: string;
  message: string;
  peer?: Organization;
}

/** The state of `share` (owned by `owner`) toward one peer. */
export function peerState(snapshot: Snapshot, owner: Organization, share: AssetShare, peer: { domain: string; access?: string }): PeerState {
  const domain = peer.domain;
  const suspended = (reason: string, message: string): PeerState => ({ domain, state: 'Suspended', reason, message });
  // The webhook's rules again (model/share-grant.ts): it may have been skipped, or the world moved since.
  if (nonViewPeers([peer]).length > 0) {
    return suspended('AccessNotAllowed', `access "${peer.access}" is not allowed: cross-organization grants are view-only`);
  }
  if (domain === owner.spec.domain) return suspended('OwnDomain', 'an organization does not share with itself');
  const target = shareTargetProblem(snapshot, owner, share.spec.targetRef, share.metadata.namespace!);
  if (target) return suspended(target.reason, target.message);
  const trust = mutualTrust(snapshot, owner, domain);
  if (!trust.ok) return suspended(trust.reason, trust.message);
  if (!targetExists(snapshot, share)) {
    const t = share.spec.targetRef;
    return suspended('TargetNotFound', `${t.kind} "${t.name}" does not exist in namespace "${targetNamespace(share)}"`);
  }
  const groups = trust.peer!.spec.memberGroups ?? [];
  if (groups.length === 0) {
    return { domain, state: 'Active', peer: trust.peer, reason: 'NoMemberGroups', message: `shared, but "${domain}" lists no memberGroups: nobody there can read it yet` };
  }
  return { domain, state: 'Active', peer: trust.peer, reason: 'Shared', message: `members of "${domain}" (${groups.join(', ')}) can get ${share.spec.targetRef.kind} "${share.spec.targetRef.name}"` };
}

/** View-only RBAC for one active peer: get/list/watch on exactly the shared object. */
export function desiredShareRbac(share: AssetShare, peer: Organization): { role: V1Role; binding: V1RoleBinding } {
  const name = shareRbacName(share, peer.spec.domain);
  const namespace = targetNamespace(share);
  const plural = kindDefinition(share.spec.targetRef.kind).plural;
  const metadata = {
    name,
    namespace,
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_SHARE_UID]: share.metadata.uid!, [LABEL_PEER]: peer.spec.domain },
    annotations: { [ANNOTATION_SHARE]: `${share.metadata.namespace}/${share.metadata.name}` },
    // Garbage collection can only follow an owner in the same namespace; the finalizer covers the rest.
    ...(namespace === share.metadata.namespace
      ? { ownerReferences: [{ apiVersion: API_VERSION, kind: 'AssetShare', name: share.metadata.name!, uid: share.metadata.uid!, controller: true }] }
      : {}),
  };
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [API_VERSION.split('/')[0]!], resources: [plural], resourceNames: [share.spec.targetRef.name], verbs: ['get', 'list', 'watch'] }],
    },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [...(peer.spec.memberGroups ?? [])].sort().map((g) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: g })),
    },
  };
}

/** Each peer's state and the RBAC objects ("namespace/name" keys) the share grants now: nothing outside an organization's home namespace. */
export function shareGrants(snapshot: Snapshot, share: AssetShare): { states: PeerState[]; wanted: Map<string, { role: V1Role; binding: V1RoleBinding }> } {
  const owner = homeOwner(snapshot, share.metadata.namespace!);
  const states: PeerState[] = owner
    ? share.spec.peers.map((p) => peerState(snapshot, owner, share, p))
    : share.spec.peers.map((p) => ({ domain: p.domain, state: 'Suspended' as const, reason: 'NoOrganization', message: `namespace "${share.metadata.namespace}" is no Organization's homeNamespace` }));
  const wanted = new Map<string, { role: V1Role; binding: V1RoleBinding }>();
  for (const s of states) if (s.state === 'Active' && s.peer) {
    const rbac = desiredShareRbac(share, s.peer);
    wanted.set(`${rbac.role.metadata!.namespace}/${rbac.role.metadata!.name}`, rbac);
  }
  return { states, wanted };
}

/** Shares and trusts to revisit when a trust changes: both directions between the two organizations. */
export function affectedByTrust(snapshot: Snapshot, trust: OrgTrust): { shares: string[]; trusts: string[] } {
  const owner = homeOwner(snapshot, trust.metadata.namespace!);
  const peer = organizationByDomain(snapshot, trust.spec.peerDomain);
  const shares: string[] = [];
  const trusts: string[] = [];
  const sharesToward = (from: Organization, domain: string) => {
    for (const s of snapshot.assetShares(from.spec.homeNamespace)) {
      if (s.spec.peers.some((p) => p.domain === domain)) shares.push(`${s.metadata.namespace}/${s.metadata.name}`);
    }
  };
  if (owner) sharesToward(owner, trust.spec.peerDomain);
  if (peer && owner) {
    sharesToward(peer, owner.spec.domain);
    trusts.push(`${peer.spec.homeNamespace}/${owner.spec.domain}`);
  }
  return { shares, trusts };
}
