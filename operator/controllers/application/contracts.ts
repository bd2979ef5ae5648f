// Step 2 of an Application reconcile: one Contract per access entry on the
// owner's side. Opened when the entry may reach its instance at an existing
// tier; moved to a new tier or a wider scope (a new request, contractSpecPatch);
// replaced when opened for an earlier app of the same name; closed when its
// entry is removed, when the app is revoked, and when the app is gone.
import type { ReconcileContext } from '../../../kube/controller.ts';
import type { SlaTier } from '../../../api/v1alpha1/index.ts';
import { contractServes, contractTargets, entryConsumer } from '../../../model/key-verdict.ts';
import { APPLICATIONS } from '../../resources.ts';
import { closeContractsOfGone, deleteContract, followConsumer, openContract } from '../consumer-contract.ts';
import { desiredAppContract, entryOfContract, type EntryFacts } from '../application-desired.ts';
import type { App, AppContract, AppEnv, Done } from './env.ts';

/**
 * Brings the app's Contracts to its entries: `facts` (entryFacts) with each entry's Contract as this step left it.
 * `open`: whether the app may ask for anything (not revoked, its Secret its own).
 */
export async function reconcileContracts(
  env: AppEnv, app: App, facts: EntryFacts[], tierOf: (f: EntryFacts) => SlaTier | undefined, open: boolean, ctx: ReconcileContext, did: Done[],
): Promise<EntryFacts[]> {
  // A Duplicate entry's Contract id is its earlier entry's: wanted through that one, never opened or moved through this one.
  const wanted = new Set(open ? facts.filter((f) => f.duplicateOf === undefined).map((f) => f.contractId) : []);
  // Contracts of entries removed (or of a revoked app) are closed; so are those opened for an earlier app of this name.
  for (const id of env.contractsOf(app.metadata.namespace, app.metadata.name)) {
    const c = env.contracts.get(id);
    if (!c || c.metadata.deletionTimestamp) continue;
    // Wanted, for this app, and still granting what an entry asks for (entryOfContract: same kind, namespace and name).
    if (wanted.has(id) && contractServes(c, app) && entryOfContract(app, c)) continue;
    await deleteContract(env, c, ctx, wanted.has(id) ? 'closed contract of an earlier application of this name' : 'closed contract of a removed access entry');
    if (!wanted.has(id)) did.push({ reason: 'ContractClosed', message: `Contract ${c.metadata.name} in namespace ${c.metadata.namespace} closed` });
  }
  if (!open) return facts.map((f) => ({ ...f, contract: undefined }));
  const out: EntryFacts[] = [];
  for (const f of facts) {
    const tier = tierOf(f);
    const fits = f.contract && contractServes(f.contract, app) && contractTargets(f.contract, entryConsumer(app, f.entry), f.access.instanceNamespace);
    let contract = fits ? (f.contract as AppContract) : undefined;
    if (f.duplicateOf !== undefined) { out.push({ ...f, contract: undefined }); continue; }
    if (f.access.ok && f.tierFound && tier) contract = await ensureContract(env, app, f, tier, contract, f.contract !== undefined, ctx, did);
    out.push({ ...f, contract });
  }
  return out;
}

async function ensureContract(
  env: AppEnv, app: App, f: EntryFacts, tier: SlaTier, found: AppContract | undefined, replacing: boolean, ctx: ReconcileContext, did: Done[],
): Promise<AppContract | undefined> {
  if (found) return followConsumer(env, found, f.entry, tier, ctx);
  if (replacing) return undefined; // the earlier app's Contract was just deleted; its delete event brings us back
  return openContract(env, desiredAppContract(app, f.entry, f.access, tier), ctx, did);
}

/** The app `ns/name` is gone from the cache: close its Contracts (no finalizer holds the app). */
export const closeContractsOf = (env: AppEnv, k: string, ctx: ReconcileContext): Promise<void> => closeContractsOfGone(env, APPLICATIONS, k, ctx);
