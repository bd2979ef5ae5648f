// Object keys and resource coordinates shared by informers, the work queue and
// controllers. A key is "namespace/name" for namespaced objects and "name" for
// cluster-scoped ones, as in client-go's MetaNamespaceKeyFunc, so keys read the
// same in logs as they do in kubectl.
import type { KubernetesObject } from '@kubernetes/client-node';

export type { KubernetesObject };

/** A resource collection: enough to build its REST path and to match owner references. */
export interface ResourceRef {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, as in the REST path (e.g. "organizations"). */
  plural: string;
  /** Kind, needed to match owner references (`owns`) and for logs. */
  kind?: string;
  /** false for cluster-scoped kinds; default true. Decides the key of owners found via ownerReferences. */
  namespaced?: boolean;
}

/** The REST path of a collection, optionally restricted to one namespace. */
export function collectionPath(res: ResourceRef, namespace?: string): string {
  const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${res.plural}`;
}

/** The REST path of one object (or of its collection when `name` is omitted). */
export function objectPath(res: ResourceRef, namespace: string | undefined, name?: string): string {
  return `${collectionPath(res, namespace)}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/** "group/version" or "version" for the core group. */
export function apiVersionOf(res: ResourceRef): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function joinKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}
