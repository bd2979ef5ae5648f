// What a Contract's status should say: the owner's decision, Suspended while
// cross-organization trust or the share is gone, or closing when its ApiKey or
// Application is gone or was made again (or the app's entry removed); and how
// many of the consumer's hashes the gateway honours.
// Pure: the reconciler (contract.ts) passes in what the caches hold.
import type { ApiKey, Application, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import type { Access } from '../../model/access.ts';
import { accessVerdict, contractServes, contractTargets, entryConsumer, keyConsumer, keyTierFound, keyVerdict, type KeyVerdict } from '../../model/key-verdict.ts';
import { appCredentialsOf, grantOf, memberRoutes, type AppHashes, type EntryFacts } from './application-desired.ts';
import { trustGone } from '../../model/trust.ts';
import { credentialsOf } from './apikey-desired.ts';
import type { KeyHashes } from './consumer-desired.ts';

export type ContractState = NonNullable<NonNullable<Contract['status']>['state']>;

export interface DesiredContractState {
  state: ContractState;
  reason: string;
  message: string;
  activeKeys: number;
}

export function desiredContractState(
  contract: Contract,
  apiKey: ApiKey | undefined,
  accessOf: (key: ApiKey) => Access,
  /** The SlaTier named by the key's spec.tier in the instance's namespace, if any. */
  tierOf: (key: ApiKey, access: Access) => Pick<SlaTier, 'spec'> | undefined,
  hashesOf: (key: ApiKey) => KeyHashes,
  now: Date,
): DesiredContractState {
  const decision = contract.spec.decision;
  const { namespace: keyNamespace, name: keyName } = contract.spec.consumer;
  if (!apiKey || !contractServes(contract, apiKey)) {
    // Closed by the ApiKey reconciler (it sees the key's delete event); this status shows only until then.
    const what = apiKey ? 'was deleted and made again' : 'no longer exists';
    return { state: decision, reason: 'ApiKeyNotFound', message: `ApiKey "${keyName}" ${what} in namespace "${keyNamespace}"; this Contract is being closed`, activeKeys: 0 };
  }
  const access = accessOf(apiKey);
  if (!contractTargets(contract, keyConsumer(apiKey), access.instanceNamespace)) {
    // The key was pointed at another ApiInstance: closed by the ApiKey reconciler, which opens a Contract for that one.
    const now = `ApiInstance "${apiKey.spec.apiInstanceRef.name}" in namespace "${access.instanceNamespace}"`;
    return { state: decision, reason: 'TargetChanged', message: `ApiKey "${keyName}" in namespace "${keyNamespace}" names ${now} now; this Contract is being closed`, activeKeys: 0 };
  }
  // The gateway-config writer's verdict: a key whose tier is gone is counted as the gateway treats it, left out.
  const verdict = keyVerdict(apiKey, access, contract, keyTierFound(apiKey, tierOf(apiKey, access)), now);
  return stateFrom(contract, access, verdict, () => credentialsOf(apiKey, contract, hashesOf(apiKey), now).length, 'key');
}

/**
 * The Contract of an Application's access entry: `app` the consumer it names (undefined when gone), `entry` the
 * app's entry for this Contract's instance (entryOfContract; with its facts from entryFacts), `hashes` the app's own.
 * activeKeys counts the app's secret hashes the gateway honours for this Contract.
 */
export function desiredAppContractState(contract: Contract, app: Application | undefined, entry: EntryFacts | undefined, hashes: AppHashes, now: Date): DesiredContractState {
  const decision = contract.spec.decision;
  const { namespace, name } = contract.spec.consumer;
  if (!app || !contractServes(contract, app)) {
    const what = app ? 'was deleted and made again' : 'no longer exists';
    return { state: decision, reason: 'ApplicationNotFound', message: `Application "${name}" ${what} in namespace "${namespace}"; this Contract is being closed`, activeKeys: 0 };
  }
  if (!entry || app.spec.revoked) {
    const why = app.spec.revoked ? 'was revoked' : `no longer lists ${contract.spec.apiGroupRef ? `ApiGroup "${contract.spec.apiGroupRef.name}"` : `ApiInstance "${contract.spec.apiInstanceRef?.name}"`} in spec.access`;
    return { state: decision, reason: app.spec.revoked ? 'RevokedByConsumer' : 'AccessEntryRemoved', message: `Application "${name}" in namespace "${namespace}" ${why}; this Contract is being closed`, activeKeys: 0 };
  }
  // The entry's facts were read with the Contract of its name: this one.
  const verdict = accessVerdict(entryConsumer(app, entry.entry), entry.access, contract, entry.tierFound, now);
  // A group Contract honours hashes only while the group has a member to reach.
  const grants = contract.spec.apiGroupRef ? (memberRoutes(entry).length > 0 ? [grantOf(contract, memberRoutes(entry))] : []) : [grantOf(contract)];
  return stateFrom(contract, entry.access, verdict, () => appCredentialsOf(app, grants, hashes, now).length, 'application');
}

/** The state from the consumer's verdict: Suspended while trust or the share is gone, else the decision with why. */
function stateFrom(contract: Contract, access: Access, verdict: KeyVerdict, active: () => number, what: 'key' | 'application'): DesiredContractState {
  const decision = contract.spec.decision;
  // Trust or the share gone suspends an open Contract: the owner's decision stands, the consumer stops working until they are back.
  if (trustGone(access) && decision !== 'Revoked' && decision !== 'Rejected') {
    return { state: 'Suspended', reason: access.reason, message: access.message, activeKeys: 0 };
  }
  const base = { state: decision, reason: `Decision${decision}`, message: `the owner's decision is ${decision}`, activeKeys: 0 };
  if (verdict.usable) {
    const activeKeys = active();
    return { ...base, message: what === 'key' ? `approved; ${activeKeys} key(s) honoured by the gateway` : `approved; ${activeKeys} client secret(s) honoured by the gateway`, activeKeys };
  }
  if (decision === 'Approved') return { ...base, reason: verdict.reason, message: verdict.message };
  if (decision === 'Pending') {
    const patch = `kubectl patch contract ${contract.metadata.name} -n ${contract.metadata.namespace} --type=merge -p '{"spec":{"decision":"Approved"}}'`;
    return { ...base, message: `waiting for the owner: set spec.decision to Approved or Rejected (${patch})` };
  }
  return base;
}
