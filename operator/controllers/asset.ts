// Asset reconciler: reads the specification (inline, or a ConfigMap key in the
// Asset's namespace), checks it (asset-spec.ts) and reports Ready with reason
// Valid / InvalidSpec / SourceNotFound / NoSpecification, observedGeneration
// and a summary (title, version, spec version, path and operation counts),
// with an Event when the conclusion changes. Decisions live in
// asset-desired.ts; this file only reads and writes.
//
// Watching ConfigMaps, and memory (DESIGN.md "Memory"). The choices were:
//   1. watch only ConfigMaps labelled e.g. crossgate.dev/asset-source=true:
//      least memory, but a user's unlabelled ConfigMap would look "not found"
//      even though `kubectl get` shows it: a trap;
//   2. watch only the namespaces of organizations: one informer per namespace,
//      created and never removed as organizations come and go, and still every
//      value of every ConfigMap there;
//   3. watch every ConfigMap, but cache only its metadata and the NAMES of its
//      keys (configMapKeysOnly), and GET the one referenced ConfigMap when its
//      resourceVersion changed. <- chosen.
// With 3 a ConfigMap costs a few hundred bytes in the cache whatever its size
// (specifications reach 1 MiB; a ConfigMap of more than 32 key names, or 1024
// characters of them, is cached without its names, which a tenant could
// otherwise make ~1 MiB each), users label nothing, a missing key is reported
// from the cache without a request (a GET when the names were left out), and
// the event on creation or change wakes
// exactly the Assets that reference it (assetsReferencing). A check result is
// remembered per Asset with its fingerprint (uid, generation, ConfigMap
// resourceVersion), so the periodic resync neither re-reads nor re-parses.
// The informer needs list/watch on ConfigMaps cluster-wide and the GET needs
// get: both are in the operator's ClusterRole already (api/rbac.ts).
import type { Manager, ReconcileContext, ReconcileResult, InformerSpec } from '../../kube/controller.ts';
import { generationChanged, type Predicate } from '../../kube/controller.ts';
import { describeError, isNotFound } from '../../kube/kube.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import type { Condition } from '../../kube/conditions.ts';
import type { Asset } from '../../api/v1alpha1/index.ts';
import { ASSETS, objectPath } from '../resources.ts';
import type { Deps } from './deps.ts';
import { checkSpecification } from './asset-spec.ts';
import {
  assetsReferencing, configMapKeysOnly, configMapNotFound, configMapKeyNotFound, configMapText, desiredAssetStatus, knownConfigMapKeys,
  noSpecification, outcomeOfCheck, sourceFingerprint, specSourceOf, specTypeOf, transitionEvent, type CachedConfigMap, type Outcome,
} from './asset-desired.ts';

type AssetObject = Asset & { kind: string; apiVersion: string };

/** The field manager of an Asset's status (server-side apply). */
export const ASSET_MANAGER = 'crossgate-asset';
type ConfigMapObject = CachedConfigMap & KubernetesObject;

/** Every ConfigMap of the cluster, trimmed to metadata and key names (see the header). */
export const ASSET_SOURCE_CONFIGMAPS: InformerSpec = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  transform: { name: 'configmap-keys-only', fn: (obj) => configMapKeysOnly(obj as ConfigMapObject) },
};

/** ConfigMap events that change something: not the periodic resync (the Assets' own resync covers it). */
const configMapChanged: Predicate = (ev) =>
  ev.type !== 'update' || !ev.oldObj || (ev.oldObj !== ev.obj && ev.oldObj.metadata?.resourceVersion !== ev.obj.metadata?.resourceVersion);

interface Remembered {
  fingerprint: string;
  outcome: Outcome;
}

export function registerAssetController(mgr: Manager, deps: Deps & { workers?: number }): void {
  const assets = mgr.informer<AssetObject>(ASSETS);
  const configMaps = mgr.informer<ConfigMapObject>(ASSET_SOURCE_CONFIGMAPS);
  /** Last check per Asset key; bounded by the number of Assets (summaries and messages only, never spec text). */
  const remembered = new Map<string, Remembered>();

  mgr.addController({
    name: 'asset',
    workers: deps.workers,
    // Spec changes only: the controller's own status writes do not wake it.
    for: { ...ASSETS, predicate: generationChanged },
    watches: [
      {
        resource: ASSET_SOURCE_CONFIGMAPS,
        predicate: configMapChanged,
        map: (cm) => assetsReferencing(assets.list(), cm.metadata?.namespace, cm.metadata?.name),
      },
    ],
    reconcile: async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const asset = assets.get(key);
      if (!asset) {
        remembered.delete(key);
        return;
      }
      if (asset.metadata?.deletionTimestamp) return;
      const outcome = await evaluate(key, asset, ctx);
      const previous = (deps.status.current(asset)?.conditions ?? []) as Condition[];
      const status = desiredAssetStatus({ metadata: asset.metadata, status: { conditions: previous } }, outcome);
      const written = await deps.status.applyStatus(asset, ASSETS.plural, status, ASSET_MANAGER);
      const event = transitionEvent(previous, outcome);
      if (event) deps.events.record(asset, event.type, event.reason, event.message);
      if (written) ctx.log.info({ reason: outcome.reason, generation: status.observedGeneration }, 'asset status updated');
    },
  });

  async function evaluate(key: string, asset: AssetObject, ctx: ReconcileContext): Promise<Outcome> {
    const source = specSourceOf(asset);
    const type = specTypeOf(asset.spec.type);
    if (source.kind === 'none' || !type) {
      remembered.delete(key);
      return noSpecification(asset);
    }
    let fingerprint: string;
    let text: string;
    if (source.kind === 'inline') {
      fingerprint = sourceFingerprint(asset);
      text = source.text;
    } else {
      const namespace = asset.metadata!.namespace!;
      const cached = configMaps.get(`${namespace}/${source.name}`);
      if (!cached) return configMapNotFound(namespace, source.name);
      const keys = knownConfigMapKeys(cached);
      if (keys && !keys.includes(source.key)) return configMapKeyNotFound(cached, source.key);
      fingerprint = sourceFingerprint(asset, cached.metadata?.resourceVersion);
      const hit = remembered.get(key);
      if (hit?.fingerprint === fingerprint) return hit.outcome;
      // The cache has key names only: read the value (a newer version than the cache is fine).
      let cm: CachedConfigMap;
      try {
        cm = await deps.http.request<CachedConfigMap>('GET', objectPath(ASSET_SOURCE_CONFIGMAPS, namespace, source.name), { signal: ctx.signal });
      } catch (err) {
        if (isNotFound(err)) return configMapNotFound(namespace, source.name); // deleted meanwhile; its event follows
        throw new Error(`reading ConfigMap ${namespace}/${source.name}: ${describeError(err)}`);
      }
      fingerprint = sourceFingerprint(asset, cm.metadata?.resourceVersion);
      const found = configMapText(cm, source.key);
      if ('outcome' in found) return found.outcome;
      text = found.text;
    }
    const hit = remembered.get(key);
    if (hit?.fingerprint === fingerprint) return hit.outcome;
    const started = performance.now();
    const outcome = outcomeOfCheck(await checkSpecification(type, text));
    ctx.log.debug({ type, bytes: text.length, ms: Math.round(performance.now() - started), reason: outcome.reason }, 'checked specification');
    remembered.set(key, { fingerprint, outcome });
    return outcome;
  }
}
