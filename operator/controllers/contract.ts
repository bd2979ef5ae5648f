// Contract reconciler (owner side): the effective state of a consumer's access
// (an ApiKey, or an Application's access entry) — the owner's decision, or
// Suspended while cross-organization trust or the share is gone — and how many
// of its key or client-secret hashes the gateway currently honours.
import type { V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import type { ApiKey, Application, AssetShare, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { LABEL_APIKEY, LABEL_APPLICATION } from '../../api/labels.ts';
import { resolveAccess } from '../../model/access.ts';
import { groupsOfInstance } from '../../model/api-group.ts';
import { APIGROUPS, APIINSTANCES, APIKEYS, APP_SECRETS, APPLICATIONS, ASSETSHARES, CONTRACTS, KEY_SECRETS, ORGANIZATIONS, ORGTRUSTS, SLATIERS } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { secretNameOf } from './apikey-desired.ts';
import { hashesOf } from './consumer-desired.ts';
import { desiredAppContractState, desiredContractState, type DesiredContractState } from './contract-desired.ts';
import { appSecretNameOf, entryOfContract, factsOfEntry, ownAppHashesOf } from './application-desired.ts';
import { contractsByConsumer } from './contract-index.ts';
import { contractsOfTrust } from './access-pairs.ts';
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
  const ofKey = contractsByConsumer(contracts, 'ApiKey');
  const apps = mgr.informer<Application & { kind: string }>(APPLICATIONS);
  const appSecrets = mgr.informer<V1Secret>(APP_SECRETS);
  const ofApp = contractsByConsumer(contracts, 'Application');
  // A share reaches the Contracts of the ApiInstance or ApiGroup it shares (they live in its namespace).
  const ofTarget = (kind: 'ApiInstance' | 'ApiGroup', ns: string | undefined, name: string) =>
    contracts
      .list()
      .filter((c) => c.metadata.namespace === ns && (kind === 'ApiGroup' ? c.spec.apiGroupRef?.name : c.spec.apiInstanceRef?.name) === name)
      .map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  const ofShare = (o: { metadata?: { namespace?: string } }) => {
    const { targetRef } = (o as AssetShare).spec;
    if (targetRef.kind === 'Asset') return [];
    return ofTarget(targetRef.kind, targetRef.namespace ?? o.metadata?.namespace, targetRef.name);
  };
  // A group's members decide how many hashes its Contracts honour: the group, and an instance it lists, reach them.
  const ofGroup = (g: { metadata?: { namespace?: string; name?: string } }) => ofTarget('ApiGroup', g.metadata?.namespace, g.metadata?.name ?? '');
  const ofMember = (i: { metadata?: { namespace?: string; name?: string } }) => groupsOfInstance(snapshot(), { metadata: i.metadata ?? {} }).flatMap((g) => ofGroup(g));
  // A tier reaches the Contracts that name it (same namespace): whether it exists decides whether their keys count.
  const ofTier = (t: { metadata?: { namespace?: string; name?: string } }) =>
    contracts.list().filter((c) => c.metadata.namespace === t.metadata?.namespace && c.spec.tier === t.metadata?.name).map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  // Organizations fan out to every Contract; a resync or a status-only update of one of them changes no access.
  const accessMayChange = specOrDeletionChanged;

  mgr.addController({
    name: 'contract',
    for: CONTRACTS,
    // Contracts are independent of each other: several workers keep their status up with bulk issuance.
    workers: deps.workers,
    watches: [
      // The key's spec (revoked, expiry, tier) and its deletion matter, not its status (written once per key by its own reconciler).
      { resource: APIKEYS, map: (k) => ofKey(k.metadata?.namespace, k.metadata?.name), predicate: specOrDeletionChanged },
      { resource: KEY_SECRETS, map: (s) => ofKey(s.metadata?.namespace, s.metadata?.labels?.[LABEL_APIKEY]) },
      // The same for Applications: their spec (entries, revocation, expiry) and their Secret's hashes.
      { resource: APPLICATIONS, map: (a) => ofApp(a.metadata?.namespace, a.metadata?.name), predicate: specOrDeletionChanged },
      { resource: APP_SECRETS, map: (s) => ofApp(s.metadata?.namespace, s.metadata?.labels?.[LABEL_APPLICATION]) },
      // An OrgTrust reaches the Contracts between its two organizations only (an organization writes OrgTrusts as often as it likes).
      { resource: ORGTRUSTS, map: contractsOfTrust(contracts, snapshot), predicate: accessMayChange },
      { resource: ASSETSHARES, map: ofShare, predicate: accessMayChange },
      { resource: ORGANIZATIONS, map: () => all(), predicate: accessMayChange },
      { resource: SLATIERS, map: ofTier, predicate: specOrDeletionChanged },
      { resource: APIGROUPS, map: ofGroup, predicate: specOrDeletionChanged },
      { resource: APIINSTANCES, map: ofMember, predicate: specOrDeletionChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const contract = contracts.get(key);
      if (!contract || contract.metadata.deletionTimestamp) return;
      const { kind, namespace, name } = contract.spec.consumer;
      const t = now();
      let desired: DesiredContractState;
      if (kind === 'Application') {
        const app = apps.get(`${namespace}/${name}`);
        const entry = app ? entryOfContract(app, contract) : undefined;
        const sources = { contract: (id: string) => (id === key ? contract : contracts.get(id)), tier: (id: string) => tiers.get(id) };
        const facts = app && entry ? factsOfEntry(app, entry, snapshot(), sources, t) : undefined;
        const hashes = app ? ownAppHashesOf(app, appSecrets.get(`${app.metadata.namespace}/${appSecretNameOf(app)}`)) : { generation: 0 };
        desired = desiredAppContractState(contract, app, facts, hashes, t);
      } else {
        const apiKey = keys.get(`${namespace}/${name}`);
        desired = desiredContractState(
          contract,
          apiKey,
          (k) => resolveAccess(snapshot(), k),
          (k, access) => tiers.get(`${access.instanceNamespace}/${k.spec.tier}`),
          (k) => hashesOf(secrets.get(`${k.metadata.namespace}/${secretNameOf(k)}`)),
          t,
        );
      }
      const { state, reason, message, activeKeys } = desired;
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
