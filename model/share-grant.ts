// What an AssetShare may grant, decided once for the webhook (which refuses)
// and the operator (which grants nothing and says why): every peer view-only,
// the target an object of the sharing organization in the namespace its kind
// lives in (an ApiGroup, like an Asset, in the home namespace); and how its RBAC objects are named and which of them must go.
import { createHash } from 'node:crypto';
import type { AssetShare, Organization } from '../api/v1alpha1/index.ts';
import { LABEL_SHARE_UID } from '../api/labels.ts';
import { environmentNamespaces, orgName, ownerOfNamespace, quoteList } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

export interface ShareProblem {
  /** CamelCase, for the share's condition. */
  reason: string;
  message: string;
  /** The field a user fixes. */
  field: string;
}

type Peer = { domain?: string; access?: string };
type TargetRef = { kind?: string; name?: string; namespace?: string };

/** Peers that ask for anything but view (access defaults to view). */
export function nonViewPeers(peers: readonly Peer[]): { index: number; domain: string; access: string }[] {
  return peers.flatMap((p, index) => ((p?.access ?? 'view') === 'view' ? [] : [{ index, domain: p?.domain ?? '', access: String(p?.access) }]));
}

/** Why `peers` ask for more than view, naming each offending peer; undefined when all are view-only. */
export function viewOnlyProblem(peers: readonly Peer[]): ShareProblem | undefined {
  const bad = nonViewPeers(peers);
  if (bad.length === 0) return undefined;
  const asks = bad.map((p) => `spec.peers[${p.index}] (domain "${p.domain}") asks for ${JSON.stringify(p.access)} access`).join(', ');
  return {
    reason: 'AccessNotAllowed',
    message: `cross-organization grants are view-only: ${asks}. Set access to "view" or leave it out.`,
    field: `spec.peers[${bad[0]!.index}].access`,
  };
}

/**
 * Why the target of a share in `shareNamespace` (a namespace of `org`) is not
 * `org`'s to share: another organization's namespace (ownership follows the
 * Organizations' specs, so a namespace moved to another organization takes its
 * objects with it), an Asset outside the home namespace, an ApiInstance outside
 * the environment namespaces, or a kind that cannot be shared.
 */
export function shareTargetProblem(snapshot: Snapshot, org: Organization, target: TargetRef | undefined, shareNamespace: string): ShareProblem | undefined {
  const me = orgName(org);
  const home = org.spec?.homeNamespace ?? '';
  const kind = target?.kind;
  const targetNs = target?.namespace ?? shareNamespace;
  const field = 'spec.targetRef.namespace';
  if (kind !== 'Asset' && kind !== 'ApiInstance' && kind !== 'ApiGroup') {
    const shown = kind === undefined ? 'undefined' : JSON.stringify(kind);
    return { reason: 'TargetNotShareable', message: `spec.targetRef.kind ${shown} cannot be shared: an AssetShare shares an Asset, an ApiInstance or an ApiGroup.`, field: 'spec.targetRef.kind' };
  }
  const owner = ownerOfNamespace(snapshot, targetNs);
  if (!owner || orgName(owner.organization) !== me) {
    const belongs = owner ? `belongs to Organization "${orgName(owner.organization)}"` : 'belongs to no Organization';
    return {
      reason: 'TargetNotOwned',
      message:
        `spec.targetRef names ${kind} "${target?.name}" in namespace "${targetNs}", which ${belongs}, not to Organization "${me}": ` +
        `an organization shares only its own objects. Name a namespace of ${me} (${quoteList([home, ...environmentNamespaces(org)])}).`,
      field,
    };
  }
  if ((kind === 'Asset' || kind === 'ApiGroup') && targetNs !== home) {
    return {
      reason: 'TargetNamespace',
      message:
        `spec.targetRef names ${kind} "${target?.name}" in namespace "${targetNs}", but Organization "${me}" keeps its ${kind}s in its home namespace "${home}": ` +
        `leave spec.targetRef.namespace out or set it to "${home}".`,
      field,
    };
  }
  // An environment namespace by the spec, and owned (the older of two claimants keeps it).
  if (kind === 'ApiInstance' && owner.role !== 'environment') {
    const envs = environmentNamespaces(org);
    const found = snapshot
      .apiInstances()
      .filter((a) => a.metadata?.name === target?.name && envs.includes(a.metadata?.namespace ?? ''))
      .map((a) => a.metadata?.namespace ?? '');
    const hint = found.length > 0 ? ` (ApiInstance "${target?.name}" exists in ${quoteList(found)})` : '';
    const said = target?.namespace === undefined ? 'spec.targetRef.namespace is not set' : `spec.targetRef.namespace is "${targetNs}"`;
    return {
      reason: 'TargetNamespace',
      message: `${said}, but an ApiInstance lives in an environment namespace of Organization "${me}": set spec.targetRef.namespace to one of ${quoteList(envs)}${hint}.`,
      field,
    };
  }
  return undefined;
}

/**
 * Name of the Role and RoleBinding that grant `share` to one peer. A hash of the
 * share's uid and the peer keeps names apart that a plain concatenation would
 * merge ("a-b" + "c" and "a" + "b-c"), and a share made again under the same
 * name never takes over its predecessor's objects.
 */
export function shareRbacName(share: Pick<AssetShare, 'metadata'>, domain: string): string {
  const hash = createHash('sha256').update(`${share.metadata.uid ?? ''}\n${domain}`).digest('hex').slice(0, 16);
  // The share's name only helps a reader; the hash alone keeps names apart.
  return `crossgate-share-${(share.metadata.name ?? '').slice(0, 40)}-${hash}`;
}

export interface GrantObject {
  metadata?: { namespace?: string; name?: string; labels?: Record<string, string> };
}

/**
 * The share Roles or RoleBindings (those labelled with a share's uid) that no
 * live share grants: their share is gone (whatever happened to its finalizer)
 * or no longer wants them. `wanted` maps a share uid to the "namespace/name"
 * keys it grants now.
 */
export function grantsToSweep<T extends GrantObject>(objects: readonly T[], wanted: ReadonlyMap<string, ReadonlySet<string>>): T[] {
  return objects.filter((o) => {
    const uid = o.metadata?.labels?.[LABEL_SHARE_UID];
    if (uid === undefined) return false; // not a share's grant (an Organization's RoleBinding)
    return !wanted.get(uid)?.has(`${o.metadata?.namespace}/${o.metadata?.name}`);
  });
}

/** Whether an existing Role or RoleBinding may be written for the share with `uid`: never one of another share, nor one made by someone else. */
export function grantBelongsTo(existing: GrantObject, uid: string): boolean {
  return existing.metadata?.labels?.[LABEL_SHARE_UID] === uid;
}
