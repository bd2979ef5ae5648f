// The read-only view of cluster state the admission rules decide on. The server
// builds one per request from informer caches (see SnapshotSources); tests build
// one from plain lists with snapshotFrom().
import type { V1Namespace } from '@kubernetes/client-node';
import type { Alert, ApiGroup, ApiInstance, Asset, AssetShare, GovernanceRuleset, Organization, OrgTrust, Policy, SlaTier } from '../api/v1alpha1/index.ts';
import { NO_PLATFORM_SETTINGS, type PlatformSettings } from '../api/platform.ts';

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
  /** ApiGroups of one namespace (an organization's home), or of all. */
  apiGroups(namespace?: string): readonly ApiGroup[];
  /** Policies, SlaTiers, Alerts and GovernanceRulesets of one namespace, or of all: read by governance (model/governance.ts). */
  policies(namespace?: string): readonly Policy[];
  slaTiers(namespace?: string): readonly SlaTier[];
  alerts(namespace?: string): readonly Alert[];
  governanceRulesets(namespace?: string): readonly GovernanceRuleset[];
  /**
   * Namespaces no Organization may claim: the Kubernetes system namespaces and
   * the operator's own (the webhook does not see objects there, see registration.ts).
   */
  readonly reservedNamespaces: ReadonlySet<string>;
  /** Platform settings (api/platform.ts): allowed loopback upstreams, reserved gateway hostnames. */
  readonly platform: PlatformSettings;
  /**
   * A value derived from this snapshot, computed on first use and kept as long
   * as the snapshot is: what `make` returned the first time `key` was asked.
   */
  memo<T>(key: symbol, make: () => T): T;
}

export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface SnapshotLists {
  organizations?: readonly Organization[];
  namespaces?: readonly (V1Namespace | NamespaceView)[];
  orgTrusts?: readonly OrgTrust[];
  assets?: readonly Asset[];
  apiInstances?: readonly ApiInstance[];
  assetShares?: readonly AssetShare[];
  apiGroups?: readonly ApiGroup[];
  policies?: readonly Policy[];
  slaTiers?: readonly SlaTier[];
  alerts?: readonly Alert[];
  governanceRulesets?: readonly GovernanceRuleset[];
  reservedNamespaces?: Iterable<string>;
  platform?: PlatformSettings;
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

type Getter<T> = () => readonly T[];
const none = (): readonly never[] => [];

function once<T>(get: Getter<T>): Getter<T> {
  let value: readonly T[] | undefined;
  return () => (value ??= get());
}

/** A Snapshot over lists read on first use (each at most once per snapshot). */
function lazySnapshot(get: {
  organizations: Getter<Organization>;
  namespaces: Getter<V1Namespace | NamespaceView>;
  namespaceByName?: (name: string) => V1Namespace | NamespaceView | undefined;
  orgTrusts: Getter<OrgTrust>;
  assets: Getter<Asset>;
  apiInstances: Getter<ApiInstance>;
  assetShares: Getter<AssetShare>;
  apiGroups: Getter<ApiGroup>;
  policies?: Getter<Policy>;
  slaTiers?: Getter<SlaTier>;
  alerts?: Getter<Alert>;
  governanceRulesets?: Getter<GovernanceRuleset>;
  reservedNamespaces: Iterable<string>;
  platform: PlatformSettings | undefined;
}): Snapshot {
  const indexed = <T extends Namespaced>(g: Getter<T>) => {
    let f: ((namespace?: string) => readonly T[]) | undefined;
    return (namespace?: string) => (f ??= byNamespace(g()))(namespace);
  };
  let namespaces: Map<string, NamespaceView> | undefined;
  const memos = new Map<symbol, unknown>();
  return {
    organizations: once(get.organizations),
    namespace(name) {
      if (get.namespaceByName) {
        const ns = get.namespaceByName(name);
        return ns ? toView(ns) : undefined;
      }
      if (!namespaces) {
        namespaces = new Map();
        for (const ns of get.namespaces()) {
          const view = toView(ns);
          if (view) namespaces.set(view.name, view);
        }
      }
      return namespaces.get(name);
    },
    orgTrusts: indexed(get.orgTrusts),
    assets: indexed(get.assets),
    apiInstances: indexed(get.apiInstances),
    assetShares: indexed(get.assetShares),
    apiGroups: indexed(get.apiGroups),
    policies: indexed(get.policies ?? none),
    slaTiers: indexed(get.slaTiers ?? none),
    alerts: indexed(get.alerts ?? none),
    governanceRulesets: indexed(get.governanceRulesets ?? none),
    reservedNamespaces: new Set([...SYSTEM_NAMESPACES, ...get.reservedNamespaces]),
    platform: get.platform ?? NO_PLATFORM_SETTINGS,
    memo<T>(key: symbol, make: () => T): T {
      if (!memos.has(key)) memos.set(key, make());
      return memos.get(key) as T;
    },
  };
}

/** A Snapshot over plain lists. The lists are not copied: do not mutate them while it is in use. */
export function snapshotFrom(lists: SnapshotLists): Snapshot {
  return lazySnapshot({
    organizations: () => lists.organizations ?? [],
    namespaces: () => lists.namespaces ?? [],
    orgTrusts: () => lists.orgTrusts ?? [],
    assets: () => lists.assets ?? [],
    apiInstances: () => lists.apiInstances ?? [],
    assetShares: () => lists.assetShares ?? [],
    apiGroups: () => lists.apiGroups ?? [],
    policies: () => lists.policies ?? [],
    slaTiers: () => lists.slaTiers ?? [],
    alerts: () => lists.alerts ?? [],
    governanceRulesets: () => lists.governanceRulesets ?? [],
    reservedNamespaces: lists.reservedNamespaces ?? [],
    platform: lists.platform,
  });
}

/**
 * The minimal informer shape the webhook needs. kube/informer.ts
 * (a supervised list+watch informer) satisfies it; so does any cache that can
 * list what it holds and say whether its first list has completed.
 */
export interface ListSource<T> {
  list(): readonly T[];
  hasSynced(): boolean;
  /** Lookup by key ("name" for cluster-scoped objects), if the cache has an index. */
  get?(key: string): T | undefined;
  /** Change notifications, if the cache has them: then a snapshot is kept until something changes. */
  addHandler?(h: { onAdd?: () => void; onUpdate?: () => void; onDelete?: () => void }): unknown;
}

export interface SnapshotSources {
  organizations: ListSource<Organization>;
  namespaces: ListSource<V1Namespace>;
  orgTrusts: ListSource<OrgTrust>;
  assets: ListSource<Asset>;
  apiInstances: ListSource<ApiInstance>;
  assetShares: ListSource<AssetShare>;
  /** ApiGroups (the ApiGroup rule needs none; access entries naming a group read them). Absent: none. */
  apiGroups?: ListSource<ApiGroup>;
  /** What governance warnings read (model/governance.ts). Absent: none. */
  policies?: ListSource<Policy>;
  slaTiers?: ListSource<SlaTier>;
  alerts?: ListSource<Alert>;
  governanceRulesets?: ListSource<GovernanceRuleset>;
}

/** What the server asks for: is the cache complete, and a consistent-enough view of it. */
export interface SnapshotSource {
  hasSynced(): boolean;
  current(): Snapshot;
}

/**
 * A SnapshotSource over informers: synced when every informer is. A snapshot
 * reads only the lists a request's rules actually touch; namespaces are looked
 * up by name when the cache can. When every cache tells its changes, the same
 * snapshot (and the per-namespace indexes it built on first use) serves every
 * request until one of them changes, because one built per request would copy
 * and index every ApiInstance and AssetShare for every review
 * (docs/performance.md, "The admission snapshot").
 */
export function informerSnapshotSource(sources: SnapshotSources, reservedNamespaces: Iterable<string> = [], platform?: PlatformSettings): SnapshotSource {
  const reserved = [...reservedNamespaces];
  const all = Object.values(sources) as ListSource<unknown>[];
  const nsGet = sources.namespaces.get?.bind(sources.namespaces);
  const build = () =>
    lazySnapshot({
      organizations: () => sources.organizations.list(),
      namespaces: () => sources.namespaces.list(),
      ...(nsGet ? { namespaceByName: nsGet } : {}),
      orgTrusts: () => sources.orgTrusts.list(),
      assets: () => sources.assets.list(),
      apiInstances: () => sources.apiInstances.list(),
      assetShares: () => sources.assetShares.list(),
      apiGroups: () => sources.apiGroups?.list() ?? [],
      policies: () => sources.policies?.list() ?? [],
      slaTiers: () => sources.slaTiers?.list() ?? [],
      alerts: () => sources.alerts?.list() ?? [],
      governanceRulesets: () => sources.governanceRulesets?.list() ?? [],
      reservedNamespaces: reserved,
      platform,
    });
  const notifies = all.every((s) => typeof s.addHandler === 'function');
  let cached: Snapshot | undefined;
  if (notifies) {
    const changed = () => { cached = undefined; };
    for (const s of all) s.addHandler!({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }
  return {
    hasSynced: () => all.every((s) => s.hasSynced()),
    current: () => (notifies ? (cached ??= build()) : build()),
  };
}

/** A SnapshotSource that always returns the same snapshot (tests, tools). */
export function staticSnapshotSource(snapshot: Snapshot, synced = true): SnapshotSource {
  return { hasSynced: () => synced, current: () => snapshot };
}
