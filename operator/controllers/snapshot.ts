// The model's Snapshot over the operator's informer caches, so reconcilers and
// the webhook decide ownership and trust with the same code.
import type { V1Namespace } from '@kubernetes/client-node';
import type { Manager } from '../../kube/controller.ts';
import type { Informer } from '../../kube/informer.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import type { ApiGroup, ApiInstance, Asset, AssetShare, Organization, OrgTrust } from '../../api/v1alpha1/index.ts';
import { snapshotFrom, type Snapshot } from '../../model/snapshot.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { APIGROUPS, APIINSTANCES, ASSETS, ASSETSHARES, NAMESPACES, ORGANIZATIONS, ORGTRUSTS } from '../resources.ts';

/** Calls `fn` when the informer's cache changes (an add, a delete, an update that is not a resync). */
export function onChange<T extends KubernetesObject>(informer: Informer<T>, fn: () => void): () => void {
  return informer.addHandler({ onAdd: fn, onUpdate: (a, b) => { if (a !== b) fn(); }, onDelete: fn });
}

/** `platform`: the platform settings route verdicts read (api/platform.ts); none when absent (the strictest). */
export function snapshotReader(mgr: Manager, platform?: PlatformSettings): () => Snapshot {
  const orgs = mgr.informer<Organization & { kind: string }>(ORGANIZATIONS);
  const namespaces = mgr.informer<V1Namespace>(NAMESPACES);
  const trusts = mgr.informer<OrgTrust & { kind: string }>(ORGTRUSTS);
  const assets = mgr.informer<Asset & { kind: string }>(ASSETS);
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const shares = mgr.informer<AssetShare & { kind: string }>(ASSETSHARES);
  const groups = mgr.informer<ApiGroup & { kind: string }>(APIGROUPS);
  // One snapshot until one of its collections changes: reconcilers call this once or twice per key, and
  // copying and indexing six lists each time would cost O(instances + shares) per key.
  let cached: Snapshot | undefined;
  const invalidate = () => {
    cached = undefined;
  };
  const follow = <T extends KubernetesObject>(informer: Informer<T>) => onChange(informer, invalidate);
  follow(orgs);
  follow(namespaces);
  follow(trusts);
  follow(assets);
  follow(instances);
  follow(shares);
  follow(groups);
  return () =>
    (cached ??= snapshotFrom({
      organizations: orgs.list(),
      namespaces: namespaces.list(),
      orgTrusts: trusts.list(),
      assets: assets.list(),
      apiInstances: instances.list(),
      assetShares: shares.list(),
      apiGroups: groups.list(),
      ...(platform ? { platform } : {}),
    }));
}
