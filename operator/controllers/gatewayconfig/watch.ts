// Dirty tracking: events mark the ApiKeys and Applications whose entries may
// have changed (the key or app itself, its Secret, its Contracts; its
// instances' tiers and the instances)
// and whether the routes must be rendered again. Changes that can move access
// for any key (Organizations, trust, namespaces) mark all.
import type { V1Secret } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager } from '../../../kube/controller.ts';
import type { KubernetesObject } from '../../../kube/keys.ts';
import type { ApiGroup, ApiInstance, ApiKey, Application, AssetShare, Contract, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import { LABEL_APIKEY, LABEL_APPLICATION } from '../../../api/labels.ts';
import { APIGROUPS, APIINSTANCES, APIKEYS, APP_SECRETS, APPLICATIONS, ASSETSHARES, CONTRACTS, KEY_SECRETS, NAMESPACES, ORGANIZATIONS, ORGTRUSTS, POLICIES, SLATIERS } from '../../resources.ts';
import { APP_OWNER_PREFIX, appId, keyId } from './credentials.ts';
import type { GatewayStates } from './state.ts';
import { appsOfTrust, keysOfTrust } from '../access-pairs.ts';
import type { Snapshot } from '../../../model/snapshot.ts';
import { snapshotReader } from '../snapshot.ts';

/** Registers the handlers that mark `states`; `onInstances` runs on every change of an ApiInstance. */
/** `ownersOfGroup`: the credential owner ids (apps, "Application ns/name") that list the ApiGroup "ns/name". */
export function watchChanges(
  mgr: Manager, states: GatewayStates, onInstances: () => void, ownersOfGroup: (group: string) => Iterable<string> = () => [], snapshot: () => Snapshot = snapshotReader(mgr),
): void {
  // Only changes that can move a key's entries: spec (generation), deletion, labels; not the status
  // writes of the other controllers (a tier's contract count moves at every approval) nor resyncs
  // (a full pass every FULL_PASS_MS is the safety net instead).
  const changed = (a: KubernetesObject, b: KubernetesObject) => specOrDeletionChanged({ type: 'update', oldObj: a, obj: b });
  const markKey = (k: ApiKey) => states.markKey(keyId(k));
  mgr.informer<ApiKey & { kind: string }>(APIKEYS).addHandler({
    onAdd: markKey,
    onUpdate: (a, b) => { if (changed(a, b)) markKey(b); },
    onDelete: markKey,
  });
  // A key Secret changes only when its hashes do (issue, rotation, end of a grace period).
  const onSecret = (sec: V1Secret) => { const owner = sec.metadata?.labels?.[LABEL_APIKEY]; if (owner) states.markKey(`${sec.metadata?.namespace}/${owner}`); };
  mgr.informer<V1Secret>(KEY_SECRETS).addHandler({ onAdd: onSecret, onUpdate: (a, b) => { if (a === b) return; onSecret(a); onSecret(b); }, onDelete: onSecret });
  // Applications are owners "Application ns/name" (credentials.ts appId): the app, its Secret and its Contracts mark it.
  const markApp = (a: Application) => states.markKey(appId(a));
  mgr.informer<Application & { kind: string }>(APPLICATIONS).addHandler({
    onAdd: markApp,
    onUpdate: (a, b) => { if (changed(a, b)) markApp(b); },
    onDelete: markApp,
  });
  const onAppSecret = (sec: V1Secret) => { const owner = sec.metadata?.labels?.[LABEL_APPLICATION]; if (owner) states.markKey(`${APP_OWNER_PREFIX}${sec.metadata?.namespace}/${owner}`); };
  mgr.informer<V1Secret>(APP_SECRETS).addHandler({ onAdd: onAppSecret, onUpdate: (a, b) => { if (a === b) return; onAppSecret(a); onAppSecret(b); }, onDelete: onAppSecret });
  const onContract = (c: Contract) => {
    const { kind, namespace, name } = c.spec.consumer;
    states.markKey(kind === 'Application' ? `${APP_OWNER_PREFIX}${namespace}/${name}` : `${namespace}/${name}`);
  };
  mgr.informer<Contract & { kind: string }>(CONTRACTS).addHandler({ onAdd: onContract, onUpdate: (a, b) => { if (!changed(a, b)) return; onContract(a); onContract(b); }, onDelete: onContract });
  // The routes (instances, their policies and tiers) are rendered again only after one of those changed.
  const onRoutes = () => states.routesChanged();
  mgr.informer<Policy & { kind: string }>(POLICIES).addHandler({ onAdd: onRoutes, onUpdate: (a, b) => { if (changed(a, b)) onRoutes(); }, onDelete: onRoutes });
  const markGroup = (ns: string | undefined, name: string) => { for (const o of ownersOfGroup(`${ns}/${name}`)) states.markKey(o); };
  // A group tier is on every member's route and named by the group's grants.
  const onTier = (t: SlaTier) => {
    onRoutes();
    if (t.spec.apiGroupRef) markGroup(t.metadata.namespace, t.spec.apiGroupRef.name);
    else states.markInstance(`${t.metadata.namespace}/${t.spec.apiInstanceRef?.name}`);
  };
  mgr.informer<SlaTier & { kind: string }>(SLATIERS).addHandler({ onAdd: onTier, onUpdate: (a, b) => { if (!changed(a, b)) return; onTier(a); onTier(b); }, onDelete: onTier });
  const onInstance = (i: ApiInstance) => { onInstances(); onRoutes(); states.markInstance(`${i.metadata.namespace}/${i.metadata.name}`); };
  mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES).addHandler({ onAdd: onInstance, onUpdate: (a, b) => { if (!changed(a, b)) return; onInstance(a); onInstance(b); }, onDelete: onInstance });
  // A share reaches only the keys of the ApiInstance it shares (model/access.ts); trust, Organizations
  // and namespace labels can move any key.
  const onShare = (sh: AssetShare) => {
    if (sh.spec.targetRef.kind === 'ApiInstance') states.markInstance(`${sh.spec.targetRef.namespace ?? sh.metadata.namespace}/${sh.spec.targetRef.name}`);
    if (sh.spec.targetRef.kind === 'ApiGroup') markGroup(sh.spec.targetRef.namespace ?? sh.metadata.namespace, sh.spec.targetRef.name);
  };
  // A group's members decide its grants' routes and where its tiers are: the routes and the group's apps.
  const onGroup = (g: ApiGroup) => { onRoutes(); markGroup(g.metadata.namespace, g.metadata.name!); };
  mgr.informer<ApiGroup & { kind: string }>(APIGROUPS).addHandler({ onAdd: onGroup, onUpdate: (a, b) => { if (!changed(a, b)) return; onGroup(a); onGroup(b); }, onDelete: onGroup });
  mgr.informer<AssetShare & { kind: string }>(ASSETSHARES).addHandler({ onAdd: onShare, onUpdate: (a, b) => { if (!changed(a, b)) return; onShare(a); onShare(b); }, onDelete: onShare });
  // Organizations and namespaces (platform admins') can move any key; route verdicts also read them (route
  // claims, allowed upstream hosts, namespace ownership).
  for (const resource of [ORGANIZATIONS, NAMESPACES]) {
    const on = () => {
      states.markAll();
      onRoutes();
    };
    mgr.informer(resource).addHandler({ onAdd: on, onUpdate: (a, b) => { if (changed(a, b)) on(); }, onDelete: on });
  }
  // An OrgTrust (an organization's, written as often as it likes) moves only the keys and apps between its two
  // organizations (access-pairs.ts): marking every key made each write a full recompute, which held back revocations.
  const keysOf = keysOfTrust(mgr.informer<ApiKey & { kind: string }>(APIKEYS), snapshot);
  const appsOf = appsOfTrust(mgr.informer<Application & { kind: string }>(APPLICATIONS), snapshot);
  const onTrust = (t: unknown) => {
    for (const k of keysOf(t)) states.markKey(k);
    for (const a of appsOf(t)) states.markKey(`${APP_OWNER_PREFIX}${a}`);
  };
  mgr.informer(ORGTRUSTS).addHandler({ onAdd: onTrust, onUpdate: (a, b) => { if (!changed(a, b)) return; onTrust(a); onTrust(b); }, onDelete: onTrust });
}
