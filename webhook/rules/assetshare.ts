// Rules for AssetShare, the one cross-organization grant:
//  - every peer gets view access only ("cross-organization grants are view-only"), on create and on update;
//  - the target is an object of this organization: an Asset in its home namespace
//    (the default), or an ApiInstance in one of its environment namespaces;
//  - a peer is another, existing organization;
//  - trust with each peer is mutual: both OrgTrusts exist. Checked when a grant is
//    new (on create, for peers added by an update, or when the target changes):
//    a share that lost mutual trust later is suspended by the controller, and
//    must stay editable and deletable meanwhile.
import { ALLOW, deny, describe, isBeingDeleted, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { AssetShare, Organization } from '../../api/v1alpha1/index.ts';
import { environmentNamespaces, organizationByDomain, orgName, ownerOfNamespace, quoteList, trustOf } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { show } from './common.ts';
import { namespaceOwnership } from './namespace-ownership.ts';
import { speaksForOrganization } from './speaks-for-organization.ts';

type Spec = AssetShare['spec'];
type Peer = Spec['peers'][number];

function targetKey(spec: Partial<Spec>, namespace: string): string {
  const t = spec.targetRef;
  return JSON.stringify([t?.kind, t?.name, t?.namespace ?? namespace]);
}

/** Why trust between `org` and `peer` is not mutual, naming each missing OrgTrust and who must create it; [] when mutual. */
export function missingTrust(snapshot: Snapshot, org: Organization, peer: Organization): string[] {
  const problems: string[] = [];
  const sides: [Organization, Organization, string][] = [
    [org, peer, 'before sharing with it'],
    [peer, org, `before ${orgName(org)} can share with it`],
  ];
  for (const [truster, trusted, consequence] of sides) {
    const peerDomain = trusted.spec?.domain ?? '';
    const trust = trustOf(snapshot, truster, peerDomain);
    if (trust && !isBeingDeleted(trust)) continue;
    const state = trust ? 'is being deleted' : 'does not exist';
    problems.push(
      `OrgTrust "${peerDomain}" in namespace "${truster.spec?.homeNamespace}" (organization ${orgName(truster)}) ${state}: ` +
        `${orgName(truster)} must declare trust in ${peerDomain} ${consequence}`,
    );
  }
  return problems;
}

export function assetShareRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const ns = objectNamespace(request);
  const owner = ownerOfNamespace(snapshot, ns);
  if (!owner) return namespaceOwnership(request, snapshot);
  const org = owner.organization;
  const me = orgName(org);
  const myDomain = org.spec?.domain ?? '';
  const home = org.spec?.homeNamespace ?? '';
  const what = describe('AssetShare', objectName(request));
  const spec = specOf<Spec>(request.object);
  const peers: Partial<Peer>[] = Array.isArray(spec.peers) ? spec.peers : [];

  // 1. View-only, for every peer, always.
  const nonView = peers.flatMap((p, i) => ((p?.access ?? 'view') === 'view' ? [] : [{ p, i }]));
  if (nonView.length > 0) {
    const asks = nonView.map(({ p, i }) => `spec.peers[${i}] (domain "${p.domain}") asks for ${show(p.access)} access`).join(', ');
    return deny(`cross-organization grants are view-only: ${asks}. Set access to "view" or leave it out.`, `spec.peers[${nonView[0]!.i}].access`);
  }

  // 2. The target belongs to this organization, in the namespace its kind lives in.
  const target = spec.targetRef;
  const kind = target?.kind;
  const targetNs = target?.namespace ?? ns;
  const targetOwner = ownerOfNamespace(snapshot, targetNs);
  if (!targetOwner || orgName(targetOwner.organization) !== me) {
    const crossing = speaksForOrganization(request, snapshot);
    if (!crossing.allowed) return crossing;
  }
  if (kind === 'Asset') {
    if (targetNs !== home) {
      return deny(
        `spec.targetRef names Asset "${target?.name}" in namespace "${targetNs}", but Organization "${me}" keeps its Assets in its home namespace "${home}": ` +
          `leave spec.targetRef.namespace out or set it to "${home}".`,
        'spec.targetRef.namespace',
      );
    }
  } else if (kind === 'ApiInstance') {
    const envs = environmentNamespaces(org);
    if (!envs.includes(targetNs)) {
      const found = snapshot
        .apiInstances()
        .filter((a) => a.metadata?.name === target?.name && envs.includes(a.metadata?.namespace ?? ''))
        .map((a) => a.metadata?.namespace ?? '');
      const hint = found.length > 0 ? ` (ApiInstance "${target?.name}" exists in ${quoteList(found)})` : '';
      const said = target?.namespace === undefined ? 'spec.targetRef.namespace is not set' : `spec.targetRef.namespace is "${targetNs}"`;
      return deny(
        `${said}, but an ApiInstance lives in an environment namespace of Organization "${me}": set spec.targetRef.namespace to one of ${quoteList(envs)}${hint}.`,
        'spec.targetRef.namespace',
      );
    }
  } else {
    return deny(`spec.targetRef.kind ${show(kind)} cannot be shared: an AssetShare shares an Asset or an ApiInstance.`, 'spec.targetRef.kind');
  }

  // 3. Peers: other, existing organizations, trusted both ways.
  const old = request.operation === 'UPDATE' && request.oldObject ? specOf<Spec>(request.oldObject) : undefined;
  const targetChanged = old !== undefined && targetKey(old, ns) !== targetKey(spec, ns);
  const oldDomains = new Set((Array.isArray(old?.peers) ? old.peers : []).map((p) => p?.domain));
  const problems: string[] = [];
  let firstField: string | undefined;
  for (const [i, p] of peers.entries()) {
    const domain = p?.domain ?? '';
    if (domain === myDomain) {
      return deny(
        `spec.peers[${i}].domain "${domain}" is the domain of Organization "${me}" itself: an AssetShare shares with other organizations only. Remove this peer.`,
        `spec.peers[${i}].domain`,
      );
    }
    const isNewGrant = old === undefined || targetChanged || !oldDomains.has(domain);
    if (!isNewGrant) continue;
    const peerOrg = organizationByDomain(snapshot, domain);
    if (!peerOrg) {
      return deny(
        `spec.peers[${i}].domain "${domain}" is not the domain of any Organization: ${what} can only share with an existing organization that trusts ${myDomain} and is trusted by it. Check the domain.`,
        `spec.peers[${i}].domain`,
      );
    }
    const missing = missingTrust(snapshot, org, peerOrg);
    if (missing.length > 0) {
      problems.push(`${what} cannot share with "${domain}" until trust is mutual: ${missing.join('; and ')}`);
      firstField ??= `spec.peers[${i}].domain`;
    }
  }
  if (problems.length > 0) return deny(`${problems.join('. ')}.`, firstField);
  return ALLOW;
}
