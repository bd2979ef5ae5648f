// Rules for AssetShare, the one cross-organization grant:
//  - every peer gets view access only ("cross-organization grants are view-only"), on create and on update;
//  - the target is an object of this organization: an Asset or an ApiGroup in its home
//    namespace (the default), or an ApiInstance in one of its environment namespaces;
//  - a peer is another, existing organization;
//  - trust with each peer is mutual: both OrgTrusts exist. Checked when a grant is
//    new (on create, for peers added by an update, or when the target changes):
//    a share that lost mutual trust later is suspended by the controller, and
//    must stay editable and deletable meanwhile.
import { ALLOW, deny, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { AssetShare, Organization } from '../../api/v1alpha1/index.ts';
import { organizationByDomain, orgName, ownerOfNamespace } from '../../model/ownership.ts';
import { homeNotOwn, mutualTrust } from '../../model/trust.ts';
import { shareTargetProblem, viewOnlyProblem } from '../../model/share-grant.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { speakerOf } from './namespace-ownership.ts';
import { speaksForOrganization } from './speaks-for-organization.ts';

type Spec = AssetShare['spec'];
type Peer = Spec['peers'][number];

function targetKey(spec: Partial<Spec>, namespace: string): string {
  const t = spec.targetRef;
  return JSON.stringify([t?.kind, t?.name, t?.namespace ?? namespace]);
}

/** Why trust between `org` and `peer` is not mutual (model/trust.ts), naming each missing OrgTrust and who must create it; [] when mutual. */
export function missingTrust(snapshot: Snapshot, org: Organization, peer: Organization): string[] {
  const trust = mutualTrust(snapshot, org, peer);
  // Both OrgTrusts exist but one was made mutual with an earlier holder of the domain (PeerReplaced): its message says what to do.
  if (!trust.ok && trust.gaps.length === 0) return [trust.message];
  return trust.gaps.map((g) => {
    if (g.state === 'cannot count') return homeNotOwn(g);
    const consequence = g.side === 'own' ? 'before sharing with it' : `before ${orgName(org)} can share with it`;
    return `OrgTrust "${g.peerDomain}" in namespace "${g.namespace}" (organization ${g.organization}) ${g.state}: ${g.organization} must declare trust in ${g.peerDomain} ${consequence}`;
  });
}

export function assetShareRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const speaker = speakerOf(request, snapshot);
  if ('refusal' in speaker) return speaker.refusal;
  const { namespace: ns, organization: org, name: me, domain: myDomain, what } = speaker;
  const spec = specOf<Spec>(request.object);
  const peers: Partial<Peer>[] = Array.isArray(spec.peers) ? spec.peers : [];

  // 1. View-only, for every peer, always (model/share-grant.ts, re-checked by the operator).
  const viewOnly = viewOnlyProblem(peers);
  if (viewOnly) return deny(viewOnly.message, viewOnly.field);

  // 2. The target belongs to this organization, in the namespace its kind lives in.
  const target = spec.targetRef;
  const targetOwner = ownerOfNamespace(snapshot, target?.namespace ?? ns);
  if (!targetOwner || orgName(targetOwner.organization) !== me) {
    // The general rule's message for a field naming another organization's namespace.
    const crossing = speaksForOrganization(request, snapshot);
    if (!crossing.allowed) return crossing;
  }
  const targetProblem = shareTargetProblem(snapshot, org, target, ns);
  if (targetProblem) return deny(targetProblem.message, targetProblem.field);

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
