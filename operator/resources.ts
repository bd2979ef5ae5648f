// Coordinates of every collection the operator reads, in one place.
import type { InformerSpec } from '../kube/controller.ts';
import type { KubernetesObject } from '../kube/keys.ts';
import { GROUP, VERSION, KINDS } from '../api/v1alpha1/index.ts';
import * as labels from '../api/labels.ts';
import { LABEL_APIKEY, LABEL_APPLICATION, LABEL_MANAGED_BY, MANAGED_BY } from '../api/labels.ts';

export function crossgate(kind: string): InformerSpec {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return { group: GROUP, version: VERSION, plural: def.plural, kind, namespaced: def.scope === 'Namespaced', transform: crossgateAnnotationsOnly };
}

/** Longer than any crossgate annotation on a crossgate object (`crossgate.dev/promoted-from`: a namespace and a name). */
export const MAX_CACHED_OBJECT_ANNOTATION_LENGTH = 1024;

/**
 * A crossgate object as the operator caches it: without managedFields, and
 * with crossgate's own annotations only (values cut at 1024 characters, never
 * well-formed then). The reconcilers read no other annotation, and an
 * organization admin could otherwise park 256 KiB of them on each of its
 * objects in the one operator every organization shares (security-model.md
 * row 51); kubectl's last-applied-configuration doubled every applied object.
 */
export function cachedCrossgateObject<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta || !('managedFields' in meta || 'annotations' in meta)) return obj;
  const { managedFields: _m, annotations, ...rest } = meta;
  const kept = crossgateEntries(annotations, MAX_CACHED_OBJECT_ANNOTATION_LENGTH);
  obj.metadata = kept ? { ...rest, annotations: kept } : rest;
  return obj;
}

const crossgateAnnotationsOnly: NonNullable<InformerSpec['transform']> = { name: 'crossgate-annotations-only', fn: cachedCrossgateObject };

/**
 * Only the objects of an RBAC kind that the operator made: it never needs to hold every binding or role of the cluster in memory.
 * Whoever may label a RoleBinding in its namespace matches the selector too: only crossgate's annotations are kept, as for crossgate objects.
 */
function managedRbac(plural: string, kind: string): InformerSpec {
  return { group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`, transform: crossgateAnnotationsOnly };
}

export const ORGANIZATIONS = crossgate('Organization');
export const NAMESPACES: InformerSpec = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
/** The Organizations' member and admin bindings, and the share grants. */
export const MANAGED_ROLEBINDINGS = managedRbac('rolebindings', 'RoleBinding');

export { objectPath } from '../kube/keys.ts';

export { MERGE_PATCH } from '../kube/status.ts';

export const ORGTRUSTS = crossgate('OrgTrust');
export const ASSETS = crossgate('Asset');
export const ASSETSHARES = crossgate('AssetShare');
export const APIINSTANCES = crossgate('ApiInstance');
export const APIGROUPS = crossgate('ApiGroup');
/** The share grants. */
export const MANAGED_ROLES = managedRbac('roles', 'Role');

export const APIKEYS = crossgate('ApiKey');
export const APPLICATIONS = crossgate('Application');
export const CONTRACTS = crossgate('Contract');
export const SLATIERS = crossgate('SlaTier');
export const POLICIES = crossgate('Policy');

/** The label and annotation keys crossgate defines (api/labels.ts): the only ones a cached Secret keeps. */
const CROSSGATE_METADATA_KEYS: ReadonlySet<string> = new Set(
  Object.entries(labels).filter(([name]) => name.startsWith('LABEL_') || name.startsWith('ANNOTATION_')).map(([, key]) => key as string),
);
/** Longer than any well-formed crossgate annotation value (a hash, a client ID, a time). */
export const MAX_CACHED_ANNOTATION_LENGTH = 256;

function crossgateEntries(m: Record<string, string> | undefined, maxLength: number): Record<string, string> | undefined {
  if (!m) return undefined;
  let out: Record<string, string> | undefined;
  for (const key of CROSSGATE_METADATA_KEYS) {
    const v = m[key];
    if (typeof v !== 'string') continue;
    // Cut, and marked so that it can never read as well-formed (the reconcilers refuse it as they did the whole value).
    (out ??= {})[key] = v.length > maxLength ? `${v.slice(0, maxLength)}…` : v;
  }
  return out;
}

/**
 * A Secret as the operator caches it: name, namespace, uid, versions, times,
 * crossgate's own labels and annotations (values cut at 256 characters) and
 * the controller ownerReference, never the data (raw keys, client secrets).
 * Tenants write these Secrets (security-model.md row 33): anything else of
 * their metadata (256 KiB of annotations, thousands of labels or owner
 * references) would otherwise sit in the shared operator's memory for each.
 */
export function cachedSecretMetadata<T extends KubernetesObject>(obj: T): T {
  const m = obj.metadata ?? {};
  const owner = m.ownerReferences?.find((r) => r.controller === true);
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    ...('type' in obj && typeof obj.type === 'string' && obj.type.length <= MAX_CACHED_ANNOTATION_LENGTH ? { type: obj.type } : {}),
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      generation: m.generation,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
      labels: crossgateEntries(m.labels, MAX_CACHED_ANNOTATION_LENGTH),
      annotations: crossgateEntries(m.annotations, MAX_CACHED_ANNOTATION_LENGTH),
      ownerReferences: owner ? [owner] : undefined,
    },
  } as unknown as T;
}

const secretMetadataOnly: NonNullable<InformerSpec['transform']> = { name: 'secret-metadata-only', fn: cachedSecretMetadata };

/** Key Secrets only (by label), and without their data: the operator never holds raw keys in memory. */
export const KEY_SECRETS: InformerSpec = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', labelSelector: LABEL_APIKEY, transform: secretMetadataOnly };

/** Application Secrets only (by label), without their data (client secrets), as key Secrets. */
export const APP_SECRETS: InformerSpec = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', labelSelector: LABEL_APPLICATION, transform: secretMetadataOnly };
