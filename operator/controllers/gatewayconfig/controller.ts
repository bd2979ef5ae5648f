// The gatewayconfig reconciler, one reconcile per gateway, in steps: the routes
// served (served-routes.ts, cached until an input of the routes changes), the
// dirty keys' and applications' credential entries (state.ts, credentials.ts), the render
// (render.ts) and the write of the changed parts, manifest last (write.ts).
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Manager, ReconcileContext, ReconcileResult } from '../../../kube/controller.ts';
import { indexBy, indexByAll } from '../../../kube/index-by.ts';
import type { ApiInstance, ApiKey, Application, Contract, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../../../api/platform.ts';
import {
  APIGROUPS, APIINSTANCES, APIKEYS, APP_SECRETS, APPLICATIONS, ASSETSHARES, CONTRACTS, KEY_SECRETS, NAMESPACES, ORGANIZATIONS, ORGTRUSTS, POLICIES, SLATIERS,
} from '../../resources.ts';
import { appGroups, appInstances } from '../application-desired.ts';
import { groupsOfInstance } from '../../../model/api-group.ts';
import type { Deps } from '../deps.ts';
import { onChange, snapshotReader } from '../snapshot.ts';
import { credentialShardsFor, namespaceOfOwner, type LeftOut } from './credential-shards.ts';
import { orgName, ownerOfNamespace } from '../../../model/ownership.ts';
import { gatewaysInUse } from '../../../model/gateway-names.ts';
import { APP_OWNER_PREFIX, appCredentialEntries, appId, credentialEntries, keyId, recomputeKeys } from './credentials.ts';
import { render } from './render.ts';
import { RouteDecisions, servedRoutes } from './served-routes.ts';
import { GatewayStates, requeueAfterMs, settleDeadlines } from './state.ts';
import { watchChanges } from './watch.ts';
import { ConfigMapWriter, StaleParts, gatewayConfigMaps } from './write.ts';

/** How soon a part that could not be written is tried again: the gateway serves its previous content meanwhile. */
export const STALE_RETRY_MS = 10_000;

export function registerGatewayConfigController(mgr: Manager, deps: Deps & { gatewayNamespace: string; now?: () => Date; settings?: PlatformSettings }): void {
  const ns = deps.gatewayNamespace;
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const keys = mgr.informer<ApiKey & { kind: string }>(APIKEYS);
  const contracts = mgr.informer<Contract & { kind: string }>(CONTRACTS);
  const secrets = mgr.informer<V1Secret>(KEY_SECRETS);
  const apps = mgr.informer<Application & { kind: string }>(APPLICATIONS);
  const appSecrets = mgr.informer<V1Secret>(APP_SECRETS);
  const writer = new ConfigMapWriter(ns, deps.http, mgr.informer<V1ConfigMap>(gatewayConfigMaps(ns)));
  const snapshot = snapshotReader(mgr, deps.settings);
  const now = deps.now ?? (() => new Date());
  // Mapped on every watched event: computed once per change of the instances, not per event.
  let gatewayList: string[] | undefined;
  // Only gateways within their organizations' budgets (model/gateway-names.ts): each gets a config and a reconcile per event.
  const gateways = () => (gatewayList ??= gatewaysInUse(snapshot(), instances.list()));
  onChange(mgr.informer(ORGANIZATIONS), () => { gatewayList = undefined; });

  const keysByInstance = indexBy(keys, (k) => `${k.spec.apiInstanceRef.namespace ?? k.metadata.namespace}/${k.spec.apiInstanceRef.name}`);
  const appsByInstance = indexByAll(apps, appInstances);
  const appsByGroup = indexByAll(apps, appGroups);
  const ownersOfGroup = (group: string) => appsByGroup(group).map((a) => `${APP_OWNER_PREFIX}${a}`);
  // The credential owners of an instance: its keys ("ns/name"), the apps that list it and the apps that list a group of it ("Application ns/name").
  const states = new GatewayStates((instance) => {
    const [namespace, name] = instance.split('/');
    const groups = groupsOfInstance(snapshot(), { metadata: { namespace: namespace!, name: name! } });
    return [...keysByInstance(instance), ...appsByInstance(instance).map((a) => `${APP_OWNER_PREFIX}${a}`), ...groups.flatMap((g) => ownersOfGroup(`${g.metadata.namespace}/${g.metadata.name}`))];
  });
  // Keys and apps as one collection of credential owners, by owner id.
  type Owner = (ApiKey | Application) & { kind: string };
  const isApp = (o: Owner): o is Application & { kind: string } => Array.isArray((o.spec as { access?: unknown }).access);
  const owners = {
    get: (id: string): Owner | undefined => (id.startsWith(APP_OWNER_PREFIX) ? apps.get(id.slice(APP_OWNER_PREFIX.length)) : keys.get(id)),
    list: (): Owner[] => [...keys.list(), ...apps.list()],
  };
  const ownerId = (o: Owner) => (isApp(o) ? appId(o) : keyId(o));
  watchChanges(mgr, states, () => { gatewayList = undefined; }, ownersOfGroup, snapshot);
  const sources = {
    contract: (id: string) => contracts.get(id), tier: (id: string) => tiers.get(id), secret: (id: string) => secrets.get(id), appSecret: (id: string) => appSecrets.get(id),
  };
  // Per gateway, its route decisions from the last render: a write decides again only the instance it touched.
  const decisions = new Map<string, RouteDecisions>();
  const decisionsOf = (gateway: string) => {
    let d = decisions.get(gateway);
    if (!d) decisions.set(gateway, (d = new RouteDecisions()));
    return d;
  };
  const staleGauge = mgr.metrics?.gatewayConfigPartStaleSince;
  const stale = new StaleParts((gw, part, since) => (since === undefined ? staleGauge?.remove({ gateway: gw, part }) : staleGauge?.set({ gateway: gw, part }, since / 1000)));

  // Owners whose credentials a shard over budget left out, per gateway: told once (Event, log), not at every render.
  const leftReported = new Map<string, Set<string>>();
  const reportLeftOut = (gateway: string, left: LeftOut[], ctx: ReconcileContext) => {
    const before = leftReported.get(gateway) ?? new Set<string>();
    const now = new Set(left.map((l) => l.owner));
    for (const l of left) {
      if (before.has(l.owner)) continue;
      ctx.log.warn({ gateway, owner: l.owner, shard: l.shard, organization: l.group, reason: 'CredentialTooLarge' }, 'credential left out by the renderer: its shard is over budget');
      const o = owners.get(l.owner);
      if (o) deps.events.record(o, 'Warning', 'CredentialTooLarge', l.message);
      before.add(l.owner);
    }
    leftReported.set(gateway, now);
  };

  mgr.addController({
    name: 'gatewayconfig',
    for: { ...gatewayConfigMaps(ns), predicate: () => false }, // keys come from the watches below
    watches: [APIINSTANCES, APIGROUPS, POLICIES, SLATIERS, APIKEYS, CONTRACTS, KEY_SECRETS, APPLICATIONS, APP_SECRETS, ORGANIZATIONS, ORGTRUSTS, ASSETSHARES, NAMESPACES].map((resource) => ({
      resource,
      map: () => gateways(),
    })),
    reconcile: async (gateway: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const t = now();
      const routes = states.routes(gateway, () => servedRoutes(gateway, { instances: instances.list(), policies: policies.list(), tiers: tiers.list(), snapshot: snapshot() }, ctx.log, decisionsOf(gateway)));
      const routeIds = routes.ids;

      const { state, work } = states.take(gateway, routeIds, t.getTime());
      await recomputeKeys(state, work, owners, () => {
        const snap = snapshot();
        return (o) => (isApp(o) ? appCredentialEntries(o, snap, routeIds, t, sources) : credentialEntries(o as ApiKey, snap, routeIds, t, sources));
      }, ownerId);
      settleDeadlines(state);

      // What this process wrote last is newer than the ConfigMap cache until the watch delivers it:
      // rendering against the cache alone would rewrite those parts and reuse a generation number.
      const cached = writer.previousConfig(gateway);
      const previous = state.written && (!cached || state.written.generation >= cached.generation) ? state.written : cached;
      const index = state.credentials;
      const shards = credentialShardsFor(index.size, index.shardCount);
      if (shards !== index.shardCount) {
        ctx.log.info({ gateway, credentials: index.size, from: index.shardCount, to: shards }, 'credential shard count changed; every shard is rewritten');
        index.reshard(shards);
      }
      // Over a credential shard's budget, the organization taking the most of it gives up its credentials first.
      const snap = snapshot();
      const groupOf = (owner: string) => {
        const ns = namespaceOfOwner(owner);
        const found = ownerOfNamespace(snap, ns);
        return found ? orgName(found.organization) : ns;
      };
      const out = render(gateway, routes.rendered, index, previous, groupOf);
      reportLeftOut(gateway, out.leftOut, ctx);
      // One part that cannot be written must not stop the others nor the manifest (writeRendered).
      const { manifest, listed, failed, manifestWritten } = await writer.writeConfig(gateway, out, previous);
      if (manifestWritten) {
        state.written = { generation: manifest.generation, parts: new Map(listed.map((p) => [p.name, { stamp: p.stamp, generation: p.generation }])) };
        ctx.log.info(
          { gateway, generation: manifest.generation, routes: routeIds.size, credentials: index.size, shards, recomputed: work === 'all' ? 'all' : work.size, partsWritten: out.changed.length - failed.size, partsFailed: failed.size },
          'gateway config written',
        );
      }
      // The manifest in place lists exactly these parts, so any other part of this gateway is unused.
      await writer.deleteUnlisted(gateway, new Set(listed.map((p) => p.name)));
      const staleSince = stale.record(gateway, failed.keys(), t.getTime());
      for (const [part, error] of failed) {
        ctx.log.error({ gateway, part, staleSince: new Date(staleSince.get(part)!).toISOString(), err: error }, 'gateway config part not written; the gateway serves its previous content until it is');
      }
      const requeue = requeueAfterMs(state, t.getTime());
      // A stale part is tried again soon and at a steady pace (not the work queue's back-off, up to 1000 s).
      if (failed.size > 0) return { requeueAfterMs: Math.min(requeue ?? STALE_RETRY_MS, STALE_RETRY_MS) };
      if (requeue !== undefined) return { requeueAfterMs: requeue };
    },
  });
}
