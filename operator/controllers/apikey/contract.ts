// Step 2 of an ApiKey reconcile: the Contract on the owner's side. Opened when
// the key may reach its instance at an existing tier, moved to a new tier or a
// wider scope (a new request), replaced when it was opened for an earlier key
// of the same name or of another ApiInstance (the key's apiInstanceRef changed),
// and closed when the key is gone (consumer-contract.ts).
import type { ReconcileContext } from '../../../kube/controller.ts';
import type { SlaTier } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { contractServes, contractTargets, keyConsumer } from '../../../model/key-verdict.ts';
import { APIKEYS } from '../../resources.ts';
import { desiredContract } from '../apikey-desired.ts';
import { closeContractsOfGone, deleteContract, followConsumer, openContract } from '../consumer-contract.ts';
import type { Done, Key, KeyContract, KeyEnv } from './env.ts';

/** The key's Contract after this step: created, moved to the key's tier or scope, or as found; undefined while it is being replaced. */
export async function ensureContract(env: KeyEnv, key: Key, access: Access, tier: SlaTier, found: KeyContract | undefined, ctx: ReconcileContext, did: Done[]): Promise<KeyContract | undefined> {
  if (found && !contractServes(found, key)) {
    // Opened for an earlier key of this name: closed, so that its decision never carries over; its delete event brings this key back to open its own.
    await deleteContract(env, found, ctx, 'closed contract of an earlier key of this name');
    return undefined;
  }
  if (found && !contractTargets(found, keyConsumer(key), access.instanceNamespace)) {
    // The key now names another ApiInstance: a new request, never the former instance's decision.
    await deleteContract(env, found, ctx, 'closed contract of the ApiInstance the key named before');
    return undefined;
  }
  if (!found) return openContract(env, desiredContract(key, access, tier), ctx, did);
  return followConsumer(env, found, key.spec, tier, ctx);
}

/** Closes the key's Contracts other than `current` ("ns/name"): those of an ApiInstance in another namespace it named before. */
export async function closeOtherContracts(env: KeyEnv, key: Key, current: string, ctx: ReconcileContext, did: Done[]): Promise<void> {
  for (const id of env.contractsOf(key.metadata.namespace, key.metadata.name)) {
    const c = env.contracts.get(id);
    if (id === current || !c || c.metadata.deletionTimestamp) continue;
    await deleteContract(env, c, ctx, 'closed contract of the ApiInstance the key named before');
    did.push({ reason: 'ContractClosed', message: `Contract ${c.metadata.name} in namespace ${c.metadata.namespace} closed: the key names another ApiInstance now` });
  }
}

/** The key `ns/name` is gone from the cache: close its Contracts. */
export const closeContractsOf = (env: KeyEnv, k: string, ctx: ReconcileContext): Promise<void> => closeContractsOfGone(env, APIKEYS, k, ctx);
