// Pure decisions for ApiKeys: names, the Contract an ApiKey needs, its Secret,
// and the credentials it contributes to the gateway config (what it shares
// with Applications is consumer-desired.ts; its verdict model/key-verdict.ts).
// No I/O, no clock reads: `now` is passed in.
import type { V1Secret } from '@kubernetes/client-node';
import type { ApiKey, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import type { Access } from '../../model/access.ts';
import type { Credential } from '../../api/gateway/config.ts';
import { keyContractName } from '../../model/contract-name.ts';
import { consumerContract, credentialSecretAction, credentialSecretConflict, hashEntries, hashesOf, secretBelongsTo, type KeyHashes, type SecretAction } from './consumer-desired.ts';

export function secretNameOf(key: ApiKey): string {
  return key.spec.secretName ?? `${key.metadata.name}-apikey`;
}

/** One Contract per consumer ApiKey, named after it so the owner sees who asks (model/contract-name.ts). */
export function contractNameOf(key: ApiKey): string {
  return keyContractName(key.metadata.namespace!, key.metadata.name!);
}

export function desiredContract(key: ApiKey, access: Access, tier: SlaTier): Contract {
  return consumerContract(key, 'ApiKey', contractNameOf(key), access, { apiInstanceRef: { name: key.spec.apiInstanceRef.name } }, key.spec, key.spec.clientName, tier);
}

/**
 * Whether the Secret belongs to this ApiKey: the key is its controlling owner (ownerReference with the key's uid,
 * controller: true). The one test the key reconciler and the gateway-config writer share: a Secret another key
 * made, or one nobody made for a key, is never read, rotated, deleted or hashed on this key's behalf.
 */
export function secretBelongsToKey(key: ApiKey, secret: V1Secret): boolean {
  return secretBelongsTo(key.metadata.uid, secret);
}

/** The key's hashes, from its Secret only if the Secret belongs to it (none otherwise). */
export function ownHashesOf(key: ApiKey, secret: V1Secret | undefined): KeyHashes {
  return hashesOf(secret && secretBelongsToKey(key, secret) ? secret : undefined);
}

/** Why a Secret of the key's name is not the key's, naming it and its owner (never its content). */
export function secretConflictMessage(key: ApiKey, secret: V1Secret): string {
  return credentialSecretConflict({ kind: 'ApiKey', namespace: key.metadata.namespace!, secretName: secretNameOf(key), named: Boolean(key.spec.secretName), noun: 'key' }, secret);
}

/** What to do with the key Secret now. */
export function secretAction(key: ApiKey, secret: V1Secret | undefined, now: Date): SecretAction {
  return credentialSecretAction({ uid: key.metadata.uid, revoked: key.spec.revoked, rotation: key.spec.rotation }, secret, now, (s) => secretConflictMessage(key, s));
}

/** The credential index entries of one usable key. */
export function credentialsOf(key: ApiKey, contract: Contract, hashes: KeyHashes, now: Date): Array<[string, Credential]> {
  const base: Credential = {
    kind: 'api-key',
    client: `${key.metadata.namespace}/${key.metadata.name}`,
    grants: [
      {
        routes: [`${contract.metadata.namespace}/${contract.spec.apiInstanceRef?.name ?? ''}`],
        contract: `${contract.metadata.namespace}/${contract.metadata.name}`,
        tier: contract.spec.tier,
        ...(contract.spec.endpoints ? { endpoints: contract.spec.endpoints } : {}),
      },
    ],
  };
  return hashEntries(base, key.spec.expiresAt, hashes, now);
}
