// The model's Snapshot over the operator's informer caches, so reconcilers and
// the webhook decide ownership and trust with the same code.
import type { V1Namespace } from '@kubernetes/client-node';
import type { Manager } from '../lib/controller.ts';
import type { ApiInstance, Asset, AssetShare, Organization, OrgTrust } from '../../api/v1alpha1/index.ts';
import { snapshotFrom, type Snapshot } from '../../model/snapshot.ts';
import { APIINSTANCES, ASSETS, ASSETSHARES, NAMESPACES, ORGANIZATIONS, ORGTRUSTS } from '../resources.ts';

export function snapshotReader(mgr: Manager): () => Snapshot {
  const orgs = mgr.informer<Organization & { kind: string }>(ORGANIZATIONS);
  const namespaces = mgr.informer<V1Namespace>(NAMESPACES);
  const trusts = mgr.informer<OrgTrust & { kind: string }>(ORGTRUSTS);
  const assets = mgr.informer<Asset & { kind: string }>(ASSETS);
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const shares = mgr.informer<AssetShare & { kind: string }>(ASSETSHARES);
  return () =>
    snapshotFrom({
      organizations: orgs.list(),
      namespaces: namespaces.list(),
      orgTrusts: trusts.list(),
      assets: assets.list(),
      apiInstances: instances.list(),
      assetShares: shares.list(),
    });
}
