// Application reconciler (consumer side), in three steps read from the caches
// and decided in model/: the Secret with the client ID and secret in the app's
// namespace (secret.ts), one Contract per access entry on the owners' side
// (contracts.ts), and the per-entry status, Ready and Event (status.ts). Each
// entry's access is resolved once per reconcile (application-desired.ts entryFacts).
import { specOrDeletionChanged, type Manager, type ReconcileContext, type ReconcileResult } from '../../../kube/controller.ts';
import type { AssetShare, SlaTier } from '../../../api/v1alpha1/index.ts';
import { ownerOfNamespace } from '../../../model/ownership.ts';
import { APIGROUPS, APPLICATIONS, APP_SECRETS, APIINSTANCES, SLATIERS } from '../../resources.ts';
import { appGroups, appInstances, appSecretNameOf, entryFacts } from '../application-desired.ts';
import { groupsOfInstance } from '../../../model/api-group.ts';
import { indexByAll } from '../../../kube/index-by.ts';
import { consumerEnv, consumerWatches } from '../consumer-contract.ts';
import { appsOfTrust } from '../access-pairs.ts';
import type { Deps } from '../deps.ts';
import { reconcileAppSecret } from './secret.ts';
import { closeContractsOf, reconcileContracts } from './contracts.ts';
import { writeAppStatus, writeNoOrganizationStatus } from './status.ts';
import type { App, AppEnv, Done } from './env.ts';

export function registerApplicationController(mgr: Manager, deps: Deps & { now?: () => Date }): void {
  const apps = mgr.informer<App>(APPLICATIONS);
  const env: AppEnv = consumerEnv(mgr, deps, 'Application', APP_SECRETS);
  const { contracts, tiers, snapshot } = env;
  const all = () => apps.list().map((a) => `${a.metadata.namespace}/${a.metadata.name}`);
  // Apps by each ApiInstance ("ns/name") they list, instead of a scan of every app per instance, tier or share event.
  const byInstance = indexByAll(apps, appInstances);
  const appsOfInstance = (o: { metadata?: { namespace?: string; name?: string } }) => byInstance(`${o.metadata?.namespace}/${o.metadata?.name ?? ''}`);
  // Apps by each ApiGroup ("ns/name") they list; an instance also reaches the apps of the groups that list it (membership).
  const byGroup = indexByAll(apps, appGroups);
  const appsOfGroup = (o: { metadata?: { namespace?: string; name?: string } }) => byGroup(`${o.metadata?.namespace}/${o.metadata?.name ?? ''}`);
  const appsOfInstanceOrItsGroups = (o: { metadata?: { namespace?: string; name?: string } }) => [
    ...appsOfInstance(o),
    ...groupsOfInstance(snapshot(), { metadata: o.metadata ?? {} }).flatMap((g) => appsOfGroup(g)),
  ];
  const appsOfShare = (o: { metadata?: { namespace?: string } }) => {
    const { targetRef } = (o as AssetShare).spec;
    const ref = { metadata: { namespace: targetRef.namespace ?? o.metadata?.namespace, name: targetRef.name } };
    return targetRef.kind === 'ApiInstance' ? appsOfInstance(ref) : targetRef.kind === 'ApiGroup' ? appsOfGroup(ref) : [];
  };
  const appsOfTier = (t: { metadata?: { namespace?: string } }) => {
    const { apiInstanceRef, apiGroupRef } = (t as SlaTier).spec;
    if (apiGroupRef) return appsOfGroup({ metadata: { namespace: t.metadata?.namespace, name: apiGroupRef.name } });
    return apiInstanceRef ? appsOfInstance({ metadata: { namespace: t.metadata?.namespace, name: apiInstanceRef.name } }) : [];
  };
  // Apps by the Secret name they use: an app in conflict over a Secret hears when that Secret changes or goes.
  const bySecret = (sec: { metadata?: { namespace?: string; name?: string } }) =>
    apps.list().filter((a) => a.metadata.namespace === sec.metadata?.namespace && appSecretNameOf(a) === sec.metadata?.name).map((a) => `${a.metadata.namespace}/${a.metadata.name}`);

  mgr.addController({
    name: 'application',
    for: APPLICATIONS,
    workers: 4,
    owns: [{ ...APP_SECRETS }],
    watches: [
      { resource: APP_SECRETS, map: bySecret },
      { resource: APIINSTANCES, map: appsOfInstanceOrItsGroups, predicate: specOrDeletionChanged },
      { resource: APIGROUPS, map: appsOfGroup, predicate: specOrDeletionChanged },
      { resource: SLATIERS, map: appsOfTier, predicate: specOrDeletionChanged },
      ...consumerWatches('Application', all, appsOfShare, appsOfTrust(apps, snapshot)),
    ],
    reconcile: async (k: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const app = apps.get(k);
      if (!app) return closeContractsOf(env, k, ctx);
      // Its Secret goes with it (owner reference); its Contracts are closed once it is gone from the cache.
      if (app.metadata.deletionTimestamp) return;
      const snap = snapshot();
      if (!ownerOfNamespace(snap, app.metadata.namespace!)) return writeNoOrganizationStatus(env, app, `namespace "${app.metadata.namespace}" belongs to no Organization`);
      const t = env.now();
      const did: Done[] = [];
      const secret = await reconcileAppSecret(env, app, t, ctx, did);
      const tierOf = (id: string) => tiers.get(id);
      const facts = entryFacts(app, snap, { contract: (id) => contracts.get(id), tier: tierOf }, t);
      // An app whose Secret is not its own, or that is revoked, asks for nothing: its Contracts are closed.
      const open = !app.spec.revoked && !secret.conflict;
      const entries = await reconcileContracts(env, app, facts, (f) => tierOf(`${f.access.instanceNamespace}/${f.entry.tier}`), open, ctx, did);
      return writeAppStatus(env, app, { entries, secret, did, now: t }, ctx);
    },
  });
}
