// Pure decisions for Applications: the Secret's name, the Contract of each
// access entry, why a Secret of the app's name is not its own, and the one
// client-secret credential an app contributes to a gateway. The issue,
// rotation, grace and revocation rules are the ApiKey's (apikey-desired.ts
// credentialSecretAction); each entry's verdict is model/key-verdict.ts.
import type { V1Secret } from '@kubernetes/client-node';
import type { AccessEntry, Application, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import { ANNOTATION_CLIENT_ID, LABEL_CONSUMER_DOMAIN, LABEL_CONSUMER_NAMESPACE, LABEL_CONSUMER_UID, LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import type { Credential, Grant } from '../../api/gateway/config.ts';
import { accessToInstance, type Access } from '../../model/access.ts';
import { accessVerdict, entryConsumer, tierFoundFor, type KeyVerdict } from '../../model/key-verdict.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { applicationContractName } from '../../model/contract-name.ts';
import { credentialSecretAction, credentialSecretConflict, hashEntries, hashesOf, secretBelongsTo, type KeyHashes, type SecretAction } from './apikey-desired.ts';

export function appSecretNameOf(app: Application): string {
  return app.spec.secretName ?? `${app.metadata.name}-client`;
}

/** The namespace of an entry's ApiInstance (the consumer's when the entry names none): where its Contract lives. */
export function entryNamespace(app: Application, entry: AccessEntry): string {
  return entry.apiInstanceRef.namespace ?? app.metadata.namespace!;
}

/** "ns/name" of every ApiInstance the app lists. */
export function appInstances(app: Application): string[] {
  return (app.spec.access ?? []).map((e) => `${entryNamespace(app, e)}/${e.apiInstanceRef.name}`);
}

/** "ns/name" of an entry's Contract (model/contract-name.ts). */
export function entryContractId(app: Application, entry: AccessEntry): string {
  return `${entryNamespace(app, entry)}/${applicationContractName(app.metadata.namespace!, app.metadata.name!, entry.apiInstanceRef.name)}`;
}

export function desiredAppContract(app: Application, entry: AccessEntry, access: Access, tier: SlaTier): Contract {
  return {
    apiVersion: API_VERSION,
    kind: 'Contract',
    metadata: {
      name: applicationContractName(app.metadata.namespace!, app.metadata.name!, entry.apiInstanceRef.name),
      namespace: access.instanceNamespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_CONSUMER_NAMESPACE]: app.metadata.namespace!,
        [LABEL_CONSUMER_DOMAIN]: access.consumer!.spec.domain,
        ...(app.metadata.uid ? { [LABEL_CONSUMER_UID]: app.metadata.uid } : {}),
      },
    },
    spec: {
      apiInstanceRef: { name: entry.apiInstanceRef.name },
      tier: entry.tier,
      consumer: {
        organization: access.consumer!.spec.domain,
        namespace: app.metadata.namespace!,
        kind: 'Application',
        name: app.metadata.name!,
        ...(app.spec.displayName ? { clientName: app.spec.displayName } : {}),
      },
      ...(entry.endpoints ? { endpoints: entry.endpoints } : {}),
      decision: tier.spec.approval === 'automatic' ? 'Approved' : 'Pending',
    },
  } as Contract;
}

/** The access entry a Contract of this app serves (same ApiInstance namespace and name), if the app still asks for it. */
export function entryOfContract(app: Application, contract: Contract): AccessEntry | undefined {
  return app.spec.access.find((e) => entryNamespace(app, e) === contract.metadata.namespace && e.apiInstanceRef.name === contract.spec.apiInstanceRef.name);
}

/** Why a Secret of the app's name is not the app's, naming it and its owner (never its content). */
export function appSecretConflictMessage(app: Application, secret: V1Secret): string {
  return credentialSecretConflict({ kind: 'Application', namespace: app.metadata.namespace!, secretName: appSecretNameOf(app), named: Boolean(app.spec.secretName), noun: 'client secret' }, secret);
}

/** What to do with the application Secret now (the ApiKey's rules). */
export function appSecretAction(app: Application, secret: V1Secret | undefined, now: Date): SecretAction {
  return credentialSecretAction({ uid: app.metadata.uid, revoked: app.spec.revoked, rotation: app.spec.rotation }, secret, now, (s) => appSecretConflictMessage(app, s));
}

export interface AppHashes extends KeyHashes {
  clientId?: string;
}

/** The app's client ID and hashes, from its Secret only if the Secret belongs to it (none otherwise). */
export function ownAppHashesOf(app: Application, secret: V1Secret | undefined): AppHashes {
  const own = secret && secretBelongsTo(app.metadata.uid, secret) ? secret : undefined;
  const clientId = own?.metadata?.annotations?.[ANNOTATION_CLIENT_ID];
  return { ...hashesOf(own), ...(clientId ? { clientId } : {}) };
}

/** The grant of one usable entry's Contract. */
export function grantOf(contract: Contract): Grant {
  return {
    routes: [`${contract.metadata.namespace}/${contract.spec.apiInstanceRef.name}`],
    contract: `${contract.metadata.namespace}/${contract.metadata.name}`,
    tier: contract.spec.tier,
    ...(contract.spec.endpoints ? { endpoints: contract.spec.endpoints } : {}),
  };
}

/** The credential index entries of an app: one client-secret credential per hash (current, previous in grace) holding `grants`; none without grants or client ID. */
export function appCredentialsOf(app: Application, grants: Grant[], hashes: AppHashes, now: Date): Array<[string, Credential]> {
  if (grants.length === 0 || !hashes.clientId) return [];
  const base: Credential = { kind: 'client-secret', client: `${app.metadata.namespace}/${app.metadata.name}`, clientId: hashes.clientId, grants };
  return hashEntries(base, app.spec.expiresAt, hashes, now);
}

/** Where one access entry stands: its access, its Contract (if it serves this app), whether its tier exists, and its verdict. */
export interface EntryFacts {
  entry: AccessEntry;
  access: Access;
  contractId: string;
  contract: Contract | undefined;
  tierFound: boolean;
  verdict: KeyVerdict;
}

/** The caches the entry facts are read from ("ns/name" lookups). */
export interface EntrySources {
  contract(id: string): Contract | undefined;
  tier(id: string): Pick<SlaTier, 'spec'> | undefined;
}

/**
 * Every access entry's facts, in spec order. The one reading of an app's entries for its status, its Contracts'
 * status and the gateway config, so the three never disagree.
 */
export function entryFacts(app: Application, snap: Snapshot, from: EntrySources, now: Date): EntryFacts[] {
  return app.spec.access.map((entry) => factsOfEntry(app, entry, snap, from, now));
}

/** One access entry's facts. */
export function factsOfEntry(app: Application, entry: AccessEntry, snap: Snapshot, from: EntrySources, now: Date): EntryFacts {
  const access = accessToInstance(snap, app.metadata.namespace!, entry.apiInstanceRef);
  const contractId = entryContractId(app, entry);
  const contract = from.contract(contractId);
  const tierFound = tierFoundFor(entry.apiInstanceRef.name, from.tier(`${access.instanceNamespace}/${entry.tier}`));
  const verdict = accessVerdict(entryConsumer(app, entry), access, contract, tierFound, now);
  return { entry, access, contractId, contract, tierFound, verdict };
}

/** The grants of the usable entries whose route is served (`served` by route id; all when absent). */
export function grantsOf(facts: readonly EntryFacts[], served?: ReadonlySet<string>): Grant[] {
  return facts
    .filter((f) => f.verdict.usable && f.contract && (!served || served.has(`${f.access.instanceNamespace}/${f.entry.apiInstanceRef.name}`)))
    .map((f) => grantOf(f.contract!));
}
