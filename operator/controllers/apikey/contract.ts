// Step 2 of an ApiKey reconcile: the Contract on the owner's side. Opened when
// the key may reach its instance at an existing tier, moved to a new tier (a
// new request), replaced when it was opened for an earlier key of the same
// name, and closed when the key is gone.
import type { ReconcileContext } from '../../../kube/controller.ts';
import { isAlreadyExists } from '../../../kube/kube.ts';
import { deleteIfStill, ignoreNotFound } from '../../../kube/effects.ts';
import type { SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { contractServes } from '../../../model/key-verdict.ts';
import { splitKey } from '../../../kube/keys.ts';
import { APIKEYS, CONTRACTS, MERGE_PATCH, objectPath } from '../../resources.ts';
import { contractSpecPatch, desiredContract } from '../apikey-desired.ts';
import type { Done, Key, KeyContract, KeyEnv } from './env.ts';

/** The key's Contract after this step: created, moved to the key's tier, or as found; undefined while it is being replaced. */
export async function ensureContract(env: KeyEnv, key: Key, access: Access, tier: SlaTier, found: KeyContract | undefined, ctx: ReconcileContext, did: Done[]): Promise<KeyContract | undefined> {
  const { http } = env.deps;
  const desired = desiredContract(key, access, tier);
  if (found && !contractServes(found, key)) {
    // Opened for an earlier key of this name: closed, so that its decision never carries over; its delete event brings this key back to open its own.
    await deleteContract(env, found, ctx, 'closed contract of an earlier key of this name');
    return undefined;
  }
  if (!found) {
    try {
      const created = await http.request<KeyContract>('POST', objectPath(CONTRACTS, desired.metadata.namespace), { body: desired });
      ctx.log.info({ contract: `${desired.metadata.namespace}/${desired.metadata.name}`, decision: desired.spec.decision }, 'opened contract');
      did.push({ reason: 'ContractOpened', message: `Contract ${desired.metadata.name} opened in namespace ${desired.metadata.namespace} (${desired.spec.decision})` });
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return undefined;
    }
  }
  // A new tier or a wider scope is a new request (contractSpecPatch); a narrower scope keeps the decision.
  const patch = contractSpecPatch(found, { tier: key.spec.tier, ...(key.spec.endpoints ? { endpoints: key.spec.endpoints } : {}) }, tier.spec.approval === 'automatic');
  if (patch) {
    ctx.log.info({ contract: `${found.metadata.namespace}/${found.metadata.name}`, decision: patch.spec.decision ?? found.spec.decision }, 'contract follows the key');
    return http.request<KeyContract>('PATCH', objectPath(CONTRACTS, found.metadata.namespace, found.metadata.name), { contentType: MERGE_PATCH, body: patch });
  }
  return found;
}

/**
 * The key `ns/name` is gone from the cache: close its Contracts. No finalizer holds the key for this (one write and
 * one admission review less per key); the delete event brings us here, and so does every event of an orphaned
 * Contract (its watch maps it to its key), also after the operator was away when the key went. The cache may trail
 * a create, so the apiserver is asked before anything is deleted.
 */
export async function closeContractsOf(env: KeyEnv, k: string, ctx: ReconcileContext): Promise<void> {
  const { namespace: ns, name } = splitKey(k);
  const found = env.contractsOf(ns, name).map((c) => env.contracts.get(c)).filter((c): c is KeyContract => c !== undefined && !c.metadata.deletionTimestamp);
  if (found.length === 0) return;
  const live = await env.deps.http.request<Key>('GET', objectPath(APIKEYS, ns, name)).catch(ignoreNotFound);
  for (const c of found) {
    if (live && !live.metadata.deletionTimestamp && contractServes(c, live)) continue; // the cache trails: the key exists
    await deleteContract(env, c, ctx, 'closed contract of deleted key');
  }
}

async function deleteContract(env: KeyEnv, c: KeyContract, ctx: ReconcileContext, why: string): Promise<void> {
  // Preconditioned on the uid: never the Contract opened meanwhile for a new key of the same name.
  await deleteIfStill(env.deps.http, objectPath(CONTRACTS, c.metadata.namespace, c.metadata.name), c.metadata.uid);
  ctx.log.info({ contract: `${c.metadata.namespace}/${c.metadata.name}` }, why);
}
