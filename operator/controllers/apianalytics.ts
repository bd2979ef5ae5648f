// Copies each ApiInstance's recent traffic (requests, error %, mean latency
// over the gateway's window) into its status, as API Manager shows it. Runs on
// an interval (interval.ts) and writes only when the figures change.
import type { Manager } from '../../kube/controller.ts';
import { describeError } from '../../kube/kube.ts';
import { rfc3339 } from '../../kube/conditions.ts';
import type { ApiInstance } from '../../api/v1alpha1/index.ts';
import { APIINSTANCES } from '../resources.ts';
import type { GatewayStats } from './gateway-stats.ts';
import type { Deps } from './deps.ts';
import { addIntervalController } from './interval.ts';

type I = ApiInstance & { kind: string; apiVersion: string };

/** The field manager of status.analytics (server-side apply). */
export const APIANALYTICS_MANAGER = 'crossgate-apianalytics';

export function registerApiAnalyticsController(mgr: Manager, deps: Deps & { stats: GatewayStats; intervalMs: number }): void {
  if (deps.stats.urls.length === 0) return; // nothing to read from
  addIntervalController<I>(mgr, 'apianalytics', APIINSTANCES, async (inst, key, ctx) => {
    let figures;
    const window = 300; // the gateway keeps five minutes
    try {
      const all = await deps.stats.read();
      figures = all.get(key);
    } catch (err) {
      ctx.log.debug({ err: describeError(err) }, 'gateway summary unavailable');
      return { requeueAfterMs: deps.intervalMs };
    }
    const requests = figures?.requests ?? 0;
    const errorPercent = requests ? Math.round(((figures!.clientErrors + figures!.serverErrors) / requests) * 1000) / 10 : 0;
    const meanMs = figures?.meanMs ?? 0;
    const prev = deps.status.current(inst)?.analytics;
    if (!prev || prev.requests !== requests || prev.errorPercent !== errorPercent || prev.meanMs !== meanMs || prev.windowSeconds !== window) {
      // status.analytics only: the rest is the ApiInstance reconciler's (its own field manager).
      await deps.status.applyStatus(
        inst,
        APIINSTANCES.plural,
        { analytics: { windowSeconds: window, requests, errorPercent, meanMs, updated: rfc3339(new Date()) } },
        APIANALYTICS_MANAGER,
      );
    }
    return { requeueAfterMs: deps.intervalMs };
  });
}
