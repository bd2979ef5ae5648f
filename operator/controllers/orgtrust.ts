// OrgTrust reconciler: reports whether trust is mutual (condition Mutual) and
// what the peer shares with this organization (status.sharedWithMe): re-reconciled
// when a share changes and when a shared target (Asset, ApiInstance, ApiGroup)
// appears or goes, since a share lists its target only while it exists.
import { specOrDeletionChanged, type Manager, type ReconcileContext } from '../../kube/controller.ts';
import { isTrue, ownConditions, type Condition } from '../../kube/conditions.ts';
import { conditionChanged } from '../../kube/effects.ts';
import type { AssetShare, OrgTrust } from '../../api/v1alpha1/index.ts';
import { organizationByDomain } from '../../model/ownership.ts';
import { APIGROUPS, APIINSTANCES, ASSETS, ASSETSHARES, ORGANIZATIONS, ORGTRUSTS } from '../resources.ts';
import { snapshotReader } from './snapshot.ts';
import { affectedByTrust, homeOwner, sharedWith, targetNamespace } from './trust-desired.ts';
import { mutualTrust } from '../../model/trust.ts';
import type { Deps } from './deps.ts';

/** The field manager of an OrgTrust's status (server-side apply). */
export const ORGTRUST_MANAGER = 'crossgate-orgtrust';

export function registerOrgTrustController(mgr: Manager, deps: Deps): void {
  const trusts = mgr.informer<OrgTrust & { kind: string; apiVersion: string }>(ORGTRUSTS);
  const snapshot = snapshotReader(mgr);
  const allTrusts = () => trusts.list().map((t) => `${t.metadata.namespace}/${t.metadata.name}`);
  // The trusts (in each peer's home namespace, named after the owner's domain) whose sharedWithMe a share can list.
  const trustsOfShare = (share: AssetShare): string[] => {
    const snap = snapshot();
    const owner = homeOwner(snap, share.metadata.namespace!);
    if (!owner) return [];
    return share.spec.peers.flatMap((p) => {
      const peer = organizationByDomain(snap, p.domain);
      return peer ? [`${peer.spec.homeNamespace}/${owner.spec.domain}`] : [];
    });
  };
  // A share lists its target only while the target exists (sharedWith): the target appearing or going moves the peers' lists.
  const trustsOfTarget = (kind: AssetShare['spec']['targetRef']['kind']) => (o: { metadata?: { namespace?: string; name?: string } }) =>
    snapshot()
      .assetShares() // in the owner's home namespace, whatever the target's
      .filter((s) => s.spec.targetRef.kind === kind && s.spec.targetRef.name === o.metadata?.name && targetNamespace(s) === o.metadata?.namespace)
      .flatMap(trustsOfShare);

  mgr.addController({
    name: 'orgtrust',
    for: ORGTRUSTS,
    watches: [
      // The peer's trust in us decides Mutual.
      { resource: ORGTRUSTS, map: (t) => affectedByTrust(snapshot(), t as OrgTrust).trusts },
      { resource: ORGANIZATIONS, map: () => allTrusts() },
      // A peer's share naming us changes our sharedWithMe.
      { resource: ASSETSHARES, map: (s) => trustsOfShare(s as AssetShare) },
      // Its target's existence, not its status (an ApiInstance's moves with every analytics interval).
      { resource: ASSETS, map: trustsOfTarget('Asset'), predicate: specOrDeletionChanged },
      { resource: APIINSTANCES, map: trustsOfTarget('ApiInstance'), predicate: specOrDeletionChanged },
      { resource: APIGROUPS, map: trustsOfTarget('ApiGroup'), predicate: specOrDeletionChanged },
    ],
    reconcile: async (key: string, ctx: ReconcileContext) => {
      const trust = trusts.get(key);
      if (!trust || trust.metadata.deletionTimestamp) return;
      const snap = snapshot();
      const generation = trust.metadata.generation ?? 0;
      const previous: Condition[] = deps.status.current(trust)?.conditions ?? [];
      const owner = homeOwner(snap, trust.metadata.namespace!);
      let verdict: { ok: boolean; reason: string; message: string };
      let entries: ReturnType<typeof sharedWith> = [];
      let peerName: string | undefined;
      // The peer recorded when trust first became mutual stays until the OrgTrust is re-created (model/trust.ts: PeerReplaced).
      let peerUid: string | undefined = deps.status.current(trust)?.peerUid ?? trust.status?.peerUid;
      if (!owner) {
        verdict = { ok: false, reason: 'NoOrganization', message: `namespace "${trust.metadata.namespace}" is no Organization's homeNamespace` };
      } else {
        const m = mutualTrust(snap, owner, trust.spec.peerDomain);
        verdict = m;
        peerName = m.peer?.metadata.name;
        if (m.ok && !peerUid) peerUid = m.peer?.metadata.uid;
        if (m.ok && m.peer) entries = sharedWith(snap, owner, m.peer);
      }
      const status = verdict.ok ? ('True' as const) : ('False' as const);
      const mutual = { type: 'Mutual', status, reason: verdict.reason, message: verdict.message };
      // Not reportConditionChange: trust has its own Event reasons, and only a withdrawal warns.
      if (conditionChanged(previous, mutual)) {
        if (verdict.ok) deps.events.normal(trust, 'TrustMutual', verdict.message);
        else if (isTrue(previous, 'Mutual')) deps.events.warning(trust, 'TrustWithdrawn', verdict.message);
        else deps.events.normal(trust, verdict.reason, verdict.message);
        ctx.log.info({ mutual: verdict.ok, reason: verdict.reason }, 'trust state');
      }
      await deps.status.applyStatus(
        trust,
        ORGTRUSTS.plural,
        {
          observedGeneration: generation,
          conditions: ownConditions(previous, [mutual], generation),
          peerUid,
          mutual: verdict.ok,
          peerOrganization: peerName, // removed while no peer Organization has the domain
          sharedWithMe: entries,
          sharedWithMeCount: entries.length,
        },
        ORGTRUST_MANAGER,
      );
    },
  });
}
