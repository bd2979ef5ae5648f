// Pure decisions for the Asset reconciler: where the specification comes
// from, what a ConfigMap holds for it, which status and which Event follow from
// a check, which Assets a ConfigMap event concerns. No I/O; asset.ts applies.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Asset } from '../../api/v1alpha1/index.ts';
import { ownConditions, type Condition, type ConditionInput } from '../../kube/conditions.ts';
import type { SpecCheck, SpecSummary, SpecType } from './asset-spec.ts';

export type SpecSource =
  | { kind: 'none' }
  | { kind: 'inline'; text: string }
  | { kind: 'configMap'; name: string; key: string };

/** Where the Asset's specification is. `http` assets have none, whatever spec.source says. */
export function specSourceOf(asset: Pick<Asset, 'spec'>): SpecSource {
  if (asset.spec.type === 'http') return { kind: 'none' };
  const src = asset.spec.source;
  if (src?.configMapRef) return { kind: 'configMap', name: src.configMapRef.name, key: src.configMapRef.key };
  if (src?.inline !== undefined) return { kind: 'inline', text: src.inline };
  return { kind: 'none' }; // refused by the CRD's CEL rule; reported as SourceNotFound below
}

export type Reason = 'Valid' | 'InvalidSpec' | 'SourceNotFound' | 'NoSpecification';

/** What the reconciler concluded about the Asset's specification. */
export type Outcome =
  | { reason: 'Valid'; message: string; summary: SpecSummary }
  | { reason: 'InvalidSpec' | 'SourceNotFound' | 'NoSpecification'; message: string };

export function outcomeOfCheck(check: SpecCheck): Outcome {
  return check.valid ? { reason: 'Valid', message: check.message, summary: check.summary } : { reason: 'InvalidSpec', message: check.message };
}

export function noSpecification(asset: Pick<Asset, 'spec'>): Outcome {
  if (asset.spec.type === 'http') {
    return {
      reason: 'NoSpecification',
      message: asset.spec.source ? 'an http asset has no specification; spec.source is ignored' : 'an http asset has no specification',
    };
  }
  return { reason: 'SourceNotFound', message: `a ${asset.spec.type} asset needs spec.source (inline or configMapRef)` };
}

// ---------------------------------------------------------------------------
// ConfigMaps

/**
 * A ConfigMap as the operator caches it: metadata and the NAMES of its keys,
 * never the values. Asset specifications can be up to 1 MiB each, and the
 * informer sees every ConfigMap of the cluster; the reconciler reads the one
 * value it needs with a GET when its resourceVersion changed.
 */
export interface CachedConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ConfigMap['metadata'];
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  /** Set by configMapKeysOnly: the keys of data and binaryData, values dropped; undefined when too many to cache. */
  keys?: string[];
}

/** The most key names one cached ConfigMap keeps, and their most characters in total; a ConfigMap over either keeps none. */
export const MAX_CACHED_CONFIGMAP_KEYS = 32;
export const MAX_CACHED_CONFIGMAP_KEY_CHARS = 1024;

/**
 * Informer transform: keep name, namespace, uid, resourceVersion and the key
 * names, unless there are more than the bounds above: any tenant can write a
 * ConfigMap of ~100,000 short key names (1 MiB), which cost the cache ~1.1 MB
 * of heap each. Over the bounds the names are left out (`keys` undefined:
 * unknown), so the reconciler reads that ConfigMap with a GET when an Asset
 * references it: only its writer pays.
 */
export function configMapKeysOnly<T extends CachedConfigMap>(cm: T): T {
  const m = cm.metadata ?? {};
  return {
    apiVersion: cm.apiVersion,
    kind: cm.kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, deletionTimestamp: m.deletionTimestamp },
    keys: boundedKeyNames(cm),
  } as T;
}

/** The sorted key names of data and binaryData, or undefined when they exceed the cache's bounds (counted without copying them all). */
function boundedKeyNames(cm: CachedConfigMap): string[] | undefined {
  const keys: string[] = [];
  let chars = 0;
  for (const part of [cm.data, cm.binaryData]) {
    for (const k in part ?? {}) {
      chars += k.length;
      if (keys.push(k) > MAX_CACHED_CONFIGMAP_KEYS || chars > MAX_CACHED_CONFIGMAP_KEY_CHARS) return undefined;
    }
  }
  return keys.sort();
}

/** The key names of a ConfigMap, trimmed (cache) or whole (GET). */
export function configMapKeys(cm: CachedConfigMap): string[] {
  return cm.keys ?? [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})].sort();
}

/**
 * The key names when the object tells them; undefined for a metadata-only
 * object (a PartialObjectMetadata watch) or one cached with too many keys,
 * where only a GET can tell.
 */
export function knownConfigMapKeys(cm: CachedConfigMap): string[] | undefined {
  return cm.keys !== undefined || cm.data !== undefined || cm.binaryData !== undefined ? configMapKeys(cm) : undefined;
}

export function configMapNotFound(namespace: string, name: string): Outcome {
  return { reason: 'SourceNotFound', message: `ConfigMap "${name}" not found in namespace "${namespace}"` };
}

export function configMapKeyNotFound(cm: CachedConfigMap, key: string): Outcome {
  const keys = configMapKeys(cm);
  const shown = keys.slice(0, 10).map((k) => `"${k}"`).join(', ');
  const has = keys.length === 0 ? 'it has no keys' : `its keys: ${shown}${keys.length > 10 ? ', ...' : ''}`;
  return { reason: 'SourceNotFound', message: `ConfigMap "${cm.metadata?.name}" has no key "${key}" (${has})` };
}

/** The specification text under `key`, from data or (UTF-8) binaryData; an Outcome when it is not there. */
export function configMapText(cm: CachedConfigMap, key: string): { text: string } | { outcome: Outcome } {
  const data = cm.data?.[key];
  if (data !== undefined) return { text: data };
  const bin = cm.binaryData?.[key];
  if (bin !== undefined) return { text: Buffer.from(bin, 'base64').toString('utf8') };
  return { outcome: configMapKeyNotFound(cm, key) };
}

/** Keys ("namespace/name") of the Assets whose specification lives in the ConfigMap `namespace/name`. */
export function assetsReferencing(assets: Iterable<Pick<Asset, 'metadata' | 'spec'>>, namespace: string | undefined, name: string | undefined): string[] {
  if (!namespace || !name) return [];
  const keys: string[] = [];
  for (const a of assets) {
    if (a.metadata?.namespace !== namespace) continue;
    const ref = a.spec?.source?.configMapRef;
    if (ref?.name === name && a.spec.type !== 'http') keys.push(`${namespace}/${a.metadata.name}`);
  }
  return keys;
}

/**
 * What a check result depends on: the Asset (uid, generation) and, for a
 * ConfigMap source, the ConfigMap's resourceVersion. Equal fingerprints mean
 * the previous outcome still holds, so a resync does not re-parse (or re-read)
 * a large specification.
 */
export function sourceFingerprint(asset: Pick<Asset, 'metadata'>, configMapResourceVersion?: string): string {
  return `${asset.metadata?.uid ?? ''}/${asset.metadata?.generation ?? 0}/${configMapResourceVersion ?? ''}`;
}

// ---------------------------------------------------------------------------
// Status and Events

export function readyCondition(outcome: Outcome): ConditionInput {
  const ok = outcome.reason === 'Valid' || outcome.reason === 'NoSpecification';
  return { type: 'Ready', status: ok ? 'True' : 'False', reason: outcome.reason, message: outcome.message };
}

export interface AssetStatusDesired {
  [k: string]: unknown;
  observedGeneration: number;
  conditions: Condition[];
  /** Undefined (removed) unless the specification is valid. */
  summary: SpecSummary | undefined;
}

/** The status fields the Asset reconciler owns (summary only while the specification is valid). */
export function desiredAssetStatus(asset: Pick<Asset, 'metadata' | 'status'>, outcome: Outcome, now?: Date): AssetStatusDesired {
  const generation = asset.metadata?.generation ?? 0;
  const previous = (asset.status?.conditions ?? []) as Condition[];
  return {
    observedGeneration: generation,
    conditions: ownConditions(previous, [readyCondition(outcome)], generation, now),
    summary: outcome.reason === 'Valid' ? outcome.summary : undefined,
  };
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: 'SpecValidated' | 'InvalidSpec' | 'SourceNotFound';
  message: string;
}

/**
 * The Event to record when the Ready condition moves: to Valid (Normal
 * SpecValidated), to InvalidSpec or SourceNotFound (Warning), or to a
 * different message under the same reason (a new spec version, a different
 * problem). Nothing on a resync that concludes the same, nothing for http
 * assets.
 */
export function transitionEvent(previous: readonly Condition[] | undefined, outcome: Outcome): EventSpec | undefined {
  const prev = previous?.find((c) => c.type === 'Ready');
  if (prev && prev.reason === outcome.reason && prev.message === outcome.message) return undefined;
  switch (outcome.reason) {
    case 'Valid':
      return { type: 'Normal', reason: 'SpecValidated', message: outcome.message };
    case 'InvalidSpec':
      return { type: 'Warning', reason: 'InvalidSpec', message: outcome.message };
    case 'SourceNotFound':
      return { type: 'Warning', reason: 'SourceNotFound', message: outcome.message };
    default:
      return undefined;
  }
}

/** The checker's type for an Asset type that has a specification. */
export function specTypeOf(type: Asset['spec']['type']): SpecType | undefined {
  return type === 'http' ? undefined : type;
}
