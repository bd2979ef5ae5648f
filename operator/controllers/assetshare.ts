// AssetShare reconciler: for each peer with mutual trust, a Role granting
// get/list/watch on exactly the shared object and a RoleBinding to the peer's
// member groups; for every other peer, no RBAC and a Suspended state that says
// why. A finalizer removes the RBAC wherever owner references cannot reach.
import type { V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { isAlreadyExists } from '../../kube/kube.ts';
import { ownConditions, rfc3339, type Condition } from '../../kube/conditions.ts';
import { deleteIfExists, ensureFinalizer, removeFinalizer } from '../../kube/effects.ts';
import type { AssetShare, OrgTrust } from '../../api/v1alpha1/index.ts';
import { ANNOTATION_SHARE, FINALIZER_ASSETSHARE, LABEL_SHARE_UID } from '../../api/labels.ts';
import {
  APIGROUPS, APIINSTANCES, ASSETS, ASSETSHARES, MANAGED_ROLEBINDINGS, MANAGED_ROLES, ORGANIZATIONS, ORGTRUSTS, objectPath,
} from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { affectedByTrust, desiredShareRbac, homeOwner, shareGrants } from './trust-desired.ts';
import { grantBelongsTo, grantsToSweep } from '../../model/share-grant.ts';
import type { Deps } from './deps.ts';

type Share = AssetShare & { kind: string; apiVersion: string };

/** The field manager of an AssetShare's status (server-side apply). */
export const ASSETSHARE_MANAGER = 'crossgate-assetshare';

/** The sweep controller's one key. */
const SWEEP_KEY = 'sweep';
/** Default interval between two sweeps of share grants (CROSSGATE_SHARE_SWEEP_INTERVAL_MS). */
export const DEFAULT_SHARE_SWEEP_INTERVAL_MS = 60_000;
const objectKeyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace}/${o.metadata?.name}`;

export function registerAssetShareController(mgr: Manager, deps: Deps & { workers?: number; sweepIntervalMs?: number }): void {
  const sweepIntervalMs = deps.sweepIntervalMs ?? DEFAULT_SHARE_SWEEP_INTERVAL_MS;
  const shares = mgr.informer<Share>(ASSETSHARES);
  const roles = mgr.informer<V1Role>(MANAGED_ROLES);
  const bindings = mgr.informer<V1RoleBinding>(MANAGED_ROLEBINDINGS);
  const snapshot = snapshotReader(mgr);
  const allShares = () => shares.list().map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  const sharesOfTarget = (kind: string) => (obj: { metadata?: { namespace?: string; name?: string } }) =>
    shares
      .list()
      .filter((s) => s.spec.targetRef.kind === kind && s.spec.targetRef.name === obj.metadata?.name && (s.spec.targetRef.namespace ?? s.metadata.namespace) === obj.metadata?.namespace)
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  const byAnnotation = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations?.[ANNOTATION_SHARE] ?? [];

  mgr.addController({
    name: 'assetshare',
    for: ASSETSHARES,
    // Shares are independent of each other (their RBAC carries their uid); the queue never runs one key twice at once.
    workers: deps.workers,
    watches: [
      { resource: ORGTRUSTS, map: (t) => affectedByTrust(snapshot(), t as OrgTrust).shares },
      { resource: ORGANIZATIONS, map: () => allShares() },
      // A target's existence matters, not its status (an ApiInstance's moves with every analytics interval).
      { resource: ASSETS, map: sharesOfTarget('Asset'), predicate: specOrDeletionChanged },
      { resource: APIINSTANCES, map: sharesOfTarget('ApiInstance'), predicate: specOrDeletionChanged },
      { resource: APIGROUPS, map: sharesOfTarget('ApiGroup'), predicate: specOrDeletionChanged },
      // Someone deleted or edited a grant: put it back (or remove it).
      { resource: MANAGED_ROLES, map: byAnnotation },
      { resource: MANAGED_ROLEBINDINGS, map: byAnnotation },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const share = shares.get(key);
      if (!share) return;
      if (share.metadata.deletionTimestamp) return finalize(share, ctx);
      // Outside an organization's home namespace nothing is granted, so nothing needs a finalizer.
      if (homeOwner(snapshot(), share.metadata.namespace!) && (await ensureFinalizer(deps.http, ASSETSHARES, share, FINALIZER_ASSETSHARE))) return;
      await reconcileShare(share, ctx);
    },
  });

  // The sweep: share Roles and RoleBindings that no live share grants go, at start and every
  // sweepIntervalMs, whatever happened to the finalizer (removed by hand, a share deleted while
  // the operator was down) or to the share's target (a namespace moved to another organization).
  const sweeper = mgr.addController({
    name: 'assetshare-sweep',
    for: { ...MANAGED_ROLES, predicate: () => false }, // the interval and share deletions drive it
    watches: [{ resource: ASSETSHARES, map: () => SWEEP_KEY, predicate: (e) => e.type === 'delete' }],
    reconcile: async (_key: string, ctx: ReconcileContext) => {
      const snap = snapshot();
      const wanted = new Map<string, Set<string>>();
      for (const share of shares.list()) {
        if (share.metadata.deletionTimestamp) continue; // a share being deleted grants nothing any more
        wanted.set(share.metadata.uid!, new Set(shareGrants(snap, share).wanted.keys()));
      }
      const staleBindings = grantsToSweep(bindings.list(), wanted);
      const staleRoles = grantsToSweep(roles.list(), wanted);
      for (const rb of staleBindings) await remove(MANAGED_ROLEBINDINGS, rb.metadata!.namespace!, rb.metadata!.name!);
      for (const r of staleRoles) await remove(MANAGED_ROLES, r.metadata!.namespace!, r.metadata!.name!);
      if (staleBindings.length + staleRoles.length > 0) {
        ctx.log.info({ roleBindings: staleBindings.map(objectKeyOf), roles: staleRoles.map(objectKeyOf) }, 'swept share grants no share grants any more');
      }
      return { requeueAfterMs: sweepIntervalMs };
    },
  });
  sweeper.enqueue(SWEEP_KEY);

  async function reconcileShare(share: Share, ctx: ReconcileContext): Promise<void> {
    const { states, wanted } = shareGrants(snapshot(), share);
    const uid = share.metadata.uid!;
    // Desired RBAC for active peers; a name held by another share's (or anyone's) object is never overwritten,
    // and both names are looked at before either object is written: never half a grant beside another's object.
    for (const s of states) {
      const rbac = s.state === 'Active' && s.peer ? desiredShareRbac(share, s.peer) : undefined;
      if (!rbac) continue;
      const k = `${rbac.role.metadata!.namespace}/${rbac.role.metadata!.name}`;
      const role = await lookUp(MANAGED_ROLES, uid, rbac.role, roles.get(k));
      const binding = await lookUp(MANAGED_ROLEBINDINGS, uid, rbac.binding, bindings.get(k));
      const taken = role.taken ?? binding.taken;
      if (taken) {
        wanted.delete(k);
        Object.assign(s, { state: 'Suspended', peer: undefined, reason: 'GrantNameTaken', message: `${taken} already exists and does not belong to this share: nothing was granted; delete it or ask a platform admin` });
        continue;
      }
      await write(MANAGED_ROLES, rbac.role, role.found, (a, b) => JSON.stringify(a.rules) === JSON.stringify(b.rules));
      await write(MANAGED_ROLEBINDINGS, rbac.binding, binding.found, (a, b) => JSON.stringify(a.subjects ?? []) === JSON.stringify(b.subjects ?? []) && a.roleRef.name === b.roleRef.name);
    }
    for (const rb of bindings.list()) {
      const k = `${rb.metadata!.namespace}/${rb.metadata!.name}`;
      if (rb.metadata?.labels?.[LABEL_SHARE_UID] === uid && !wanted.has(k)) await remove(MANAGED_ROLEBINDINGS, rb.metadata!.namespace!, rb.metadata!.name!);
    }
    for (const r of roles.list()) {
      const k = `${r.metadata!.namespace}/${r.metadata!.name}`;
      if (r.metadata?.labels?.[LABEL_SHARE_UID] === uid && !wanted.has(k)) await remove(MANAGED_ROLES, r.metadata!.namespace!, r.metadata!.name!);
    }

    // Status: per peer, with transitions as Events.
    const now = rfc3339(new Date());
    const was = deps.status.current(share);
    const previousPeers = was?.peers ?? [];
    const peers = states.map((s) => {
      const before = previousPeers.find((p) => p.domain === s.domain);
      const changed = before?.state !== s.state;
      if (changed) {
        if (s.state === 'Active') deps.events.normal(share, 'PeerActive', `${s.domain}: ${s.message}`);
        else deps.events.warning(share, 'PeerSuspended', `${s.domain}: ${s.message}`);
        ctx.log.info({ peer: s.domain, state: s.state, reason: s.reason }, 'share state changed');
      }
      const rbName = s.state === 'Active' && s.peer ? desiredShareRbac(share, s.peer).binding.metadata!.name : undefined;
      return {
        domain: s.domain,
        state: s.state,
        reason: s.reason,
        message: s.message,
        ...(rbName ? { roleBinding: rbName } : {}),
        lastTransitionTime: changed || !before?.lastTransitionTime ? now : before.lastTransitionTime,
      };
    });
    const active = peers.filter((p) => p.state === 'Active').length;
    const suspended = peers.filter((p) => p.state !== 'Active');
    const generation = share.metadata.generation ?? 0;
    const previous: Condition[] = was?.conditions ?? [];
    const ready =
      suspended.length === 0
        ? { type: 'Ready', status: 'True' as const, reason: 'Shared', message: `shared view-only with ${peers.map((p) => p.domain).join(', ')}` }
        : {
            type: 'Ready',
            status: 'False' as const,
            reason: suspended.length === peers.length ? 'Suspended' : 'PartiallySuspended',
            message: suspended.map((p) => `${p.domain}: ${p.message}`).join('; '),
          };
    await deps.status.applyStatus(
      share,
      ASSETSHARES.plural,
      { observedGeneration: generation, conditions: ownConditions(previous, [ready], generation), peers, activePeers: active },
      ASSETSHARE_MANAGER,
    );
  }

  /**
   * The object of `desired`'s name as it stands (the cache, else the server: another's object is not in the cache),
   * or what blocks the name ("Role "x" in namespace "y"") when that object is not the share's. The server is asked
   * with a list by name: the operator may list Roles and RoleBindings, not get them (api/rbac.ts).
   */
  async function lookUp<T extends V1Role | V1RoleBinding>(res: typeof MANAGED_ROLES, uid: string, desired: T, cached: T | undefined): Promise<{ found?: T; taken?: string }> {
    const ns = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    const found = cached ?? (await deps.http.request<{ items?: T[] }>('GET', objectPath(res, ns), { query: { fieldSelector: `metadata.name=${name}` } })).items?.[0];
    return found && !grantBelongsTo(found, uid) ? { taken: `${res.kind} "${name}" in namespace "${ns}"` } : { found };
  }

  /** Create or update one grant object whose name lookUp found free (`found` undefined) or the share's. */
  async function write<T extends V1Role | V1RoleBinding>(res: typeof MANAGED_ROLES, desired: T, found: T | undefined, same: (a: T, b: T) => boolean): Promise<void> {
    const ns = desired.metadata!.namespace!;
    const name = desired.metadata!.name!;
    if (!found) {
      await deps.http.request('POST', objectPath(res, ns), { body: desired }).catch((err) => {
        throw isAlreadyExists(err) ? new Error(`${res.kind} "${name}" in namespace "${ns}" appeared meanwhile; will look again`) : err;
      });
      return;
    }
    if (same(found, desired)) return;
    if ('roleRef' in found && 'roleRef' in desired && found.roleRef.name !== desired.roleRef.name) {
      await remove(res, ns, name); // roleRef is immutable
      await deps.http.request('POST', objectPath(res, ns), { body: desired });
      return;
    }
    await deps.http.request('PUT', objectPath(res, ns, name), { body: { ...desired, metadata: { ...desired.metadata, resourceVersion: found.metadata?.resourceVersion } } });
  }

  async function remove(res: typeof MANAGED_ROLES, namespace: string, name: string): Promise<void> {
    await deleteIfExists(deps.http, objectPath(res, namespace, name));
  }

  async function finalize(share: Share, ctx: ReconcileContext): Promise<void> {
    const uid = share.metadata.uid!;
    for (const rb of bindings.list()) if (rb.metadata?.labels?.[LABEL_SHARE_UID] === uid) await remove(MANAGED_ROLEBINDINGS, rb.metadata!.namespace!, rb.metadata!.name!);
    for (const r of roles.list()) if (r.metadata?.labels?.[LABEL_SHARE_UID] === uid) await remove(MANAGED_ROLES, r.metadata!.namespace!, r.metadata!.name!);
    await removeFinalizer(deps.http, ASSETSHARES, share, FINALIZER_ASSETSHARE);
    ctx.log.info('removed the grants of a deleted share');
  }
}
