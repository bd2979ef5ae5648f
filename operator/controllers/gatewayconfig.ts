// Gateway config writer: one reconcile per gateway renders routes and the
// credential index (gatewayconfig-render.ts) and writes the ConfigMaps whose
// content changed — parts first, the manifest last, so a gateway never sees a
// manifest that names a part it cannot read yet. The index is kept between
// reconciles and only the ApiKeys an event touched are recomputed (see below):
// a render costs O(changed keys + routes), not O(all keys). The number of
// credential shards follows the number of keys (credentialShardsFor); after a
// change of count the parts the manifest no longer lists are deleted.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager, type ReconcileContext, type ReconcileResult } from '../../kube/controller.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import { isAlreadyExists, isNotFound } from '../../kube/kube.ts';
import type { ApiInstance, ApiKey, AssetShare, Contract, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { LABEL_GATEWAY, MAX_PART_BYTES, PART_DATA_KEY, manifestName, type Credential } from '../../api/gateway/v1.ts';
import { LABEL_APIKEY, LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import { resolveAccess } from '../../model/access.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import {
  APIINSTANCES, APIKEYS, ASSETSHARES, CONTRACTS, KEY_SECRETS, NAMESPACES, ORGANIZATIONS, ORGTRUSTS, POLICIES, SLATIERS, objectPath,
} from '../resources.ts';
import type { InformerSpec } from '../../kube/controller.ts';
import { snapshotReader } from './snapshot.ts';
import { indexBy } from '../../kube/index-by.ts';
import { contractNameOf, credentialsOf, keyVerdict, ownHashesOf, secretNameOf } from './apikey-desired.ts';
import { CredentialIndex, credentialShardsFor, render, renderRoutes, routableInstances, writeRendered, type PreviousConfig, type RenderedRoutes, type RouteInput } from './gatewayconfig-render.ts';
import { policiesFor } from './policy-desired.ts';
import { routeVerdict } from '../../model/route-verdict.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { tiersFor } from './slatier-desired.ts';
import type { Deps } from './organization.ts';

/** A part's stamp (RenderedPart.stamp): whether the object must be rewritten. */
export const ANNOTATION_STAMP = 'crossgate.dev/part-stamp';
export const ANNOTATION_GENERATION = 'crossgate.dev/generation';
export { MAX_PART_BYTES };

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };
/** Keys recomputed between two turns of the event loop. */
const YIELD_EVERY = 1000;
/** Every key is recomputed at least this often, whatever the events said (the safety net resyncs were). */
const FULL_PASS_MS = 10 * 60_000;

interface GatewayState {
  index: CredentialIndex;
  /** ApiKeys ("ns/name") to recompute at the next reconcile, or all of them. */
  dirty: Set<string> | 'all';
  /** Routes served at the last reconcile. */
  routeIds: Set<string>;
  /** Earliest notAfter (ms) among each key's entries, and the earliest of all. */
  deadlines: Map<string, number>;
  nextDeadline: number;
  /** The config this process last wrote completely. */
  written?: PreviousConfig;
  /** When every key was last recomputed (ms). */
  fullPassAt: number;
}

export function gatewayConfigMaps(namespace: string): InformerSpec {
  return {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespace,
    labelSelector: LABEL_GATEWAY,
    // The stamp and generation annotations are all the writer needs: do not hold megabytes of parts in
    // memory, nor have the apiserver send them (every part written came back whole on this watch).
    metadataOnly: true,
  };
}

export function registerGatewayConfigController(mgr: Manager, deps: Deps & { gatewayNamespace: string; now?: () => Date; settings?: PlatformSettings }): void {
  const ns = deps.gatewayNamespace;
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const keys = mgr.informer<ApiKey & { kind: string }>(APIKEYS);
  const contracts = mgr.informer<Contract & { kind: string }>(CONTRACTS);
  const secrets = mgr.informer<V1Secret>(KEY_SECRETS);
  const configMaps = mgr.informer<V1ConfigMap>(gatewayConfigMaps(ns));
  const snapshot = snapshotReader(mgr, deps.settings);
  const now = deps.now ?? (() => new Date());
  // Mapped on every watched event: computed once per change of the instances, not per event.
  let gatewayList: string[] | undefined;
  const gateways = () => (gatewayList ??= [...new Set(['default', ...instances.list().map((i) => i.spec.gateway ?? 'default')])]);

  // Incremental rendering. Each gateway keeps its credential index between
  // reconciles; events mark the ApiKeys whose entries may have changed (the
  // key itself, its Secret, its Contract; its instance's tiers and the
  // instance), and a reconcile recomputes only those. Changes that can move
  // access for any key (Organizations, trust, shares, namespaces) mark all.
  const states = new Map<string, GatewayState>();
  const markKey = (id: string) => { for (const st of states.values()) if (st.dirty !== 'all') st.dirty.add(id); };
  const markAll = () => { for (const st of states.values()) st.dirty = 'all'; };
  const keyId = (k: ApiKey) => `${k.metadata.namespace}/${k.metadata.name}`;
  const instanceOfKey = (k: ApiKey) => `${k.spec.apiInstanceRef.namespace ?? k.metadata.namespace}/${k.spec.apiInstanceRef.name}`;
  const keysByInstance = indexBy(keys, instanceOfKey);
  const markInstance = (id: string) => { for (const k of keysByInstance(id)) markKey(k); };
  // Only changes that can move a key's entries: spec (generation), deletion, labels; not the status
  // writes of the other controllers (a tier's contract count moves at every approval) nor resyncs
  // (a full pass every FULL_PASS_MS is the safety net instead).
  const changed = (a: KubernetesObject, b: KubernetesObject) => specOrDeletionChanged({ type: 'update', oldObj: a, obj: b });
  keys.addHandler({
    onAdd: (k) => markKey(keyId(k)),
    onUpdate: (a, b) => { if (changed(a, b)) markKey(keyId(b)); },
    onDelete: (k) => markKey(keyId(k)),
  });
  // A key Secret changes only when its hashes do (issue, rotation, end of a grace period).
  const onSecret = (sec: V1Secret) => { const owner = sec.metadata?.labels?.[LABEL_APIKEY]; if (owner) markKey(`${sec.metadata?.namespace}/${owner}`); };
  secrets.addHandler({ onAdd: onSecret, onUpdate: (a, b) => { if (a === b) return; onSecret(a); onSecret(b); }, onDelete: onSecret });
  const onContract = (c: Contract) => markKey(`${c.spec.consumer.namespace}/${c.spec.consumer.apiKey}`);
  contracts.addHandler({ onAdd: onContract, onUpdate: (a, b) => { if (!changed(a, b)) return; onContract(a); onContract(b); }, onDelete: onContract });
  // The routes (instances, their policies and tiers) are rendered again only after one of those changed.
  let routesVersion = 0;
  const routesCache = new Map<string, { version: number; ids: Set<string>; rendered: RenderedRoutes }>();
  policies.addHandler({ onAdd: () => routesVersion++, onUpdate: (a, b) => { if (changed(a, b)) routesVersion++; }, onDelete: () => routesVersion++ });
  const onTier = (t: SlaTier) => { routesVersion++; markInstance(`${t.metadata.namespace}/${t.spec.apiInstanceRef.name}`); };
  tiers.addHandler({ onAdd: onTier, onUpdate: (a, b) => { if (!changed(a, b)) return; onTier(a); onTier(b); }, onDelete: onTier });
  const onInstance = (i: ApiInstance) => { gatewayList = undefined; routesVersion++; markInstance(`${i.metadata.namespace}/${i.metadata.name}`); };
  instances.addHandler({ onAdd: onInstance, onUpdate: (a, b) => { if (!changed(a, b)) return; onInstance(a); onInstance(b); }, onDelete: onInstance });
  // A share reaches only the keys of the ApiInstance it shares (model/access.ts); trust, Organizations
  // and namespace labels can move any key.
  const onShare = (sh: AssetShare) => {
    if (sh.spec.targetRef.kind === 'ApiInstance') markInstance(`${sh.spec.targetRef.namespace ?? sh.metadata.namespace}/${sh.spec.targetRef.name}`);
  };
  mgr.informer<AssetShare & { kind: string }>(ASSETSHARES).addHandler({ onAdd: onShare, onUpdate: (a, b) => { if (!changed(a, b)) return; onShare(a); onShare(b); }, onDelete: onShare });
  for (const resource of [ORGANIZATIONS, ORGTRUSTS, NAMESPACES]) {
    mgr.informer(resource).addHandler({ onAdd: markAll, onUpdate: (a, b) => { if (changed(a, b)) markAll(); }, onDelete: markAll });
  }
  // Route verdicts read Organizations (route claims, allowed upstream hosts) and namespace ownership.
  for (const resource of [ORGANIZATIONS, NAMESPACES]) {
    mgr.informer(resource).addHandler({ onAdd: () => routesVersion++, onUpdate: (a, b) => { if (changed(a, b)) routesVersion++; }, onDelete: () => routesVersion++ });
  }

  mgr.addController({
    name: 'gatewayconfig',
    for: { ...gatewayConfigMaps(ns), predicate: () => false }, // keys come from the watches below
    watches: [APIINSTANCES, POLICIES, SLATIERS, APIKEYS, CONTRACTS, KEY_SECRETS, ORGANIZATIONS, ORGTRUSTS, ASSETSHARES, NAMESPACES].map((resource) => ({
      resource,
      map: () => gateways(),
    })),
    reconcile: async (gateway: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const t = now();
      // Each route's verdict (model/route-verdict.ts): served, held closed (503), or not emitted.
      let routes = routesCache.get(gateway);
      if (routes?.version !== routesVersion) {
        const allPolicies = policies.list();
        const tiersByInstance = new Map<string, Array<SlaTier & { kind: string }>>();
        for (const tier of tiers.list()) {
          const id = `${tier.metadata.namespace}/${tier.spec.apiInstanceRef.name}`;
          const list = tiersByInstance.get(id);
          if (list) list.push(tier);
          else tiersByInstance.set(id, [tier]);
        }
        const snap = snapshot();
        const inputs = routableInstances(instances.list(), gateway).flatMap((instance): RouteInput[] => {
          const id = `${instance.metadata.namespace}/${instance.metadata.name}`;
          const applied = policiesFor(instance, allPolicies);
          const instanceTiers = tiersFor(instance, tiersByInstance.get(id) ?? []);
          const problem = routeVerdict({ snapshot: snap, instance, policies: applied, tiers: instanceTiers });
          if (problem) ctx.log.warn({ instance: id, reason: problem.reason, action: problem.action }, problem.action === 'omit' ? 'route not served' : 'route withheld');
          if (problem?.action === 'omit') return [];
          if (problem) return [{ instance, policies: [], tiers: [], withheld: problem }];
          return [{ instance, policies: applied, tiers: instanceTiers }];
        });
        const rendered = renderRoutes(inputs);
        for (const id of rendered.trimmed) ctx.log.warn({ instance: id, reason: 'RouteTooLarge' }, 'route withheld by the renderer: over its size budget or its shard\'s');
        // Keys reach only the routes that are served (not those held closed).
        const held = new Set(rendered.trimmed);
        const served = inputs.filter((r) => !r.withheld).map((r) => `${r.instance.metadata.namespace}/${r.instance.metadata.name}`).filter((id) => !held.has(id));
        routes = { version: routesVersion, ids: new Set(served), rendered };
        routesCache.set(gateway, routes);
      }
      const routeIds = routes.ids;

      let st = states.get(gateway);
      if (!st) states.set(gateway, (st = { index: new CredentialIndex(), dirty: 'all', routeIds: new Set(), deadlines: new Map(), nextDeadline: Infinity, fullPassAt: 0 }));
      if (t.getTime() - st.fullPassAt >= FULL_PASS_MS) st.dirty = 'all';
      if (st.dirty === 'all') st.fullPassAt = t.getTime();
      // Keys of routes that appeared or went away (conflicts, broken policies, gateway moves).
      if (st.dirty !== 'all') {
        for (const id of routeIds) if (!st.routeIds.has(id)) for (const k of keysByInstance(id)) st.dirty.add(k);
        for (const id of st.routeIds) if (!routeIds.has(id)) for (const k of keysByInstance(id)) st.dirty.add(k);
      }
      st.routeIds = routeIds;
      // Entries whose notAfter has come leave the index on time (the gateway also checks notAfter itself).
      if (st.dirty !== 'all' && t.getTime() >= st.nextDeadline) {
        for (const [k, d] of st.deadlines) if (d <= t.getTime()) st.dirty.add(k);
      }

      const work = st.dirty;
      st.dirty = new Set();
      const state = st;
      try {
        const snap = snapshot();
        const update = (id: string, key: (ApiKey & { kind: string }) | undefined) => {
          const entries = key ? credentialEntries(key, snap, routeIds, t) : [];
          state.index.set(id, entries);
          let deadline = Infinity;
          for (const [, cred] of entries) if (cred.notAfter) deadline = Math.min(deadline, new Date(cred.notAfter).getTime());
          if (Number.isFinite(deadline)) state.deadlines.set(id, deadline);
          else state.deadlines.delete(id);
        };
        let n = 0;
        if (work === 'all') {
          const seen = new Set<string>();
          for (const key of keys.list()) {
            seen.add(keyId(key));
            update(keyId(key), key);
            // Keep the event loop turning (lease renewals, watches) through a full pass over many keys.
            if (++n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
          }
          for (const id of [...state.index.owners()]) if (!seen.has(id)) update(id, undefined);
        } else {
          for (const id of work) {
            update(id, keys.get(id));
            if (++n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
          }
        }
      } catch (err) {
        state.dirty = 'all'; // what was taken from the dirty set is not lost: start over next time
        throw err;
      }
      state.nextDeadline = Infinity;
      for (const d of state.deadlines.values()) if (d < state.nextDeadline) state.nextDeadline = d;

      // What this process wrote last is newer than the ConfigMap cache until the watch delivers it:
      // rendering against the cache alone would rewrite those parts and reuse a generation number.
      const cached = previousConfig(gateway);
      const previous = state.written && (!cached || state.written.generation >= cached.generation) ? state.written : cached;
      const shards = credentialShardsFor(state.index.size, state.index.shardCount);
      if (shards !== state.index.shardCount) {
        ctx.log.info({ gateway, credentials: state.index.size, from: state.index.shardCount, to: shards }, 'credential shard count changed; every shard is rewritten');
        state.index.reshard(shards);
      }
      const out = render(gateway, routes.rendered, state.index, previous);
      // One part that cannot be written must not stop the others nor the manifest (writeRendered).
      const { manifest, listed, failed, manifestWritten } = await writeRendered(
        out,
        previous,
        (part) => write(part.name, gateway, part.stamp, part.body.generation, part.body),
        (m) => write(manifestName(gateway), gateway, `manifest-${m.generation}`, m.generation, m),
      );
      if (manifestWritten) {
        state.written = { generation: manifest.generation, parts: new Map(listed.map((p) => [p.name, { stamp: p.stamp, generation: p.generation }])) };
        ctx.log.info(
          { gateway, generation: manifest.generation, routes: routeIds.size, credentials: state.index.size, shards, recomputed: work === 'all' ? 'all' : work.size, partsWritten: out.changed.length - failed.size, partsFailed: failed.size },
          'gateway config written',
        );
      }
      // The manifest in place lists exactly these parts, so any other part of this gateway is unused.
      await deleteUnlisted(gateway, new Set(listed.map((p) => p.name)));
      if (failed.size > 0) {
        for (const [part, error] of failed) ctx.log.error({ gateway, part, err: error }, 'gateway config part not written; the gateway keeps its previous content');
        throw new Error(`${failed.size} gateway config part(s) not written (${[...failed.keys()].join(', ')}); the others and the manifest were; retrying`);
      }
      const nextDeadline = Math.min(state.nextDeadline - t.getTime() + 100, state.fullPassAt + FULL_PASS_MS - t.getTime());
      if (nextDeadline > 0) return { requeueAfterMs: nextDeadline };
    },
  });

  /** The credential entries one ApiKey contributes to a gateway: none unless it is usable and its route is served there. */
  function credentialEntries(key: ApiKey, snap: Snapshot, routeIds: ReadonlySet<string>, t: Date): Array<[string, Credential]> {
    if (key.metadata.deletionTimestamp) return [];
    const access = resolveAccess(snap, key);
    if (!access.ok || !routeIds.has(`${access.instanceNamespace}/${key.spec.apiInstanceRef.name}`)) return [];
    const contract = contracts.get(`${access.instanceNamespace}/${contractNameOf(key)}`);
    const tier = tiers.get(`${access.instanceNamespace}/${key.spec.tier}`);
    const tierOk = tier?.spec.apiInstanceRef.name === key.spec.apiInstanceRef.name;
    if (!contract || !keyVerdict(key, access, contract, tierOk, t).usable) return [];
    // Hashes only from the key's own Secret: a second key naming a teammate's Secret must not carry the teammate's hash.
    return credentialsOf(key, contract, ownHashesOf(key, secrets.get(`${key.metadata.namespace}/${secretNameOf(key)}`)), t);
  }

  function previousConfig(gateway: string): PreviousConfig | undefined {
    const manifest = configMaps.get(`${ns}/${manifestName(gateway)}`);
    if (!manifest) return undefined;
    const parts: PreviousConfig['parts'] = new Map();
    for (const cm of configMaps.list()) {
      const a = cm.metadata?.annotations ?? {};
      if (cm.metadata?.labels?.[LABEL_GATEWAY] !== gateway || cm.metadata?.name === manifestName(gateway)) continue;
      if (a[ANNOTATION_STAMP]) parts.set(cm.metadata!.name!, { stamp: a[ANNOTATION_STAMP], generation: Number(a[ANNOTATION_GENERATION] ?? 0) });
    }
    return { generation: Number(manifest.metadata?.annotations?.[ANNOTATION_GENERATION] ?? 0), parts };
  }

  /** Deletes this gateway's parts (written by crossgate) that the manifest does not list: shards left from a larger count. */
  async function deleteUnlisted(gateway: string, listed: ReadonlySet<string>): Promise<void> {
    for (const cm of configMaps.list()) {
      const m = cm.metadata;
      if (!m?.name || m.namespace !== ns || m.labels?.[LABEL_GATEWAY] !== gateway || m.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) continue;
      if (m.name === manifestName(gateway) || listed.has(m.name)) continue;
      try {
        await deps.http.request('DELETE', objectPath(CONFIGMAPS, ns, m.name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  async function write(name: string, gateway: string, stamp: string, generation: number, body: unknown): Promise<void> {
    const json = JSON.stringify(body);
    if (Buffer.byteLength(json) > MAX_PART_BYTES) {
      throw new Error(`gateway config part ${name} is ${Buffer.byteLength(json)} bytes, over the ${MAX_PART_BYTES}-byte budget`);
    }
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_GATEWAY]: gateway, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: { [ANNOTATION_STAMP]: stamp, [ANNOTATION_GENERATION]: String(generation) },
      },
      data: { [PART_DATA_KEY]: json },
    };
    if (!configMaps.get(`${ns}/${name}`)) {
      try {
        await deps.http.request('POST', objectPath(CONFIGMAPS, ns), { body: cm });
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await deps.http.request('PUT', objectPath(CONFIGMAPS, ns, name), { body: cm });
  }
}
