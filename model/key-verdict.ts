// An ApiKey's verdict: its state, and whether the gateway serves its hashes.
// One decision for the key's status (ApiKey reconciler), its Contract's count
// of keys the gateway honours (Contract reconciler) and the credential index
// (gateway-config writer), so that the three never disagree.
import type { ApiKey, Contract, KeyState, SlaTier } from '../api/v1alpha1/index.ts';
import { LABEL_CONSUMER_UID } from '../api/labels.ts';
import type { Access } from './access.ts';
import { trustGone } from './trust.ts';

export interface KeyVerdict {
  state: KeyState;
  reason: string;
  message: string;
  /** Whether the key's hashes belong in the gateway config. */
  usable: boolean;
}

/**
 * Whether a Contract was opened for this very ApiKey, not for an earlier one of the same name (deleted while the
 * operator was away, or before its Contract was closed): its uid label names the key's uid.
 */
export function contractServes(contract: Contract, key: ApiKey): boolean {
  const uid = contract.metadata?.labels?.[LABEL_CONSUMER_UID];
  return uid !== undefined && uid === key.metadata.uid;
}

/** Whether `tier` (looked up by the key's spec.tier in the instance's namespace) is a tier of the key's ApiInstance. */
export function keyTierFound(key: ApiKey, tier: Pick<SlaTier, 'spec'> | undefined): boolean {
  return tier !== undefined && tier.spec.apiInstanceRef.name === key.spec.apiInstanceRef.name;
}

/** The effective state of an ApiKey, from its spec, its access, whether its tier exists (keyTierFound) and its Contract. */
export function keyVerdict(key: ApiKey, access: Access, contract: Contract | undefined, tierFound: boolean, now: Date): KeyVerdict {
  const no = (state: KeyState, reason: string, message: string): KeyVerdict => ({ state, reason, message, usable: false });
  if (key.spec.revoked) return no('Revoked', 'RevokedByConsumer', 'the key was revoked (spec.revoked)');
  if (key.spec.expiresAt && new Date(key.spec.expiresAt) <= now) return no('Expired', 'Expired', `the key expired at ${key.spec.expiresAt}`);
  if (!access.ok) return no(trustGone(access) ? 'Suspended' : 'Pending', access.reason, access.message);
  if (!tierFound) return no('Pending', 'TierNotFound', `SlaTier "${key.spec.tier}" of ApiInstance "${key.spec.apiInstanceRef.name}" does not exist in namespace "${access.instanceNamespace}"`);
  if (!contract) return no('Pending', 'ContractPending', 'the Contract is being created');
  const where = `Contract "${contract.metadata.name}" in namespace "${contract.metadata.namespace}"`;
  if (!contractServes(contract, key)) return no('Pending', 'ContractPending', `${where} was opened for an earlier ApiKey of this name; it is being replaced`);
  switch (contract.spec.decision) {
    case 'Approved':
      return { state: 'Approved', reason: 'Approved', message: `approved (${where}); the key works at the gateway`, usable: true };
    case 'Rejected':
      return no('Rejected', 'RejectedByOwner', `the API owner rejected ${where}`);
    case 'Revoked':
      return no('Revoked', 'RevokedByOwner', `the API owner revoked ${where}`);
    default:
      return no('Pending', 'AwaitingApproval', `waiting for the API owner to approve ${where} (tier "${key.spec.tier}" needs manual approval)`);
  }
}
