// status.analytics from the summed gateway figures: registration, contracts,
// the day figures and when a write is due; and which replicas are read.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyticsChanged, analyticsStatus, approvedContracts, dayFigures, registrationState, STATUS_CLIENTS } from '../../../operator/controllers/apianalytics-desired.ts';
import { GatewayStats, replicaUrls } from '../../../operator/controllers/gateway-stats.ts';
import { latencyBucket, LATENCY_BOUNDS_MS, type MergedDay } from '../../../api/analytics.ts';
import { rfc3339 } from '../../../api/time.ts';
import type { Contract } from '../../../api/v1alpha1/index.ts';

const HOUR = 3_600_000;

describe('registration', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  test('Unregistered when no replica serves the route, whatever its past traffic', () => {
    assert.equal(registrationState(0, now - 1000, now, HOUR), 'Unregistered');
    assert.equal(registrationState(0, undefined, now, HOUR), 'Unregistered');
  });
  test('Inactive when served with no request within one bucket (or none known); Active otherwise', () => {
    assert.equal(registrationState(2, undefined, now, HOUR), 'Inactive');
    assert.equal(registrationState(1, now - HOUR - 1, now, HOUR), 'Inactive');
    assert.equal(registrationState(1, now - HOUR, now, HOUR), 'Active');
    assert.equal(registrationState(1, now - 5000, now, 4000), 'Inactive', 'the bucket length sets the threshold (short buckets in e2e)');
  });
});

describe('approved contracts', () => {
  const ctr = (ns: string, name: string, ref: { instance?: string; group?: string }, kind: 'ApiKey' | 'Application', state: string, deleting = false): Contract =>
    ({
      metadata: { namespace: ns, name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
      spec: {
        ...(ref.instance ? { apiInstanceRef: { name: ref.instance } } : {}),
        ...(ref.group ? { apiGroupRef: { name: ref.group } } : {}),
        tier: 'gold', consumer: { organization: 'mule', namespace: 'mule-prod', kind, name }, decision: 'Approved',
      },
      status: { state },
    }) as unknown as Contract;
  const inst = { metadata: { namespace: 'max-prod', name: 'flights' } };
  test('its own and its groups\' Approved contracts, by consumer kind; pending, suspended, deleting, other instances and other groups do not count', () => {
    const contracts = [
      ctr('max-prod', 'k1', { instance: 'flights' }, 'ApiKey', 'Approved'),
      ctr('max-prod', 'k2', { instance: 'flights' }, 'ApiKey', 'Pending'),
      ctr('max-prod', 'k3', { instance: 'flights' }, 'ApiKey', 'Suspended'),
      ctr('max-prod', 'k4', { instance: 'flights' }, 'ApiKey', 'Approved', true),
      ctr('max-prod', 'k5', { instance: 'baggage' }, 'ApiKey', 'Approved'),
      ctr('max-prod', 'a1', { instance: 'flights' }, 'Application', 'Approved'),
      ctr('max-home', 'a2', { group: 'travel' }, 'Application', 'Approved'),
      ctr('max-home', 'a3', { group: 'other' }, 'Application', 'Approved'),
      // Another organization's namespace naming an instance of the same name: not this instance's.
      ctr('mule-prod', 'k6', { instance: 'flights' }, 'ApiKey', 'Approved'),
    ];
    assert.deepEqual(approvedContracts(inst, contracts, [{ metadata: { namespace: 'max-home', name: 'travel' } }]), { approved: 3, apiKeys: 1, applications: 2 });
    assert.deepEqual(approvedContracts(inst, contracts, []), { approved: 2, apiKeys: 1, applications: 1 });
  });
});

describe('status.analytics', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const day = (over: Partial<MergedDay> = {}): MergedDay => ({ replicas: 2, bucketSeconds: 3600, windowSeconds: 86400, routes: new Map([['ns/a', 2]]), apis: new Map(), ...over });
  const contracts = { approved: 1, apiKeys: 1, applications: 0 };
  const base = { key: 'ns/a', recent: undefined, recentWindowSeconds: 300, contracts, nameable: () => true, previous: undefined, now, rfc3339 };

  test('the day figures, p50/p99 from the histograms, per client; Active with the last request', () => {
    const b2 = latencyBucket(2);
    const b90 = latencyBucket(90);
    const apis = new Map([
      ['ns/a', {
        requests: 100, clientErrors: 3, serverErrors: 1, lastRequest: now.getTime() - 60_000,
        latency: { [b2]: 98, [b90]: 2 },
        clients: { 'mule/k1': { requests: 60, errors: 0, latency: { [b2]: 60 } }, 'mule/k2': { requests: 40, errors: 4, latency: { [b2]: 38, [b90]: 2 } } },
      }],
    ]);
    const s = analyticsStatus({ ...base, recent: { requests: 10, statusCodes: {}, violations: {}, maxMs: 5, clientErrors: 1, serverErrors: 0, meanMs: 3 }, day: day({ apis }) });
    assert.deepEqual([s.windowSeconds, s.requests, s.errorPercent, s.meanMs], [300, 10, 10, 3]);
    assert.deepEqual([s.day.windowSeconds, s.day.bucketSeconds, s.day.requests, s.day.errorPercent], [86400, 3600, 100, 4]);
    assert.equal(s.day.p50Ms, LATENCY_BOUNDS_MS[b2]);
    assert.equal(s.day.p99Ms, LATENCY_BOUNDS_MS[b90]);
    assert.deepEqual(s.day.clients, [
      { name: 'mule/k1', requests: 60, errorPercent: 0, p50Ms: LATENCY_BOUNDS_MS[b2], p99Ms: LATENCY_BOUNDS_MS[b2] },
      { name: 'mule/k2', requests: 40, errorPercent: 10, p50Ms: LATENCY_BOUNDS_MS[b2], p99Ms: LATENCY_BOUNDS_MS[b90] },
    ]);
    assert.deepEqual(s.registration, { state: 'Active', lastRequest: '2026-01-01T11:59:00Z', gateways: 2, replicas: 2 });
    assert.deepEqual(s.contracts, contracts);
    assert.equal(s.updated, '2026-01-01T12:00:00Z');
  });

  test('at most STATUS_CLIENTS clients, the rest as "_other" listed last', () => {
    const clients = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`c/${String(i).padStart(2, '0')}`, { requests: 100 - i, errors: 0, latency: { '10': 100 - i } }]));
    const f = dayFigures({ requests: 0, clientErrors: 0, serverErrors: 0, latency: {}, clients }, day());
    assert.equal(f.clients.length, STATUS_CLIENTS);
    assert.equal(f.clients[0]!.name, 'c/00');
    assert.equal(f.clients.at(-1)!.name, '_other');
    assert.equal(f.clients.at(-1)!.requests, Array.from({ length: 21 }, (_, i) => 100 - 9 - i).reduce((a, b) => a + b, 0));
  });

  test('a route no replica serves is Unregistered; a gateway restart (no figures) keeps the last request the status knew', () => {
    const unreg = analyticsStatus({ ...base, key: 'ns/x', day: day() });
    assert.equal(unreg.registration.state, 'Unregistered');
    assert.equal(unreg.registration.gateways, 0);
    assert.equal(unreg.day.requests, 0);
    const previous = { registration: { state: 'Active' as const, lastRequest: '2026-01-01T11:30:00Z', gateways: 1, replicas: 1 } };
    const kept = analyticsStatus({ ...base, previous, day: day() });
    assert.deepEqual(kept.registration, { state: 'Active', lastRequest: '2026-01-01T11:30:00Z', gateways: 2, replicas: 2 });
    const old = analyticsStatus({ ...base, previous: { registration: { ...previous.registration, lastRequest: '2026-01-01T10:00:00Z' } }, day: day() });
    assert.equal(old.registration.state, 'Inactive', 'two hours without a request');
  });

  test('a write is due only when something but the time of the read changed', () => {
    const a = analyticsStatus({ ...base, day: day() });
    const b = analyticsStatus({ ...base, day: day(), now: new Date(now.getTime() + 30_000) });
    assert.equal(analyticsChanged(a, b), false);
    assert.equal(analyticsChanged(undefined, b), true);
    assert.equal(analyticsChanged(a, { ...b, contracts: { approved: 2, apiKeys: 2, applications: 0 } }), true);
  });
});

describe('gateway replicas', () => {
  test('each URL is read at every address its host resolves to (a headless Service: one per ready replica), each once', async () => {
    const resolve = async (host: string) => (host === 'gw-admin-peers.crossgate-system.svc' ? ['10.0.0.7', '10.0.0.8'] : host === 'v6.example' ? ['fd00::1'] : [host]);
    assert.deepEqual(
      await replicaUrls(['http://gw-admin-peers.crossgate-system.svc:9090', 'http://10.0.0.8:9090/', 'http://v6.example:9090', 'http://127.0.0.1:9091'], resolve),
      ['http://10.0.0.7:9090', 'http://10.0.0.8:9090', 'http://[fd00::1]:9090', 'http://127.0.0.1:9091'],
    );
  });
});

test('no replica behind the names (none ready): the read fails, so no instance turns Unregistered for it', async () => {
  const stats = new GatewayStats(['http://gw-admin-peers.crossgate-system.svc:9090'], 2000, async () => []);
  await assert.rejects(stats.readDay(), /no gateway replica behind http:\/\/gw-admin-peers\.crossgate-system\.svc:9090/);
});

test('a client the status may not name is counted in "_other" with its figures', () => {
  const day = { requests: 5, clientErrors: 1, serverErrors: 0, latency: { '10': 5 }, clients: { 'mule/k': { requests: 3, errors: 1, latency: { '10': 3 } }, 'max/k': { requests: 2, errors: 0, latency: { '10': 2 } } } };
  const f = dayFigures(day, { windowSeconds: 86400, bucketSeconds: 3600 }, (c) => c.startsWith('max/'));
  assert.deepEqual(f.clients.map((c) => [c.name, c.requests, c.errorPercent]), [['max/k', 2, 0], ['_other', 3, 33.3]]);
});
