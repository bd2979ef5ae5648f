// What a Contract's status should say: the owner's decision, Suspended while
// cross-organization trust or the share is gone, or closing when its ApiKey is
// gone or was made again; and how many of the key's hashes the gateway honours.
// Pure: the reconciler (contract.ts) passes in what the caches hold.
import type { ApiKey, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import type { Access } from '../../model/access.ts';
import { contractServes, keyTierFound, keyVerdict } from '../../model/key-verdict.ts';
import { trustGone } from '../../model/trust.ts';
import { credentialsOf, type KeyHashes } from './apikey-desired.ts';

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
  // Trust or the share gone suspends an open Contract: the owner's decision stands, the key stops working until they are back.
  if (trustGone(access) && decision !== 'Revoked' && decision !== 'Rejected') {
    return { state: 'Suspended', reason: access.reason, message: access.message, activeKeys: 0 };
  }
  const base = { state: decision, reason: `Decision${decision}`, message: `the owner's decision is ${decision}`, activeKeys: 0 };
  // The gateway-config writer's verdict: a key whose tier is gone is counted as the gateway treats it, left out.
  const verdict = keyVerdict(apiKey, access, contract, keyTierFound(apiKey, tierOf(apiKey, access)), now);
  if (verdict.usable) {
    const activeKeys = credentialsOf(apiKey, contract, hashesOf(apiKey), now).length;
    return { ...base, message: `approved; ${activeKeys} key(s) honoured by the gateway`, activeKeys };
  }
  if (decision === 'Approved') return { ...base, reason: verdict.reason, message: verdict.message };
  if (decision === 'Pending') {
    const patch = `kubectl patch contract ${contract.metadata.name} -n ${contract.metadata.namespace} --type=merge -p '{"spec":{"decision":"Approved"}}'`;
    return { ...base, message: `waiting for the owner: set spec.decision to Approved or Rejected (${patch})` };
  }
  return base;
}
