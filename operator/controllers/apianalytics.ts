// Writes each ApiInstance's status.analytics as API Manager shows it: the
// 5-minute figures, the 24-hour figures with p50/p99 latency per API and per
// client (summed over every gateway replica, gateway-stats.ts), the approved
// Contracts and the registration state (Active, Inactive, Unregistered). Runs
// on an interval (interval.ts) and writes only when the figures change, so at
// most once per interval per instance, never per request.
import type { Manager } from '../../kube/controller.ts';
import { describeError } from '../../kube/kube.ts';
import { indexBy } from '../../kube/index-by.ts';
import { rfc3339 } from '../../kube/conditions.ts';
import type { ApiInstance, Contract } from '../../api/v1alpha1/index.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { groupsOfInstance } from '../../model/api-group.ts';
import { clientNameable, instanceReaders } from '../../model/analytics-visibility.ts';
import { APIINSTANCES, CONTRACTS } from '../resources.ts';
import type { GatewayStats } from './gateway-stats.ts';
import type { Deps } from './deps.ts';
import { addIntervalController } from './interval.ts';
import { analyticsChanged, analyticsStatus, approvedContracts, type AnalyticsStatus } from './apianalytics-desired.ts';
import { snapshotReader } from './snapshot.ts';

type I = ApiInstance & { kind: string; apiVersion: string };
type C = Contract & { kind: string };

/** The field manager of status.analytics (server-side apply). */
export const APIANALYTICS_MANAGER = 'crossgate-apianalytics';

/** The gateway's recent window (metrics.ts RecentWindow). */
const RECENT_WINDOW_SECONDS = 300;

/** The index key of a Contract's target: "ns/instance/name" or "ns/group/name". */
const targetKey = (ns: string | undefined, what: 'instance' | 'group', name: string | undefined) => `${ns}/${what}/${name}`;

export function registerApiAnalyticsController(mgr: Manager, deps: Deps & { stats: GatewayStats; intervalMs: number; settings?: PlatformSettings }): void {
  if (deps.stats.urls.length === 0) return; // nothing to read from
  const contracts = mgr.informer<C>(CONTRACTS);
  const byTarget = indexBy(contracts, (c) =>
    c.spec?.apiGroupRef ? targetKey(c.metadata?.namespace, 'group', c.spec.apiGroupRef.name) : targetKey(c.metadata?.namespace, 'instance', c.spec?.apiInstanceRef?.name),
  );
  const snapshot = snapshotReader(mgr, deps.settings);
  const found = (keys: string[]) => keys.map((k) => contracts.get(k)).filter((c): c is C => c !== undefined);
  // One read of every replica serves every instance within half an interval.
  const maxAgeMs = Math.max(2000, deps.intervalMs / 2);

  addIntervalController<I>(mgr, 'apianalytics', APIINSTANCES, async (inst, key, ctx) => {
    let recent, day;
    try {
      [recent, day] = await Promise.all([deps.stats.read(), deps.stats.readDay(maxAgeMs)]);
    } catch (err) {
      ctx.log.debug({ err: describeError(err) }, 'gateway summary unavailable');
      return { requeueAfterMs: deps.intervalMs };
    }
    const ns = inst.metadata?.namespace;
    const snap = snapshot();
    const groups = groupsOfInstance(snap, inst);
    const candidates = [...byTarget(targetKey(ns, 'instance', inst.metadata?.name)), ...groups.flatMap((g) => byTarget(targetKey(g.metadata?.namespace, 'group', g.metadata?.name)))];
    const prev = deps.status.current(inst)?.analytics as Partial<AnalyticsStatus> | undefined;
    const next = analyticsStatus({
      key,
      recent: recent.get(key),
      recentWindowSeconds: RECENT_WINDOW_SECONDS,
      day,
      contracts: approvedContracts(inst, found(candidates), groups),
      // Peers the instance is shared with read this status: another peer's clients are not named there.
      nameable: clientNameable(snap, inst, instanceReaders(snap, inst)),
      previous: prev,
      now: new Date(),
      rfc3339,
    });
    // status.analytics only: the rest is the ApiInstance reconciler's (its own field manager).
    if (analyticsChanged(prev, next)) await deps.status.applyStatus(inst, APIINSTANCES.plural, { analytics: next }, APIANALYTICS_MANAGER);
    return { requeueAfterMs: deps.intervalMs };
  });
}
