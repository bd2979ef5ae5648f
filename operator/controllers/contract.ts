// Contract reconciler (owner side): the effective state of a consumer's access
// — the owner's decision, or Suspended while cross-organization trust or the
// share is gone — and how many of its key hashes the gateway currently honours.
import type { V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import type { ApiKey, AssetShare, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { resolveAccess } from '../../model/access.ts';
import { APIKEYS, ASSETSHARES, CONTRACTS, KEY_SECRETS, ORGANIZATIONS, ORGTRUSTS, SLATIERS } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { hashesOf, secretNameOf } from './apikey-desired.ts';
import { desiredContractState } from './contract-desired.ts';
import { contractsByConsumer } from './contract-index.ts';
import type { Deps } from './deps.ts';

type C = Contract & { kind: string; apiVersion: string };

/** The field manager of a Contract's status (server-side apply); the ApiKey reconciler writes its spec. */
export const CONTRACT_MANAGER = 'crossgate-contract';

export function registerContractController(mgr: Manager, deps: Deps & { now?: () => Date; workers?: number }): void {
  const contracts = mgr.informer<C>(CONTRACTS);
  const keys = mgr.informer<ApiKey & { kind: string }>(APIKEYS);
  const secrets = mgr.informer<V1Secret>(KEY_SECRETS);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const snapshot = snapshotReader(mgr);
  const now = deps.now ?? (() => new Date());
  const all = () => contracts.list().map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  const ofKey = contractsByConsumer(contracts);
  // A share reaches the Contracts of the ApiInstance it shares (they live in the instance's namespace).
  const ofShare = (o: { metadata?: { namespace?: string } }) => {
    const { targetRef } = (o as AssetShare).spec;
    if (targetRef.kind !== 'ApiInstance') return [];
    const ns = targetRef.namespace ?? o.metadata?.namespace;
    return contracts.list().filter((c) => c.metadata.namespace === ns && c.spec.apiInstanceRef.name === targetRef.name).map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  };
  // A tier reaches the Contracts that name it (same namespace): whether it exists decides whether their keys count.
  const ofTier = (t: { metadata?: { namespace?: string; name?: string } }) =>
    contracts.list().filter((c) => c.metadata.namespace === t.metadata?.namespace && c.spec.tier === t.metadata?.name).map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  // Trust, shares and Organizations fan out to every Contract; a resync or a status-only update of one of them changes no access.
  const accessMayChange = specOrDeletionChanged;

  mgr.addController({
    name: 'contract',
    for: CONTRACTS,
    // Contracts are independent of each other: several workers keep their status up with bulk issuance.
    workers: deps.workers,
    watches: [
      // The key's spec (revoked, expiry, tier) and its deletion matter, not its status (written once per key by its own reconciler).
      { resource: APIKEYS, map: (k) => ofKey(k.metadata?.namespace, k.metadata?.name), predicate: specOrDeletionChanged },
      { resource: KEY_SECRETS, map: (s) => ofKey(s.metadata?.namespace, s.metadata?.labels?.['crossgate.dev/apikey']) },
      { resource: ORGTRUSTS, map: () => all(), predicate: accessMayChange },
      { resource: ASSETSHARES, map: ofShare, predicate: accessMayChange },
      { resource: ORGANIZATIONS, map: () => all(), predicate: accessMayChange },
      { resource: SLATIERS, map: ofTier, predicate: specOrDeletionChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const contract = contracts.get(key);
      if (!contract || contract.metadata.deletionTimestamp) return;
      const apiKey = keys.get(`${contract.spec.consumer.namespace}/${contract.spec.consumer.apiKey}`);
      const { state, reason, message, activeKeys } = desiredContractState(
        contract,
        apiKey,
        (k) => resolveAccess(snapshot(), k),
        (k, access) => tiers.get(`${access.instanceNamespace}/${k.spec.tier}`),
        (k) => hashesOf(secrets.get(`${k.metadata.namespace}/${secretNameOf(k)}`)),
        now(),
      );
      const was = deps.status.current(contract);
      if (was?.state !== state) {
        deps.events.record(contract, state === 'Suspended' || state === 'Rejected' ? 'Warning' : 'Normal', `Contract${state}`, message);
        ctx.log.info({ state, reason }, 'contract state');
      }
      const generation = contract.metadata.generation ?? 0;
      const previous: Condition[] = was?.conditions ?? [];
      const ready = { type: 'Ready', status: state === 'Approved' && activeKeys > 0 ? ('True' as const) : ('False' as const), reason, message };
      await deps.status.applyStatus(
        contract,
        CONTRACTS.plural,
        { observedGeneration: generation, conditions: ownConditions(previous, [ready], generation), state, activeKeys },
        CONTRACT_MANAGER,
      );
    },
  });
}
