// What ApiInstance status.analytics should say, from the gateways' summed
// figures, the instance's approved Contracts and the previous status: pure
// functions (apianalytics.ts reads and writes).
import type { ApiGroup, ApiInstance, Contract } from '../../api/v1alpha1/index.ts';
import { OTHER_CLIENTS, STATUS_CLIENTS, capClients, foldClients, percentileMs, type ApiDay, type MergedDay } from '../../api/analytics.ts';
import type { ApiFigures } from './gateway-stats.ts';

export { STATUS_CLIENTS };

export type RegistrationState = 'Active' | 'Inactive' | 'Unregistered';

/**
 * Unregistered: no gateway replica serves the route; Inactive: served, but no request within `inactiveAfterMs`
 * (one bucket of the gateway's day ring, an hour by default); Active otherwise.
 */
export function registrationState(servedBy: number, lastRequestMs: number | undefined, nowMs: number, inactiveAfterMs: number): RegistrationState {
  if (servedBy <= 0) return 'Unregistered';
  if (lastRequestMs === undefined || nowMs - lastRequestMs > inactiveAfterMs) return 'Inactive';
  return 'Active';
}

export interface ContractCount {
  /** Approved contracts that reach the instance. */
  approved: number;
  apiKeys: number;
  applications: number;
}

/**
 * Approved Contracts that reach `instance`: those in its namespace naming it (apiInstanceRef), and those of the
 * ApiGroups that list it (`groups`: model/api-group.ts groupsOfInstance, the same organization's home namespace).
 * A Contract counts when its effective state (status.state) is Approved: a suspended one does not.
 */
export function approvedContracts(instance: Pick<ApiInstance, 'metadata'>, contracts: readonly Contract[], groups: readonly Pick<ApiGroup, 'metadata'>[]): ContractCount {
  const ns = instance.metadata?.namespace;
  const name = instance.metadata?.name;
  const byGroup = new Set(groups.map((g) => `${g.metadata?.namespace}/${g.metadata?.name}`));
  const out: ContractCount = { approved: 0, apiKeys: 0, applications: 0 };
  for (const c of contracts) {
    if (c.metadata?.deletionTimestamp || c.status?.state !== 'Approved') continue;
    const direct = c.spec?.apiInstanceRef?.name === name && c.metadata?.namespace === ns;
    const viaGroup = c.spec?.apiGroupRef?.name !== undefined && byGroup.has(`${c.metadata?.namespace}/${c.spec.apiGroupRef.name}`);
    if (!direct && !viaGroup) continue;
    out.approved++;
    if (c.spec.consumer?.kind === 'Application') out.applications++;
    else out.apiKeys++;
  }
  return out;
}

const percent = (part: number, whole: number) => (whole ? Math.round((part / whole) * 1000) / 10 : 0);

export interface ClientFigures {
  name: string;
  requests: number;
  errorPercent: number;
  p50Ms: number;
  p99Ms: number;
}

export interface DayFigures {
  windowSeconds: number;
  bucketSeconds: number;
  requests: number;
  clientErrors: number;
  serverErrors: number;
  errorPercent: number;
  p50Ms: number;
  p99Ms: number;
  clients: ClientFigures[];
}

/**
 * The day figures of one API as status shows them: percentiles from the summed histograms, top clients by requests;
 * a client `nameable` refuses (model/analytics-visibility.ts) is counted in "_other".
 */
export function dayFigures(day: ApiDay | undefined, merged: Pick<MergedDay, 'windowSeconds' | 'bucketSeconds'>, nameable: (client: string) => boolean = () => true): DayFigures {
  const d = day ?? { requests: 0, clientErrors: 0, serverErrors: 0, latency: {}, clients: {} };
  const clients = Object.entries(capClients(foldClients(d.clients, nameable), STATUS_CLIENTS))
    .map(([name, c]) => ({ name, requests: c.requests, errorPercent: percent(c.errors, c.requests), p50Ms: percentileMs(c.latency, 0.5), p99Ms: percentileMs(c.latency, 0.99) }))
    // Most requests first; "_other" last.
    .sort((a, b) => Number(a.name === OTHER_CLIENTS) - Number(b.name === OTHER_CLIENTS) || b.requests - a.requests || (a.name < b.name ? -1 : 1));
  return {
    windowSeconds: merged.windowSeconds,
    bucketSeconds: merged.bucketSeconds,
    requests: d.requests,
    clientErrors: d.clientErrors,
    serverErrors: d.serverErrors,
    errorPercent: percent(d.clientErrors + d.serverErrors, d.requests),
    p50Ms: percentileMs(d.latency, 0.5),
    p99Ms: percentileMs(d.latency, 0.99),
    clients,
  };
}

export interface Registration {
  state: RegistrationState;
  /** When the latest request was recorded by any replica (kept from the previous status when the gateways no longer know it). */
  lastRequest?: string;
  /** Gateway replicas that serve the route. */
  gateways: number;
  /** Gateway replicas read. */
  replicas: number;
}

export interface AnalyticsStatus {
  windowSeconds: number;
  requests: number;
  errorPercent: number;
  meanMs: number;
  day: DayFigures;
  contracts: ContractCount;
  registration: Registration;
  updated: string;
}

export interface AnalyticsInputs {
  /** namespace/name: the route id. */
  key: string;
  /** The 5-minute figures (/summary), undefined when the API had no traffic in the window. */
  recent: ApiFigures | undefined;
  /** Length of the recent window (the gateway keeps five minutes). */
  recentWindowSeconds: number;
  day: MergedDay;
  contracts: ContractCount;
  /** Which clients the status may name (model/analytics-visibility.ts clientNameable); others count as "_other". */
  nameable: (client: string) => boolean;
  /** status.analytics as it is (for lastRequest across gateway restarts). */
  previous: Partial<AnalyticsStatus> | undefined;
  now: Date;
  rfc3339: (d: Date) => string;
}

/** status.analytics for one instance; `updated` is the time of this read. */
export function analyticsStatus(i: AnalyticsInputs): AnalyticsStatus {
  const requests = i.recent?.requests ?? 0;
  const api = i.day.apis.get(i.key);
  const seen = api?.lastRequest;
  const before = i.previous?.registration?.lastRequest ? Date.parse(i.previous.registration.lastRequest) : undefined;
  // A gateway restart forgets its requests; the status remembers the latest one it saw.
  const last = seen !== undefined && (before === undefined || Number.isNaN(before) || seen > before) ? seen : before !== undefined && !Number.isNaN(before) ? before : undefined;
  const gateways = i.day.routes.get(i.key) ?? 0;
  return {
    windowSeconds: i.recentWindowSeconds,
    requests,
    errorPercent: percent((i.recent?.clientErrors ?? 0) + (i.recent?.serverErrors ?? 0), requests),
    meanMs: i.recent?.meanMs ?? 0,
    day: dayFigures(api, i.day, i.nameable),
    contracts: i.contracts,
    registration: {
      state: registrationState(gateways, last, i.now.getTime(), i.day.bucketSeconds * 1000),
      ...(last !== undefined ? { lastRequest: i.rfc3339(new Date(last)) } : {}),
      gateways,
      replicas: i.day.replicas,
    },
    updated: i.rfc3339(i.now),
  };
}

/** Whether a write is due: anything but `updated` differs (so an unchanged instance costs no write). */
export function analyticsChanged(prev: Partial<AnalyticsStatus> | undefined, next: AnalyticsStatus): boolean {
  if (!prev) return true;
  const { updated: _a, ...a } = prev;
  const { updated: _b, ...b } = next;
  return JSON.stringify(canonical(a)) !== JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
