// Pure decisions for Applications: the Secret's name, the Contract of each
// access entry, why a Secret of the app's name is not its own, and the one
// client-secret credential an app contributes to a gateway. The issue,
// rotation, grace and revocation rules are the ApiKey's (consumer-desired.ts
// credentialSecretAction); each entry's verdict is model/key-verdict.ts.
import type { V1Secret } from '@kubernetes/client-node';
import type { AccessEntry, Application, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { ANNOTATION_CLIENT_ID } from '../../api/labels.ts';
import { isWellFormedClientId } from '../../api/credential-format.ts';
import type { Credential, Grant } from '../../api/gateway/config.ts';
import { accessToInstance, type Access } from '../../model/access.ts';
import { accessToGroup, groupTierName, memberId, type GroupAccess } from '../../model/api-group.ts';
import { duplicateEntries, duplicateMessage, entryTarget, type EntryTarget } from '../../model/access-targets.ts';
import { accessVerdict, entryConsumer, groupTierFound, tierFoundFor, type KeyVerdict } from '../../model/key-verdict.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { applicationContractName } from '../../model/contract-name.ts';
import { consumerContract, credentialSecretAction, credentialSecretConflict, hashEntries, hashesOf, secretBelongsTo, type KeyHashes, type SecretAction } from './consumer-desired.ts';

export function appSecretNameOf(app: Application): string {
  return app.spec.secretName ?? `${app.metadata.name}-client`;
}

/** The namespace of an entry's ApiInstance (the consumer's when the entry names none) or ApiGroup: where its Contract lives. */
export function entryNamespace(app: Application, entry: AccessEntry): string {
  return entry.apiGroupRef ? entry.apiGroupRef.namespace : (entry.apiInstanceRef?.namespace ?? app.metadata.namespace!);
}

/** Name of an entry's ApiInstance or ApiGroup. */
export function entryTargetName(entry: AccessEntry): string {
  return entry.apiGroupRef?.name ?? entry.apiInstanceRef?.name ?? '';
}

/** "ns/name" of every ApiInstance the app lists (not its groups: appGroups). */
export function appInstances(app: Application): string[] {
  return (app.spec.access ?? []).filter((e) => !e.apiGroupRef).map((e) => `${entryNamespace(app, e)}/${entryTargetName(e)}`);
}

/** "ns/name" of every ApiGroup the app lists. */
export function appGroups(app: Application): string[] {
  return (app.spec.access ?? []).filter((e) => e.apiGroupRef).map((e) => `${entryNamespace(app, e)}/${entryTargetName(e)}`);
}

/** The name of an entry's Contract (model/contract-name.ts; a group's hash input differs from an instance's of the same name). */
export function entryContractName(app: Application, entry: AccessEntry): string {
  return applicationContractName(app.metadata.namespace!, app.metadata.name!, entryTargetName(entry), entry.apiGroupRef ? 'ApiGroup' : 'ApiInstance');
}

/** "ns/name" of an entry's Contract. */
export function entryContractId(app: Application, entry: AccessEntry): string {
  return `${entryNamespace(app, entry)}/${entryContractName(app, entry)}`;
}

export function desiredAppContract(app: Application, entry: AccessEntry, access: Access, tier: SlaTier): Contract {
  const target = entry.apiGroupRef ? { apiGroupRef: { name: entry.apiGroupRef.name } } : { apiInstanceRef: { name: entryTargetName(entry) } };
  return consumerContract(app, 'Application', entryContractName(app, entry), access, target, entry, app.spec.displayName, tier);
}

/** The access entry a Contract of this app serves (same target: kind, namespace and name), if the app still asks for it; the first, if several do. */
export function entryOfContract(app: Application, contract: Contract): AccessEntry | undefined {
  const group = contract.spec.apiGroupRef?.name;
  const instance = contract.spec.apiInstanceRef?.name;
  return app.spec.access.find(
    (e) => entryNamespace(app, e) === contract.metadata.namespace && (group !== undefined ? e.apiGroupRef?.name === group : !e.apiGroupRef && e.apiInstanceRef?.name === instance),
  );
}

/** Why a Secret of the app's name is not the app's, naming it and its owner (never its content). */
export function appSecretConflictMessage(app: Application, secret: V1Secret): string {
  return credentialSecretConflict({ kind: 'Application', namespace: app.metadata.namespace!, secretName: appSecretNameOf(app), named: Boolean(app.spec.secretName), noun: 'client secret' }, secret);
}

/** What to do with the application Secret now (the ApiKey's rules). */
export function appSecretAction(app: Application, secret: V1Secret | undefined, now: Date): SecretAction {
  const action = credentialSecretAction({ uid: app.metadata.uid, revoked: app.spec.revoked, rotation: app.spec.rotation }, secret, now, (s) => appSecretConflictMessage(app, s), 'client secret');
  // A client ID is read back from an annotation the organization's admins can edit, and goes into the shared credential shards.
  const keeps = action.action === 'none' || action.action === 'drop-previous' || action.action === 'rotate';
  if (secret && keeps && !isWellFormedClientId(secret.metadata?.annotations?.[ANNOTATION_CLIENT_ID] ?? '')) {
    return {
      action: 'create',
      malformed:
        `Secret "${appSecretNameOf(app)}" held no valid client ID (annotation ${ANNOTATION_CLIENT_ID} is not one crossgate issues; it was changed by hand): ` +
        'a new client ID and client secret were issued into it and the ones it held no longer work',
    };
  }
  return action;
}

export interface AppHashes extends KeyHashes {
  clientId?: string;
}

/** The app's client ID and hashes, from its Secret only if the Secret belongs to it (none otherwise). */
export function ownAppHashesOf(app: Application, secret: V1Secret | undefined): AppHashes {
  const own = secret && secretBelongsTo(app.metadata.uid, secret) ? secret : undefined;
  const clientId = own?.metadata?.annotations?.[ANNOTATION_CLIENT_ID];
  return { ...hashesOf(own), ...(clientId && isWellFormedClientId(clientId) ? { clientId } : {}) };
}

/**
 * The grant of one usable entry's Contract: its ApiInstance's route, or for a group Contract the routes of `members`
 * (route ids of the group's resolved members) under the group tier's route name (model/api-group.ts groupTierName).
 */
export function grantOf(contract: Contract, members: readonly string[] = []): Grant {
  const group = contract.spec.apiGroupRef?.name;
  return {
    routes: group !== undefined ? [...members] : [`${contract.metadata.namespace}/${contract.spec.apiInstanceRef?.name}`],
    contract: `${contract.metadata.namespace}/${contract.metadata.name}`,
    tier: group !== undefined ? groupTierName(group, contract.spec.tier) : contract.spec.tier,
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
  /** What the entry names, resolved (model/access-targets.ts). */
  target: EntryTarget;
  /** Index of the earlier entry naming the same target: this one is Duplicate, opens nothing and grants nothing. */
  duplicateOf?: number;
  access: GroupAccess;
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
  const dups = duplicateEntries(app.metadata.namespace!, app.spec.access);
  return app.spec.access.map((entry, i) => {
    const f = factsOfEntry(app, entry, snap, from, now);
    const of = dups.get(i);
    if (of === undefined) return f;
    const message = duplicateMessage(app.metadata.namespace!, app.spec.access, i, of);
    // Its Contract is the earlier entry's: this entry neither opens, nor moves, nor counts it.
    return { ...f, duplicateOf: of, contract: undefined, verdict: { state: 'Pending', reason: 'Duplicate', message, usable: false } };
  });
}

/** One access entry's facts. */
export function factsOfEntry(app: Application, entry: AccessEntry, snap: Snapshot, from: EntrySources, now: Date): EntryFacts {
  const ns = app.metadata.namespace!;
  const target = entryTarget(ns, entry) ?? { kind: 'ApiInstance', namespace: ns, name: '' };
  const access: GroupAccess =
    target.kind === 'ApiGroup' ? accessToGroup(snap, ns, { name: target.name, namespace: target.namespace }) : accessToInstance(snap, ns, { name: target.name, namespace: target.namespace });
  const contractId = entryContractId(app, entry);
  const contract = from.contract(contractId);
  const tier = from.tier(`${access.instanceNamespace}/${entry.tier}`);
  const tierFound = target.kind === 'ApiGroup' ? groupTierFound(target.name, tier) : tierFoundFor(target.name, tier);
  const verdict = accessVerdict(entryConsumer(app, entry), access, contract, tierFound, now);
  return { entry, target, access, contractId, contract, tierFound, verdict };
}

/** Route ids of an entry's resolved group members (none for an instance entry). */
export function memberRoutes(f: Pick<EntryFacts, 'access'>): string[] {
  return (f.access.membership?.members ?? []).map((m) => memberId(m));
}

/** The grants of the usable entries whose route is served (`served` by route id; all when absent). */
export function grantsOf(facts: readonly EntryFacts[], served?: ReadonlySet<string>): Grant[] {
  const out: Grant[] = [];
  for (const f of facts) {
    if (!f.verdict.usable || !f.contract || f.duplicateOf !== undefined) continue;
    if (f.target.kind === 'ApiGroup') {
      // The group's members that the gateway serves; a group none of whose members is served grants nothing.
      const routes = memberRoutes(f).filter((id) => !served || served.has(id));
      if (routes.length > 0) out.push(grantOf(f.contract, routes));
    } else if (!served || served.has(`${f.access.instanceNamespace}/${f.target.name}`)) {
      out.push(grantOf(f.contract));
    }
  }
  return out;
}
