// ApiKey reconciler (consumer side), in three steps read from the caches and
// decided in model/: the key Secret in the consumer's namespace (secret.ts),
// the Contract on the owner's side (contract.ts), and the key's status and
// Event (status.ts). Access to the instance is resolved once per reconcile.
import { specOrDeletionChanged, type Manager, type ReconcileContext, type ReconcileResult } from '../../../kube/controller.ts';
import type { AssetShare, SlaTier } from '../../../api/v1alpha1/index.ts';
import { resolveAccess, type Access } from '../../../model/access.ts';
import { keyTierFound } from '../../../model/key-verdict.ts';
import { indexBy } from '../../../kube/index-by.ts';
import { APIINSTANCES, APIKEYS, KEY_SECRETS, SLATIERS } from '../../resources.ts';
import { contractNameOf, secretNameOf } from '../apikey-desired.ts';
import { consumerEnv, consumerWatches } from '../consumer-contract.ts';
import { keysOfTrust } from '../access-pairs.ts';
import type { Deps } from '../deps.ts';
import { reconcileSecret } from './secret.ts';
import { closeContractsOf, closeOtherContracts, ensureContract } from './contract.ts';
import { writeKeyStatus, writeNoOrganizationStatus } from './status.ts';
import type { Done, Key, KeyEnv } from './env.ts';

export function registerApiKeyController(mgr: Manager, deps: Deps & { now?: () => Date }): void {
  const keys = mgr.informer<Key>(APIKEYS);
  const env: KeyEnv = consumerEnv(mgr, deps, 'ApiKey', KEY_SECRETS);
  const { contracts, tiers, snapshot } = env;
  const allKeys = () => keys.list().map((k) => `${k.metadata.namespace}/${k.metadata.name}`);
  // Keys by the ApiInstance they name ("ns/name"), instead of a scan of every key per instance, tier or share event.
  const byInstance = indexBy(keys, (k) => `${k.spec.apiInstanceRef.namespace ?? k.metadata.namespace}/${k.spec.apiInstanceRef.name}`);
  const keysOfInstance = (o: { metadata?: { namespace?: string; name?: string } }) => byInstance(`${o.metadata?.namespace}/${o.metadata?.name ?? ''}`);
  // Keys by the Secret name they use: a key in conflict over a Secret hears when that Secret changes or goes.
  const bySecretName = indexBy(keys, (k) => `${k.metadata.namespace}/${secretNameOf(k)}`);
  /** A share reaches the keys of the ApiInstance it shares, nothing else (model/access.ts). */
  const keysOfShare = (o: { metadata?: { namespace?: string } }) => {
    const { targetRef } = (o as AssetShare).spec;
    return targetRef.kind === 'ApiInstance' ? keysOfInstance({ metadata: { namespace: targetRef.namespace ?? o.metadata?.namespace, name: targetRef.name } }) : [];
  };

  mgr.addController({
    name: 'apikey',
    for: APIKEYS,
    workers: 4,
    owns: [{ ...KEY_SECRETS }],
    watches: [
      { resource: KEY_SECRETS, map: (sec) => bySecretName(`${sec.metadata?.namespace}/${sec.metadata?.name}`) },
      // Not on resyncs (keys are resynced themselves) nor status-only updates (a tier's contract count moves at every approval).
      { resource: APIINSTANCES, map: keysOfInstance, predicate: specOrDeletionChanged },
      { resource: SLATIERS, map: (t) => { const ref = (t as SlaTier).spec.apiInstanceRef; return ref ? keysOfInstance({ metadata: { namespace: t.metadata?.namespace, name: ref.name } }) : []; }, predicate: specOrDeletionChanged },
      // A share reaches the keys of its instance.
      ...consumerWatches('ApiKey', allKeys, keysOfShare, keysOfTrust(keys, snapshot)),
    ],
    reconcile: async (k: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const key = keys.get(k);
      if (!key) return closeContractsOf(env, k, ctx);
      // Its Secret goes with it (owner reference); its Contracts are closed once it is gone from the cache.
      if (key.metadata.deletionTimestamp) return;
      const access = resolveAccess(snapshot(), key);
      if (access.reason === 'NoOrganization') return writeNoOrganizationStatus(env, key, access.message);
      return reconcileKey(key, access, ctx);
    },
  });

  async function reconcileKey(key: Key, access: Access, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const t = env.now();
    const did: Done[] = [];
    const secret = await reconcileSecret(env, key, t, ctx, did);
    const tier = access.instance ? tiers.get(`${access.instanceNamespace}/${key.spec.tier}`) : undefined;
    const tierFound = keyTierFound(key, tier);
    let contract = access.owner ? contracts.get(`${access.instanceNamespace}/${contractNameOf(key)}`) : undefined;
    // A key whose Secret is not its own asks for nothing: a Contract would stand for a key it cannot issue.
    if (access.ok && tierFound && !key.spec.revoked && !secret.conflict) contract = await ensureContract(env, key, access, tier!, contract, ctx, did);
    // A Contract left in the namespace of an ApiInstance the key no longer names stands for nothing: closed.
    await closeOtherContracts(env, key, `${access.instanceNamespace}/${contractNameOf(key)}`, ctx, did);
    return writeKeyStatus(env, key, { access, contract, tierFound, secret, did, now: t }, ctx);
  }
}
