// A consumer's verdict — an ApiKey's, or one access entry of an Application:
// its state, and whether the gateway serves its hashes. One decision for the
// consumer's status (ApiKey and Application reconcilers), its Contract's count
// of hashes the gateway honours (Contract reconciler) and the credential index
// (gateway-config writer), so that the three never disagree.
import type { AccessEntry, ApiKey, Application, Contract, KeyState, SlaTier } from '../api/v1alpha1/index.ts';
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

/** What the verdict reads of a consumer: an ApiKey, or one access entry of an Application. */
export interface Consumer {
  kind: 'ApiKey' | 'Application';
  uid: string | undefined;
  revoked?: boolean;
  expiresAt?: string;
  /** The tier and ApiInstance (or, for a group entry, ApiGroup) asked for (the key's, or the entry's). */
  tier: string;
  instanceName: string;
  /** What instanceName names; ApiInstance when absent. */
  targetKind?: 'ApiInstance' | 'ApiGroup';
}

/** An ApiKey as a Consumer. */
export function keyConsumer(key: ApiKey): Consumer {
  return {
    kind: 'ApiKey', uid: key.metadata.uid, revoked: key.spec.revoked, tier: key.spec.tier, instanceName: key.spec.apiInstanceRef.name,
    ...(key.spec.expiresAt ? { expiresAt: key.spec.expiresAt } : {}),
  };
}

/** One access entry of an Application as a Consumer. */
export function entryConsumer(app: Application, entry: AccessEntry): Consumer {
  const group = entry.apiGroupRef;
  return {
    kind: 'Application', uid: app.metadata.uid, revoked: app.spec.revoked, tier: entry.tier,
    instanceName: group ? group.name : (entry.apiInstanceRef?.name ?? ''), targetKind: group ? 'ApiGroup' : 'ApiInstance',
    ...(app.spec.expiresAt ? { expiresAt: app.spec.expiresAt } : {}),
  };
}

/**
 * Whether a Contract was opened for this very ApiKey or Application, not for an earlier one of the same name (deleted
 * while the operator was away, or before its Contract was closed): its uid label names the consumer's uid.
 */
export function contractServes(contract: Contract, consumer: { metadata: { uid?: string } }): boolean {
  const uid = contract.metadata?.labels?.[LABEL_CONSUMER_UID];
  return uid !== undefined && uid === consumer.metadata.uid;
}

/**
 * Whether `contract` grants what the consumer asks for now: its kind and name of target, in `namespace` (where the
 * target and its Contract live). An ApiKey's apiInstanceRef may be changed after its Contract was opened, and the
 * Contract's name follows the key, not the instance: a Contract of the former instance never stands for the new one.
 */
export function contractTargets(contract: Contract, consumer: Pick<Consumer, 'instanceName' | 'targetKind'>, namespace: string): boolean {
  const group = consumer.targetKind === 'ApiGroup';
  const named = group ? contract.spec?.apiGroupRef?.name : contract.spec?.apiInstanceRef?.name;
  const other = group ? contract.spec?.apiInstanceRef : contract.spec?.apiGroupRef;
  return contract.metadata?.namespace === namespace && named === consumer.instanceName && other === undefined;
}

/** What a Contract grants, for messages: `ApiInstance "x" in namespace "ns"`. */
const contractTarget = (contract: Contract) =>
  `${contract.spec?.apiGroupRef ? `ApiGroup "${contract.spec.apiGroupRef.name}"` : `ApiInstance "${contract.spec?.apiInstanceRef?.name}"`} in namespace "${contract.metadata?.namespace}"`;

/** Whether `tier` (looked up by the key's spec.tier in the instance's namespace) is a tier of the key's ApiInstance. */
export function keyTierFound(key: ApiKey, tier: Pick<SlaTier, 'spec'> | undefined): boolean {
  return tierFoundFor(key.spec.apiInstanceRef.name, tier);
}

/** Whether `tier` is a tier of the ApiInstance named `instanceName` (in the tier's namespace). */
export function tierFoundFor(instanceName: string, tier: Pick<SlaTier, 'spec'> | undefined): boolean {
  return tier !== undefined && tier.spec.apiInstanceRef?.name === instanceName;
}

/** Whether `tier` is a tier of the ApiGroup named `groupName` (in the tier's namespace). */
export function groupTierFound(groupName: string, tier: Pick<SlaTier, 'spec'> | undefined): boolean {
  return tier !== undefined && tier.spec.apiGroupRef?.name === groupName;
}

/** The effective state of an ApiKey (accessVerdict of the key). */
export function keyVerdict(key: ApiKey, access: Access, contract: Contract | undefined, tierFound: boolean, now: Date): KeyVerdict {
  return accessVerdict(keyConsumer(key), access, contract, tierFound, now);
}

const WORDS = {
  ApiKey: { it: 'the key', works: 'the key works at the gateway' },
  Application: { it: 'the application', works: 'the application may call it at the gateway' },
} as const;

/**
 * The effective state of one consumer's access (an ApiKey, or an Application's access entry), from its spec, its
 * access, whether its tier exists (tierFoundFor) and its Contract. The one decision for the consumer's status, its
 * Contract's status and the gateway config.
 */
export function accessVerdict(consumer: Consumer, access: Access, contract: Contract | undefined, tierFound: boolean, now: Date): KeyVerdict {
  const no = (state: KeyState, reason: string, message: string): KeyVerdict => ({ state, reason, message, usable: false });
  const w = WORDS[consumer.kind];
  if (consumer.revoked) return no('Revoked', 'RevokedByConsumer', `${w.it} was revoked (spec.revoked)`);
  if (consumer.expiresAt && new Date(consumer.expiresAt) <= now) return no('Expired', 'Expired', `${w.it} expired at ${consumer.expiresAt}`);
  if (!access.ok) return no(trustGone(access) ? 'Suspended' : 'Pending', access.reason, access.message);
  if (!tierFound) return no('Pending', 'TierNotFound', `SlaTier "${consumer.tier}" of ${consumer.targetKind ?? 'ApiInstance'} "${consumer.instanceName}" does not exist in namespace "${access.instanceNamespace}"`);
  if (!contract) return no('Pending', 'ContractPending', 'the Contract is being created');
  const where = `Contract "${contract.metadata.name}" in namespace "${contract.metadata.namespace}"`;
  if (!contractServes(contract, { metadata: { uid: consumer.uid } })) {
    return no('Pending', 'ContractPending', `${where} was opened for an earlier ${consumer.kind} of this name; it is being replaced`);
  }
  if (!contractTargets(contract, consumer, access.instanceNamespace)) {
    const asks = `${consumer.targetKind ?? 'ApiInstance'} "${consumer.instanceName}" in namespace "${access.instanceNamespace}"`;
    return no('Pending', 'ContractPending', `${where} grants ${contractTarget(contract)}, not ${asks} that ${w.it} names now; it is being replaced by a new request`);
  }
  switch (contract.spec.decision) {
    case 'Approved':
      return { state: 'Approved', reason: 'Approved', message: `approved (${where}); ${w.works}`, usable: true };
    case 'Rejected':
      return no('Rejected', 'RejectedByOwner', `the API owner rejected ${where}`);
    case 'Revoked':
      return no('Revoked', 'RevokedByOwner', `the API owner revoked ${where}`);
    default:
      return no('Pending', 'AwaitingApproval', `waiting for the API owner to approve ${where} (tier "${consumer.tier}" needs manual approval)`);
  }
}
