// Mutual trust between two organizations, decided once for the webhook (which
// refuses a share or key that needs it), the OrgTrust, AssetShare, ApiKey and
// Contract reconcilers (which report and suspend) and the gateway-config writer
// (which leaves a key out): both OrgTrusts exist, neither is being deleted, and neither
// recorded (status.peerUid) a different Organization than the one now holding its peer's domain.
import type { Organization, OrgTrust } from '../api/v1alpha1/index.ts';
import { environmentNamespaces, organizationByDomain, orgName, ownerOfNamespace, ownHome, trustOf } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

/** One OrgTrust that mutual trust lacks: who must declare it, where, and whether it is absent or being deleted. */
export interface TrustGap {
  /** 'own': the asking organization's side; 'peer': the peer's side. */
  side: 'own' | 'peer';
  /** Name of the Organization that must declare the trust. */
  organization: string;
  /** Its home namespace, where the OrgTrust lives. */
  namespace: string;
  /** The domain it must trust (the OrgTrust's name). */
  peerDomain: string;
  state: 'does not exist' | 'is being deleted' | 'cannot count';
  /** With 'cannot count': the Organization that owns the home namespace the truster's spec names (ownHome). */
  homeOwner?: string;
}

export interface MutualTrust {
  ok: boolean;
  /** CamelCase, for conditions: Mutual, NotTrusted, NotTrustedBack, PeerNotFound, PeerReplaced. */
  reason: 'Mutual' | 'NotTrusted' | 'NotTrustedBack' | 'PeerNotFound' | 'PeerReplaced';
  message: string;
  /** The peer Organization, when one has the domain. */
  peer?: Organization;
  /** Each missing OrgTrust, own side first; [] when mutual. */
  gaps: TrustGap[];
}

function gapOf(snapshot: Snapshot, truster: Organization, peerDomain: string, side: TrustGap['side']): TrustGap | undefined {
  const namespace = truster.spec?.homeNamespace ?? '';
  if (ownHome(snapshot, truster) === undefined) {
    // Its home is another organization's: what that organization's admins write there is not this one's trust.
    const holder = ownerOfNamespace(snapshot, namespace);
    return { side, organization: orgName(truster), namespace, peerDomain, state: 'cannot count', ...(holder ? { homeOwner: orgName(holder.organization) } : {}) };
  }
  const trust: OrgTrust | undefined = trustOf(snapshot, truster, peerDomain);
  if (trust && !trust.metadata?.deletionTimestamp) return undefined;
  const state = trust ? 'is being deleted' : 'does not exist';
  return { side, organization: orgName(truster), namespace, peerDomain, state };
}

/** Why a truster whose home namespace is not its own trusts nobody, for messages. */
export function homeNotOwn(gap: TrustGap): string {
  const held = gap.homeOwner ? `belongs to Organization "${gap.homeOwner}"` : 'is not its own';
  return `Organization "${gap.organization}" trusts nobody: its home namespace "${gap.namespace}" ${held}, so no OrgTrust there is its own (a platform admin must give it a home namespace of its own)`;
}

/**
 * The OrgTrust of `truster` in `holder`'s domain when it recorded (status.peerUid, written by the OrgTrust reconciler
 * when trust first became mutual) another Organization than `holder`: the domain was given to a new tenant since, and
 * trust written for the old holder must not pass to it.
 */
function replacedPeer(snapshot: Snapshot, truster: Organization, holder: Organization): OrgTrust | undefined {
  const trust = trustOf(snapshot, truster, holder.spec?.domain ?? '');
  const recorded = trust?.status?.peerUid;
  return recorded && recorded !== holder.metadata?.uid ? trust : undefined;
}

/** Why trust recorded for an earlier holder of a domain does not count, and the one way to trust the new holder. */
function peerReplacedMessage(truster: Organization, trust: OrgTrust, holder: Organization): string {
  const domain = holder.spec?.domain ?? '';
  return (
    `OrgTrust "${domain}" of "${truster.spec?.domain ?? ''}" was made mutual with an earlier Organization of domain "${domain}" (uid ${trust.status?.peerUid}); ` +
    `Organization "${orgName(holder)}" (uid ${holder.metadata?.uid ?? ''}) holds it now and does not inherit that trust: ` +
    `to trust it, delete and re-create OrgTrust "${domain}" in namespace "${trust.metadata?.namespace ?? ''}"`
  );
}

/**
 * Does `org` trust `peer` (an Organization, or a domain looked up among them) and `peer` trust `org`?
 * With a message a platform engineer can act on, naming the first missing OrgTrust.
 */
export function mutualTrust(snapshot: Snapshot, org: Organization, peer: Organization | string): MutualTrust {
  const me = org.spec?.domain ?? '';
  const peerDomain = typeof peer === 'string' ? peer : (peer.spec?.domain ?? '');
  const peerOrg = typeof peer === 'string' ? organizationByDomain(snapshot, peer) : peer;
  const own = gapOf(snapshot, org, peerDomain, 'own');
  const back = peerOrg ? gapOf(snapshot, peerOrg, me, 'peer') : undefined;
  const gaps = [own, back].filter((g): g is TrustGap => g !== undefined);
  const withPeer = peerOrg ? { peer: peerOrg } : {};
  if (own?.state === 'cannot count') return { ok: false, ...withPeer, reason: 'NotTrusted', message: homeNotOwn(own), gaps };
  if (own) {
    return { ok: false, reason: 'NotTrusted', message: `"${me}" does not trust "${peerDomain}": create OrgTrust "${peerDomain}" in namespace "${own.namespace}"`, gaps };
  }
  if (!peerOrg) {
    return { ok: false, reason: 'PeerNotFound', message: `no Organization has domain "${peerDomain}"; trust becomes mutual once it exists and trusts "${me}" back`, gaps };
  }
  if (back?.state === 'cannot count') return { ok: false, ...withPeer, reason: 'NotTrustedBack', message: homeNotOwn(back), gaps };
  if (back) {
    return {
      ok: false,
      ...withPeer,
      reason: 'NotTrustedBack',
      message: `"${peerDomain}" has not declared trust in "${me}": it needs OrgTrust "${me}" in its namespace "${back.namespace}"`,
      gaps,
    };
  }
  // Both OrgTrusts exist: each must still be about the Organization it was made mutual with.
  const ownReplaced = replacedPeer(snapshot, org, peerOrg);
  if (ownReplaced) return { ok: false, ...withPeer, reason: 'PeerReplaced', message: peerReplacedMessage(org, ownReplaced, peerOrg), gaps };
  const backReplaced = replacedPeer(snapshot, peerOrg, org);
  if (backReplaced) return { ok: false, ...withPeer, reason: 'PeerReplaced', message: peerReplacedMessage(peerOrg, backReplaced, org), gaps };
  return { ok: true, ...withPeer, reason: 'Mutual', message: `"${me}" and "${peerDomain}" trust each other`, gaps };
}

/** Access reasons that mean cross-organization trust or the owner's share is gone: admission refuses, the operator suspends. */
const TRUST_GONE: ReadonlySet<string> = new Set(['NotTrusted', 'NotTrustedBack', 'NotShared', 'PeerReplaced']);

/**
 * Whether an access verdict (model/access.ts) failed because trust or the share was withdrawn, as opposed to
 * something not existing yet: a new key is refused at admission, an issued key and its Contract are Suspended.
 */
export function trustGone(access: { ok: boolean; reason: string }): boolean {
  return !access.ok && TRUST_GONE.has(access.reason);
}

/** The index value of a consumer in `consumerNamespace` reaching a target (ApiInstance or ApiGroup) in `targetNamespace`. */
export const accessPair = (consumerNamespace: string | undefined, targetNamespace: string | undefined): string => `${consumerNamespace}>${targetNamespace}`;

/**
 * The access pairs (accessPair) whose access an OrgTrust can change. Mutual trust is decided between the organization
 * whose home namespace holds the OrgTrust and the organization of the domain it names (mutualTrust, trustOf), and it
 * reaches only consumers of one of them calling a target of the other: every namespace of the one against every
 * namespace of the other, both ways. So an organization writing its OrgTrusts, as often as it likes, never has the
 * operator look again at the keys, applications and Contracts of organizations that trust is not about (it made every
 * one of them be reconciled, and the gateway config recompute every key, at each write). Empty when either side is
 * no Organization (an Organization appearing is an event of its own).
 */
export function trustPairs(snapshot: Snapshot, trust: { metadata?: { namespace?: string; name?: string }; spec?: { peerDomain?: string } }): string[] {
  const home = ownerOfNamespace(snapshot, trust.metadata?.namespace ?? '');
  if (!home || home.role !== 'home') return [];
  const namespacesOf = (o: Organization) => [o.spec?.homeNamespace ?? '', ...environmentNamespaces(o)];
  const own = namespacesOf(home.organization);
  const domains = new Set([trust.spec?.peerDomain, trust.metadata?.name].filter((d): d is string => Boolean(d)));
  const out: string[] = [];
  for (const domain of domains) {
    const peer = organizationByDomain(snapshot, domain);
    if (!peer) continue;
    for (const other of namespacesOf(peer)) {
      for (const mine of own) out.push(accessPair(mine, other), accessPair(other, mine));
    }
  }
  return out;
}
