// The credential step: the entries each dirty ApiKey and Application
// contributes to a gateway, set in the gateway's credential shards.
import type { V1Secret } from '@kubernetes/client-node';
import type { ApiKey, Application, Contract, SlaTier } from '../../../api/v1alpha1/index.ts';
import { appCredentialsOf, appSecretNameOf, entryFacts, grantsOf, ownAppHashesOf } from '../application-desired.ts';
import type { Credential } from '../../../api/gateway/config.ts';
import { resolveAccess } from '../../../model/access.ts';
import type { Snapshot } from '../../../model/snapshot.ts';
import { contractNameOf, credentialsOf, ownHashesOf, secretNameOf } from '../apikey-desired.ts';
import { keyTierFound, keyVerdict } from '../../../model/key-verdict.ts';
import { setEntries, type GatewayState } from './state.ts';

/** Keys recomputed between two turns of the event loop. */
const YIELD_EVERY = 1000;

/** The caches the entries are read from ("ns/name" lookups). */
export interface CredentialSources {
  contract(id: string): Contract | undefined;
  tier(id: string): SlaTier | undefined;
  secret(id: string): V1Secret | undefined;
  appSecret(id: string): V1Secret | undefined;
}

/** The credential entries one ApiKey contributes to a gateway: none unless it is usable and its route is served there. */
export function credentialEntries(key: ApiKey, snap: Snapshot, routeIds: ReadonlySet<string>, t: Date, from: CredentialSources): Array<[string, Credential]> {
  if (key.metadata.deletionTimestamp) return [];
  const access = resolveAccess(snap, key);
  if (!access.ok || !routeIds.has(`${access.instanceNamespace}/${key.spec.apiInstanceRef.name}`)) return [];
  const contract = from.contract(`${access.instanceNamespace}/${contractNameOf(key)}`);
  const tier = from.tier(`${access.instanceNamespace}/${key.spec.tier}`);
  if (!contract || !keyVerdict(key, access, contract, keyTierFound(key, tier), t).usable) return [];
  // Hashes only from the key's own Secret: a second key naming a teammate's Secret must not carry the teammate's hash.
  return credentialsOf(key, contract, ownHashesOf(key, from.secret(`${key.metadata.namespace}/${secretNameOf(key)}`)), t);
}

export const keyId = (k: ApiKey): string => `${k.metadata.namespace}/${k.metadata.name}`;

/**
 * The owner id of an Application in the credential shards: "Application ns/name", distinct from any key's "ns/name"
 * (a namespace has no space), so a key and an app of one name never share, nor take over, each other's entries.
 */
export const appId = (a: Application): string => `${APP_OWNER_PREFIX}${a.metadata.namespace}/${a.metadata.name}`;
export const APP_OWNER_PREFIX = 'Application ';

/**
 * The credential entries one Application contributes to a gateway: one client-secret credential per hash (current,
 * previous during grace) holding a grant per usable entry whose route is served there; nothing without such an entry.
 */
export function appCredentialEntries(app: Application, snap: Snapshot, routeIds: ReadonlySet<string>, t: Date, from: CredentialSources): Array<[string, Credential]> {
  if (app.metadata.deletionTimestamp || app.spec.revoked) return [];
  const grants = grantsOf(entryFacts(app, snap, from, t), routeIds);
  if (grants.length === 0) return [];
  // Hashes only from the app's own Secret (secretBelongsTo), as for keys.
  return appCredentialsOf(app, grants, ownAppHashesOf(app, from.appSecret(`${app.metadata.namespace}/${appSecretNameOf(app)}`)), t);
}

/**
 * Sets the entries of the keys in `work` (of every key, and drops the owners
 * gone, for 'all'). On failure every key is dirty again: what was taken from
 * the dirty set is not lost.
 */
export async function recomputeKeys<K extends { metadata: { namespace?: string; name?: string } }>(
  state: GatewayState,
  work: Set<string> | 'all',
  keys: { get(id: string): K | undefined; list(): K[] },
  /** Made once, inside the guard: a snapshot that fails to build leaves every key dirty too. */
  makeEntriesOf: () => (key: K) => Array<[string, Credential]>,
  /** The owner id of an entry of `keys` (keys: "ns/name"; apps: appId). */
  idOf: (key: K) => string = (k) => `${k.metadata.namespace}/${k.metadata.name}`,
): Promise<void> {
  try {
    const entriesOf = makeEntriesOf();
    const update = (id: string, key: K | undefined) => setEntries(state, id, key ? entriesOf(key) : []);
    let n = 0;
    if (work === 'all') {
      const seen = new Set<string>();
      for (const key of keys.list()) {
        seen.add(idOf(key));
        update(idOf(key), key);
        // Keep the event loop turning (lease renewals, watches) through a full pass over many keys.
        if (++n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      }
      for (const id of [...state.credentials.owners()]) if (!seen.has(id)) update(id, undefined);
    } else {
      for (const id of work) {
        update(id, keys.get(id));
        if (++n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      }
    }
  } catch (err) {
    state.dirty = 'all';
    throw err;
  }
}
