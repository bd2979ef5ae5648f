// The read-only view of cluster state the admission rules decide on. The server
// builds one per request from informer caches (see SnapshotSources); tests build
// one from plain lists with snapshotFrom().
import type { V1Namespace } from '@kubernetes/client-node';
import type { ApiInstance, Asset, AssetShare, Organization, OrgTrust } from '../api/v1alpha1/index.ts';

export interface NamespaceView {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface Snapshot {
  /** Every Organization (cluster-scoped), including ones being deleted. */
  organizations(): readonly Organization[];
  /** A namespace and its labels; undefined when the cache has not seen it. */
  namespace(name: string): NamespaceView | undefined;
  /** OrgTrusts of one namespace, or of all namespaces when none is given. */
  orgTrusts(namespace?: string): readonly OrgTrust[];
  assets(namespace?: string): readonly Asset[];
  apiInstances(namespace?: string): readonly ApiInstance[];
  assetShares(namespace?: string): readonly AssetShare[];
  /**
   * Namespaces no Organization may claim: the Kubernetes system namespaces and
   * the operator's own (the webhook does not see objects there, see registration.ts).
   */
  readonly reservedNamespaces: ReadonlySet<string>;
}

export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface SnapshotLists {
  organizations?: readonly Organization[];
  namespaces?: readonly (V1Namespace | NamespaceView)[];
  orgTrusts?: readonly OrgTrust[];
  assets?: readonly Asset[];
  apiInstances?: readonly ApiInstance[];
  assetShares?: readonly AssetShare[];
  reservedNamespaces?: Iterable<string>;
}

type Namespaced = { metadata: { namespace?: string } };

/** Groups objects by namespace on first use, so a request pays only for the lists it reads. */
function byNamespace<T extends Namespaced>(items: readonly T[]): (namespace?: string) => readonly T[] {
  let index: Map<string, T[]> | undefined;
  return (namespace?: string) => {
    if (namespace === undefined) return items;
    if (!index) {
      index = new Map();
      for (const item of items) {
        const ns = item.metadata?.namespace ?? '';
        let bucket = index.get(ns);
        if (!bucket) index.set(ns, (bucket = []));
        bucket.push(item);
      }
    }
    return index.get(namespace) ?? [];
  };
}

function toView(ns: V1Namespace | NamespaceView): NamespaceView | undefined {
  if ('metadata' in ns || !('labels' in ns)) {
    const meta = (ns as V1Namespace).metadata;
    return meta?.name ? { name: meta.name, labels: { ...(meta.labels ?? {}) } } : undefined;
  }
  return ns as NamespaceView;
}

/** A Snapshot over plain lists. The lists are not copied: do not mutate them while it is in use. */
export function snapshotFrom(lists: SnapshotLists): Snapshot {
  const orgs = lists.organizations ?? [];
  let namespaces: Map<string, NamespaceView> | undefined;
  const orgTrusts = byNamespace(lists.orgTrusts ?? []);
  const assets = byNamespace(lists.assets ?? []);
  const apiInstances = byNamespace(lists.apiInstances ?? []);
  const assetShares = byNamespace(lists.assetShares ?? []);
  const reserved = new Set([...SYSTEM_NAMESPACES, ...(lists.reservedNamespaces ?? [])]);
  return {
    organizations: () => orgs,
    namespace(name) {
      if (!namespaces) {
        namespaces = new Map();
        for (const ns of lists.namespaces ?? []) {
          const view = toView(ns);
          if (view) namespaces.set(view.name, view);
        }
      }
      return namespaces.get(name);
    },
    orgTrusts,
    assets,
    apiInstances,
    assetShares,
    reservedNamespaces: reserved,
  };
}

/**
 * The minimal informer shape the webhook needs. operator/lib/informer.ts
 * (a supervised list+watch informer) satisfies it; so does any cache that can
 * list what it holds and say whether its first list has completed.
 */
export interface ListSource<T> {
  list(): readonly T[];
  hasSynced(): boolean;
}

export interface SnapshotSources {
  organizations: ListSource<Organization>;
  namespaces: ListSource<V1Namespace>;
  orgTrusts: ListSource<OrgTrust>;
  assets: ListSource<Asset>;
  apiInstances: ListSource<ApiInstance>;
  assetShares: ListSource<AssetShare>;
}

/** What the server asks for: is the cache complete, and a consistent-enough view of it. */
export interface SnapshotSource {
  hasSynced(): boolean;
  current(): Snapshot;
}

/** A SnapshotSource over informers: synced when every informer is; each current() reads their caches afresh. */
export function informerSnapshotSource(sources: SnapshotSources, reservedNamespaces: Iterable<string> = []): SnapshotSource {
  const reserved = [...reservedNamespaces];
  const all = Object.values(sources) as ListSource<unknown>[];
  return {
    hasSynced: () => all.every((s) => s.hasSynced()),
    current: () =>
      snapshotFrom({
        organizations: sources.organizations.list(),
        namespaces: sources.namespaces.list(),
        orgTrusts: sources.orgTrusts.list(),
        assets: sources.assets.list(),
        apiInstances: sources.apiInstances.list(),
        assetShares: sources.assetShares.list(),
        reservedNamespaces: reserved,
      }),
  };
}

/** A SnapshotSource that always returns the same snapshot (tests, tools). */
export function staticSnapshotSource(snapshot: Snapshot, synced = true): SnapshotSource {
  return { hasSynced: () => synced, current: () => snapshot };
}
