// Alert reconciler: every interval, reads the watched API's recent traffic
// from the gateway replicas' admin endpoints (/summary), evaluates the
// condition, and on a state change records an Event, updates status and
// POSTs an Alertmanager-compatible notification. notify.url is judged again
// before every POST (model/upstream.ts, as at admission): a refused URL is not
// called; the connection goes to an address the connect guard checked after
// resolving the name (kube/connect-guard.ts: a name that resolves to loopback
// or link-local is refused, as for upstreams); redirects are not followed. The
// status says only delivered or not: the receiver's status code, error and
// timing go to the operator's log, never to the status or an Event (a tenant
// must not be able to scan addresses from the operator's pod). A notification
// runs in its namespace's lane (alert-lanes.ts), not on the worker: its record
// is written by the reconcile that follows it.
import type { Manager } from '../../kube/controller.ts';
import { ownConditions, rfc3339, type Condition, type ConditionInput } from '../../kube/conditions.ts';
import { describeError } from '../../kube/kube.ts';
import type { Alert } from '../../api/v1alpha1/index.ts';
import { crossgate } from '../resources.ts';
import { EMPTY_STATS, alertValue, alertmanagerPayload, describeCondition, notificationRecord, type WindowStats } from './alert-desired.ts';
import type { GatewayStats } from './gateway-stats.ts';
import type { Deps } from './deps.ts';
import { NO_PLATFORM_SETTINGS, type PlatformSettings } from '../../api/platform.ts';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { ConnectGuard } from '../../kube/connect-guard.ts';
import { outboundUrlProblem } from '../../model/upstream.ts';
import { snapshotReader } from './snapshot.ts';
import { addIntervalController } from './interval.ts';
import { NotificationLanes } from './alert-lanes.ts';
import { alertLimitProblem, countedAlerts } from '../../model/alert-limit.ts';
import { indexBy } from '../../kube/index-by.ts';

export const ALERTS = crossgate('Alert');
type A = Alert & { kind: string; apiVersion: string };

/** The Ready message while the gateway cannot be read: the same for every Alert, naming no replica address. */
export const GATEWAY_UNREACHABLE = "the gateway replicas' traffic summaries could not be read (CROSSGATE_GATEWAY_ADMIN_URLS); the operator's log names the replica and the error";

/** The field manager of an Alert's status (server-side apply). */
export const ALERT_MANAGER = 'crossgate-alert';

/** The Alert status fields besides observedGeneration and conditions; one left out of a write is removed. */
type AlertFields = Pick<NonNullable<Alert['status']>, 'state' | 'value' | 'since' | 'lastEvaluation' | 'lastNotification'>;
type LastNotification = NonNullable<AlertFields['lastNotification']>;

export interface AlertOptions {
  /** The gateway replicas' recent-window summaries. */
  stats: GatewayStats;
  intervalMs: number;
  now?: () => Date;
  /** Platform settings (allowed loopback pairs) notify.url is judged with; none when absent (the strictest). */
  settings?: PlatformSettings;
  /** How long a notification may take; the status is written no earlier, whatever the receiver does. Default 5 s. */
  notifyTimeoutMs?: number;
}

export interface Delivery {
  /** A 2xx answer within the timeout. */
  accepted: boolean;
  /** The receiver's answer (status code or error), for the operator's log only. */
  detail: string;
}

/**
 * POSTs one notification and answers no sooner than timeoutMs, whatever the
 * receiver does: a closed port, an open one and a slow one all take as long,
 * so the moment the status is written says nothing about the target.
 */
export async function deliverNotification(url: string, body: unknown, timeoutMs: number, dispatcher?: Dispatcher): Promise<Delivery> {
  const attempt = (async (): Promise<Delivery> => {
    try {
      // undici's own fetch: a dispatcher must be driven by the same undici, not Node's bundled copy.
      const res = await undiciFetch(url, {
        ...(dispatcher ? { dispatcher } : {}),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      await res.body?.cancel();
      return { accepted: res.status >= 200 && res.status < 300, detail: String(res.status) };
    } catch (err) {
      return { accepted: false, detail: describeError(err) };
    }
  })();
  const [delivery] = await Promise.all([attempt, new Promise((r) => setTimeout(r, timeoutMs))]);
  return delivery;
}

export function registerAlertController(mgr: Manager, deps: Deps & AlertOptions): void {
  const now = deps.now ?? (() => new Date());
  const snapshot = snapshotReader(mgr, deps.settings);
  // Every notification connects only to an address the guard checked after resolving the name.
  // One client per namespace, its name lookups scoped to it: one organization's slow-resolving receivers cannot hold
  // the shared lookup threads that other organizations' notifications need (as the gateway's pools do).
  const guard = new ConnectGuard({ settings: deps.settings ?? NO_PLATFORM_SETTINGS });
  const dispatchers = new Map<string, Agent>();
  const dispatcherOf = (namespace: string): Agent => {
    let d = dispatchers.get(namespace);
    if (!d) dispatchers.set(namespace, (d = new Agent({ connect: guard.connector({ timeoutMs: 5000, scope: namespace }) })));
    return d;
  };
  const alerts = mgr.informer<A>(ALERTS);
  const lanes = new NotificationLanes();
  /** Records of notifications done in a lane, by Alert key, until a reconcile writes them. */
  const done = new Map<string, LastNotification>();
  // The Alerts evaluated per namespace (model/alert-limit.ts), recomputed when one comes, goes or is being deleted.
  const byNamespace = indexBy(alerts, (a) => a.metadata?.namespace ?? '');
  const counted = new Map<string, Set<string>>();
  const forget = (a: A) => counted.delete(a.metadata?.namespace ?? '');
  alerts.addHandler({ onAdd: forget, onDelete: forget, onUpdate: (old, a) => void (Boolean(old.metadata?.deletionTimestamp) !== Boolean(a.metadata?.deletionTimestamp) && forget(a)) });
  const countedIn = (ns: string) => {
    let c = counted.get(ns);
    if (!c) counted.set(ns, (c = countedAlerts(byNamespace(ns).flatMap((k) => alerts.get(k) ?? []))));
    return c;
  };

  const controller = addIntervalController<A>(mgr, 'alert', ALERTS, async (alert, key, ctx) => {
    const t = rfc3339(now());
    const generation = alert.metadata.generation ?? 0;
    const previous: Condition[] = deps.status.current(alert)?.conditions ?? [];
    const api = `${alert.metadata.namespace}/${alert.spec.apiInstanceRef.name}`;
    const period = alert.spec.condition.periodSeconds ?? 60;
    // Every field it owns in each write: the ones `fields` leaves out are removed.
    const write = (fields: AlertFields, ready: ConditionInput) =>
      deps.status.applyStatus(
        alert,
        ALERTS.plural,
        { observedGeneration: generation, state: undefined, value: undefined, since: undefined, lastEvaluation: undefined, lastNotification: undefined, ...fields, conditions: ownConditions(previous, [ready], generation) },
        ALERT_MANAGER,
      );

    const tooMany = alertLimitProblem(alert, countedIn(alert.metadata.namespace ?? ''));
    if (tooMany) {
      const ready = previous.find((c) => c.type === 'Ready');
      // Written once: looked at again every interval (an older one may go), rewritten only when it changed.
      if (ready?.reason !== 'TooManyAlerts' || ready.message !== tooMany || deps.status.current(alert)?.observedGeneration !== generation) {
        await write({ state: 'Unknown' }, { type: 'Ready', status: 'False', reason: 'TooManyAlerts', message: tooMany });
      }
      return { requeueAfterMs: deps.intervalMs };
    }
    if (deps.stats.urls.length === 0) {
      await write({ state: 'Unknown' }, { type: 'Ready', status: 'False', reason: 'NoGateway', message: 'the operator has no gateway admin URL to read traffic from (CROSSGATE_GATEWAY_ADMIN_URLS)' });
      return;
    }
    let stats: WindowStats;
    try {
      stats = (await deps.stats.read(period)).get(api) ?? EMPTY_STATS;
    } catch (err) {
      // The replica's address and error are the platform's (the log), not the tenant's: said once, when it starts.
      if (previous.find((c) => c.type === 'Ready')?.reason !== 'GatewayUnreachable') ctx.log.warn({ alert: key, err: describeError(err) }, 'gateway summary unavailable');
      await write({ state: 'Unknown', lastEvaluation: t }, { type: 'Ready', status: 'False', reason: 'GatewayUnreachable', message: GATEWAY_UNREACHABLE });
      return { requeueAfterMs: deps.intervalMs };
    }
    const value = alertValue(alert.spec.condition, stats);
    const firing = value > alert.spec.condition.threshold;
    const state = firing ? 'Firing' : 'Inactive';
    const was = deps.status.current(alert);
    const changed = (was?.state ?? 'Inactive') !== state && !(was?.state === 'Unknown' && state === 'Inactive');
    const since = changed || !was?.since ? t : was.since;
    // A record written before issue 14 (result: the receiver's answer) has no `delivered`: it is dropped, not carried on.
    const finished = done.get(key);
    let lastNotification = finished ?? (typeof was?.lastNotification?.delivered === 'boolean' ? was.lastNotification : undefined);
    if (changed) {
      const message = `${firing ? 'firing' : 'resolved'}: ${describeCondition(alert)} (value ${value})`;
      deps.events.record(alert, firing ? 'Warning' : 'Normal', firing ? 'AlertFiring' : 'AlertResolved', message);
      ctx.log.info({ alert: key, state, value }, 'alert state changed');
      const url = alert.spec.notify?.url;
      if (url) {
        const refused = outboundUrlProblem({ snapshot: snapshot(), namespace: alert.metadata.namespace ?? '', url, field: 'spec.notify.url' });
        if (refused) {
          ctx.log.warn({ alert: key, reason: refused }, 'alert notification refused');
          lastNotification = { time: t, state, ...notificationRecord(refused, false) };
        } else {
          const payload = alertmanagerPayload(alert, firing, value, since, t);
          lanes.submit(alert.metadata.namespace ?? '', key, async () => {
            const delivery = await deliverNotification(url, payload, deps.notifyTimeoutMs ?? 5000, dispatcherOf(alert.metadata.namespace ?? ''));
            // The receiver's answer is for platform admins (the log), never for the status.
            if (!delivery.accepted) ctx.log.warn({ alert: key, answer: delivery.detail }, 'alert notification not delivered');
            if (!alerts.get(key)) return; // deleted meanwhile: nothing to write
            done.set(key, { time: t, state, ...notificationRecord(undefined, delivery.accepted) });
            controller.enqueue(key);
          });
        }
      }
    }
    await write(
      { state, value, since, lastEvaluation: t, lastNotification },
      firing
        ? { type: 'Ready', status: 'True', reason: 'Firing', message: `${describeCondition(alert)}: value ${value}` }
        : { type: 'Ready', status: 'True', reason: 'Evaluated', message: `${describeCondition(alert)}: value ${value}, not firing` },
    );
    if (finished && done.get(key) === finished) done.delete(key);
    return { requeueAfterMs: deps.intervalMs };
  });
}
