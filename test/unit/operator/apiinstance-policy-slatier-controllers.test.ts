// The ApiInstance, Policy and SlaTier controllers wired into one Manager over
// an in-memory API (lists and watch streams of every collection they read),
// with fake status and event clients: the watches that keep each status fresh
// (an instance going hands its route over; an Asset appearing; labels moving
// an automated policy; Contracts approved and revoked changing a tier's count)
// and Events only on transitions. The real apiserver: test/e2e/api-manager-objects.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp } from '../../../kube/kube.ts';
import { APPLY_PATCH, MERGE_PATCH, StatusWriter, type StatusClient } from '../../../kube/status.ts';
import { StatusOwnership } from './fake-status.ts';
import { MemoryApi, statusClientOn, type Obj } from './memory-api.ts';
import { registerApiAnalyticsController } from '../../../operator/controllers/apianalytics.ts';
import type { ApiFigures, GatewayStats } from '../../../operator/controllers/gateway-stats.ts';
import type { MergedDay } from '../../../api/analytics.ts';
import { EventRecorder, type EventClient } from '../../../kube/events.ts';
import { registerApiInstanceController } from '../../../operator/controllers/apiinstance.ts';
import { POLICY_MANAGER, registerPolicyController } from '../../../operator/controllers/policy.ts';
import { SLATIER_MANAGER, registerSlaTierController } from '../../../operator/controllers/slatier.ts';
import { APIINSTANCES, CONTRACTS, POLICIES, SLATIERS } from '../../../operator/resources.ts';
import { eventually } from './helpers.ts';

const V = 'crossgate.dev/v1alpha1';
const NS = 'max-prod';
const t0 = Date.parse('2026-01-01T00:00:00Z');
let clock = 0;
const created = () => new Date(t0 + ++clock * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const instance = (name: string, opts: { basePath?: string; labels?: Record<string, string>; asset?: string; generation?: number } = {}): Obj => ({
  apiVersion: V,
  kind: 'ApiInstance',
  metadata: { name, namespace: NS, generation: opts.generation ?? 1, creationTimestamp: created(), ...(opts.labels ? { labels: opts.labels } : {}) },
  spec: { assetRef: { name: opts.asset ?? 'flights-eapi' }, basePath: opts.basePath ?? '/flights/v1', upstream: { url: 'http://flights:8080' } },
});

/** The tier count's coalescing window in these tests (5 s in the operator). */
const COUNT_DELAY_MS = 300;

describe('ApiInstance, Policy and SlaTier controllers (in-memory API)', () => {
  const api = new MemoryApi();
  const events: CoreV1Event[] = [];
  let mgr: Manager;

  const pluralOf: Record<string, string> = { ApiInstance: 'apiinstances', Policy: 'policies', SlaTier: 'slatiers' };
  let tierWrites = 0;
  const ownership = new StatusOwnership();
  const statusClient = statusClientOn(api, ownership, (plural) => void (plural === 'slatiers' && tierWrites++));
  const eventClient: EventClient = {
    async createNamespacedEvent(p) {
      events.push(p.body);
      return p.body;
    },
    async patchNamespacedEvent(p) {
      return p.body as CoreV1Event;
    },
  };
  const status = (kind: string, name: string) => api.store(pluralOf[kind]!).get(`${NS}/${name}`)?.status as Record<string, any> | undefined;
  const ready = (kind: string, name: string) => (status(kind, name)?.conditions as Array<{ type: string; status: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');
  const eventsOf = (name: string) => events.filter((e) => e.involvedObject.name === name).map((e) => `${e.type} ${e.reason}`);

  before(async () => {
    api.upsert('organizations', {
      apiVersion: V,
      kind: 'Organization',
      metadata: { name: 'max', creationTimestamp: created() },
      spec: {
        domain: 'max',
        displayName: 'Max',
        homeNamespace: 'max-home',
        environments: [{ name: 'prod', namespace: NS, type: 'production' }],
        routes: { pathPrefixes: ['/flights', '/hotels', '/later'] },
        upstreams: { allowedHosts: ['flights'] },
      },
    });
    api.upsert('assets', { apiVersion: V, kind: 'Asset', metadata: { name: 'flights-eapi', namespace: 'max-home' }, spec: { type: 'http', title: 'Flights', version: '1.0.0' } });
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClient }), events: new EventRecorder({ client: eventClient }) };
    registerApiInstanceController(mgr, { ...deps, gatewayUrl: (gw) => (gw === 'default' ? 'http://127.0.0.1:8080' : undefined) });
    registerPolicyController(mgr, deps);
    registerSlaTierController(mgr, { ...deps, countDelayMs: COUNT_DELAY_MS });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('the older instance is Routed at the gateway URL; the newer gets RouteConflict; deleting the older hands the route over', async () => {
    api.upsert('apiinstances', instance('a', { labels: { exposure: 'partner' } }));
    await eventually(() => ready('ApiInstance', 'a')?.reason === 'Routed', 'a Routed');
    assert.equal(status('ApiInstance', 'a')!.endpoint, 'http://127.0.0.1:8080/flights/v1');
    assert.equal(status('ApiInstance', 'a')!.gateway, 'default');
    assert.equal(status('ApiInstance', 'a')!.observedGeneration, 1);

    api.upsert('apiinstances', instance('b'));
    await eventually(() => ready('ApiInstance', 'b')?.reason === 'RouteConflict', 'b RouteConflict');
    assert.match(ready('ApiInstance', 'b')!.message, /ApiInstance "max-prod\/a" is older and already claims any host with basePath "\/flights\/v1"/);
    assert.equal(status('ApiInstance', 'b')!.endpoint, undefined);

    // Moving b to another path ends the conflict without touching a.
    const b = api.store('apiinstances').get(`${NS}/b`)!;
    api.upsert('apiinstances', { ...b, metadata: { ...b.metadata, generation: 2 }, spec: { ...(b.spec as object), basePath: '/flights/v2' } });
    await eventually(() => ready('ApiInstance', 'b')?.reason === 'Routed', 'b Routed on its own path');
    assert.equal(status('ApiInstance', 'b')!.observedGeneration, 2);

    // A third instance on a's path waits for a, and gets the route when a goes.
    api.upsert('apiinstances', instance('c'));
    await eventually(() => ready('ApiInstance', 'c')?.reason === 'RouteConflict', 'c RouteConflict');
    api.remove('apiinstances', `${NS}/a`);
    await eventually(() => ready('ApiInstance', 'c')?.reason === 'Routed', 'c Routed after a is gone');
    await eventually(() => eventsOf('c').length === 2, 'c events');
    assert.deepEqual(eventsOf('c'), ['Warning RouteConflict', 'Normal Routed']);
  });

  test('an instance waits for its Asset, and is Routed once it appears', async () => {
    api.upsert('apiinstances', instance('hotels', { basePath: '/hotels', asset: 'hotels-eapi' }));
    await eventually(() => ready('ApiInstance', 'hotels')?.reason === 'AssetNotFound', 'AssetNotFound');
    assert.equal(ready('ApiInstance', 'hotels')!.message, 'Asset "hotels-eapi" does not exist in namespace "max-home"');
    api.upsert('assets', { apiVersion: V, kind: 'Asset', metadata: { name: 'hotels-eapi', namespace: 'max-home' }, spec: { type: 'http', title: 'Hotels', version: '1.0.0' } });
    await eventually(() => ready('ApiInstance', 'hotels')?.reason === 'Routed', 'Routed once the Asset exists');
  });

  test('an instance outside its organization\'s route space is OutsideRouteClaims; assigning the space to the Organization routes it', async () => {
    api.upsert('apiinstances', instance('trains', { basePath: '/trains/v1' }));
    await eventually(() => ready('ApiInstance', 'trains')?.reason === 'OutsideRouteClaims', 'OutsideRouteClaims');
    assert.equal(ready('ApiInstance', 'trains')!.status, 'False');
    assert.equal(
      ready('ApiInstance', 'trains')!.message,
      'the gateway does not serve this route: spec.basePath "/trains/v1" on the gateway\'s shared host (no spec.hostnames) is outside the route space of Organization "max": ' +
        'it claims path prefixes "/flights", "/hotels", "/later" (spec.routes.pathPrefixes). Use a basePath under one of its prefixes, or hostnames it claims; ' +
        'route space is assigned by a platform admin in the Organization (spec.routes)',
    );
    assert.equal(status('ApiInstance', 'trains')!.endpoint, undefined);
    // The watch on Organizations re-reconciles the instance when its route space changes.
    const org = api.store('organizations').get('max')!;
    const spec = org.spec as { routes: { pathPrefixes: string[] } };
    api.upsert('organizations', { ...org, metadata: { ...org.metadata, generation: 2 }, spec: { ...spec, routes: { pathPrefixes: [...spec.routes.pathPrefixes, '/trains'] } } });
    await eventually(() => ready('ApiInstance', 'trains')?.reason === 'Routed', 'Routed once /trains is assigned');
    assert.equal(status('ApiInstance', 'trains')!.endpoint, 'http://127.0.0.1:8080/trains/v1');
    api.upsert('organizations', { ...org, metadata: { ...org.metadata, generation: 3 } });
    await eventually(() => ready('ApiInstance', 'trains')?.reason === 'OutsideRouteClaims', 'OutsideRouteClaims once /trains is taken away');
    // The endpoint it no longer applies is removed (it was the only manager that set it).
    assert.equal(status('ApiInstance', 'trains')!.endpoint, undefined);
    api.remove('apiinstances', `${NS}/trains`);
  });

  test('an automated policy follows instance labels; a targeted one follows its instance', async () => {
    api.upsert('policies', {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: 'partner-cors', namespace: NS, generation: 1 },
      spec: { type: 'cors', selector: { matchLabels: { exposure: 'partner' } }, config: { allowOrigins: ['*'] } },
    });
    await eventually(() => ready('Policy', 'partner-cors')?.reason === 'Applied', 'Applied');
    assert.deepEqual(status('Policy', 'partner-cors')!.appliedTo, []);
    for (const name of ['c', 'hotels']) {
      const i = api.store('apiinstances').get(`${NS}/${name}`)!;
      api.upsert('apiinstances', { ...i, metadata: { ...i.metadata, labels: { exposure: 'partner' } } });
    }
    await eventually(() => status('Policy', 'partner-cors')?.appliedCount === 2, 'applied to the two labelled instances');
    assert.deepEqual(status('Policy', 'partner-cors')!.appliedTo, ['c', 'hotels']);

    api.upsert('policies', {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: 'key', namespace: NS, generation: 1 },
      spec: { type: 'api-key', targetRef: { name: 'later' }, config: {} },
    });
    await eventually(() => ready('Policy', 'key')?.reason === 'TargetNotFound', 'TargetNotFound');
    api.upsert('apiinstances', instance('later', { basePath: '/later' }));
    await eventually(() => ready('Policy', 'key')?.reason === 'Applied', 'Applied once the instance exists');
    assert.deepEqual(status('Policy', 'key')!.appliedTo, ['later']);
  });

  test('a policy stored with a bad config (before the webhook existed) is reported', async () => {
    api.upsert('policies', {
      apiVersion: V,
      kind: 'Policy',
      metadata: { name: 'old-limit', namespace: NS, generation: 1 },
      spec: { type: 'rate-limit', targetRef: { name: 'c' }, config: { limits: [{ requests: 0, period: 'minute' }] } },
    });
    await eventually(() => ready('Policy', 'old-limit')?.reason === 'InvalidConfig', 'InvalidConfig');
    assert.equal(ready('Policy', 'old-limit')!.message, 'spec.config is invalid: /spec/config/limits/0/requests: must be >= 1');
    assert.equal(ready('Policy', 'old-limit')!.status, 'False');
  });

  test('a tier counts Approved contracts as they are approved and revoked, and notices its instance going', async () => {
    api.upsert('slatiers', {
      apiVersion: V,
      kind: 'SlaTier',
      metadata: { name: 'gold', namespace: NS, generation: 1 },
      spec: { apiInstanceRef: { name: 'later' }, limits: [{ requests: 1000, period: 'minute' }], approval: 'automatic' },
    });
    await eventually(() => ready('SlaTier', 'gold')?.reason === 'Available', 'gold Available');
    assert.equal(status('SlaTier', 'gold')!.contracts, 0);
    const contract = (name: string, state: string): Obj => ({
      apiVersion: V,
      kind: 'Contract',
      metadata: { name, namespace: NS },
      spec: { apiInstanceRef: { name: 'later' }, tier: 'gold', consumer: { organization: 'mule', namespace: 'mule-prod', kind: 'ApiKey', name }, decision: 'Approved' },
      status: { state },
    });
    api.upsert('contracts', contract('k1', 'Pending'));
    api.upsert('contracts', contract('k2', 'Approved'));
    await eventually(() => status('SlaTier', 'gold')?.contracts === 1, 'one approved');
    api.upsert('contracts', contract('k1', 'Approved'));
    await eventually(() => status('SlaTier', 'gold')?.contracts === 2, 'two approved');
    api.upsert('contracts', contract('k2', 'Revoked'));
    await eventually(() => status('SlaTier', 'gold')?.contracts === 1, 'one revoked');
    api.remove('contracts', `${NS}/k1`);
    await eventually(() => status('SlaTier', 'gold')?.contracts === 0, 'contract deleted');

    // A burst of approvals within the window is counted in one status write, not one per Contract.
    const writesBefore = tierWrites;
    for (let i = 0; i < 10; i++) api.upsert('contracts', contract(`burst-${i}`, 'Pending'));
    for (let i = 0; i < 10; i++) api.upsert('contracts', contract(`burst-${i}`, 'Approved'));
    await eventually(() => status('SlaTier', 'gold')?.contracts === 10, 'ten approved');
    await new Promise((r) => setTimeout(r, COUNT_DELAY_MS * 2));
    assert.equal(tierWrites - writesBefore, 1, 'one count write for the burst');
    // A change that cannot move the count (a Contract's condition message) writes nothing.
    const quiet = tierWrites;
    api.upsert('contracts', { ...contract('burst-0', 'Approved'), status: { state: 'Approved', conditions: [{ type: 'Ready', status: 'True', reason: 'x', message: 'y' }] } });
    await new Promise((r) => setTimeout(r, COUNT_DELAY_MS * 2));
    assert.equal(tierWrites, quiet);
    for (let i = 0; i < 10; i++) api.remove('contracts', `${NS}/burst-${i}`);
    await eventually(() => status('SlaTier', 'gold')?.contracts === 0, 'burst deleted');

    api.remove('apiinstances', `${NS}/later`);
    await eventually(() => ready('SlaTier', 'gold')?.reason === 'InstanceNotFound', 'InstanceNotFound');
    await eventually(() => ready('Policy', 'key')?.reason === 'TargetNotFound', 'the policy notices too');
  });

  test('Policy and SlaTier statuses are applies, each with its own field manager owning its own fields; an instance a policy stops listing goes', async () => {
    for (const [plural, manager] of [['policies', POLICY_MANAGER], ['slatiers', SLATIER_MANAGER]] as const) {
      const writes = ownership.writes.filter((w) => w.key.startsWith(`${plural}/`));
      assert.ok(writes.length > 0, `${plural} written`);
      assert.deepEqual(writes.filter((w) => w.contentType !== APPLY_PATCH || w.manager !== manager), [], `every ${plural} write is an apply by ${manager}`);
    }
    assert.equal(POLICY_MANAGER, 'crossgate-policy');
    assert.equal(SLATIER_MANAGER, 'crossgate-slatier');
    assert.deepEqual(ownership.owners(`policies/${NS}/partner-cors`), { 'crossgate-policy': ['appliedCount', 'appliedTo', 'conditions/Ready', 'observedGeneration'] });
    assert.deepEqual(ownership.owners(`slatiers/${NS}/gold`), { 'crossgate-slatier': ['conditions/Ready', 'contracts', 'observedGeneration'] });

    const hotels = api.store('apiinstances').get(`${NS}/hotels`)!;
    api.upsert('apiinstances', { ...hotels, metadata: { ...hotels.metadata, labels: {} } });
    await eventually(() => status('Policy', 'partner-cors')?.appliedCount === 1, 'hotels no longer applied to');
    assert.deepEqual(status('Policy', 'partner-cors')!.appliedTo, ['c']);
  });

  test('a resync in a steady state writes nothing', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const rv = api.rv;
    const count = events.length;
    for (const spec of [APIINSTANCES, POLICIES, SLATIERS, CONTRACTS]) mgr.informer(spec).resync();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(api.rv, rv, 'no status writes without a change');
    assert.equal(events.length, count, 'no Events without a transition');
  });
});

describe('ApiInstance and ApiAnalytics reconcilers share one status (server-side apply, one field manager each)', () => {
  const api = new MemoryApi();
  const ownership = new StatusOwnership();
  let figures = new Map<string, ApiFigures>();
  // One replica that serves the route, no day traffic: the 5-minute figures are what this test moves.
  const day: MergedDay = { replicas: 1, bucketSeconds: 3600, windowSeconds: 86400, routes: new Map([[`${NS}/shared`, 1]]), apis: new Map() };
  const stats = { urls: ['http://127.0.0.1:1'], read: async () => figures, readDay: async () => day } as unknown as GatewayStats;
  let mgr: Manager;
  let statusClient: StatusClient;
  const key = `${NS}/shared`;
  const status = () => api.store('apiinstances').get(key)?.status as Record<string, any> | undefined;
  const types = () => ((status()?.conditions ?? []) as Array<{ type: string }>).map((c) => c.type).sort();
  const traffic = (requests: number): ApiFigures => ({ requests, statusCodes: { '200': requests }, violations: {}, maxMs: 9, clientErrors: 0, serverErrors: requests / 2, meanMs: 4 });

  before(async () => {
    api.upsert('organizations', {
      apiVersion: V,
      kind: 'Organization',
      metadata: { name: 'max', creationTimestamp: created() },
      spec: { domain: 'max', displayName: 'Max', homeNamespace: 'max-home', environments: [{ name: 'prod', namespace: NS, type: 'production' }], routes: { pathPrefixes: ['/flights'] }, upstreams: { allowedHosts: ['flights'] } },
    });
    api.upsert('assets', { apiVersion: V, kind: 'Asset', metadata: { name: 'flights-eapi', namespace: 'max-home' }, spec: { type: 'http', title: 'Flights', version: '1.0.0' } });
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    const events = new EventRecorder({ client: { createNamespacedEvent: async (p) => p.body, patchNamespacedEvent: async (p) => p.body as CoreV1Event } });
    statusClient = statusClientOn(api, ownership);
    const deps = { http: api as unknown as KubeHttp, status: new StatusWriter({ client: statusClient }), events };
    registerApiInstanceController(mgr, { ...deps, gatewayUrl: 'http://127.0.0.1:8080' });
    registerApiAnalyticsController(mgr, { ...deps, stats, intervalMs: 20 });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('each applies only its own fields, neither removes the other\'s, and a field one drops goes', async () => {
    figures = new Map([[key, traffic(10)]]);
    api.upsert('apiinstances', instance('shared'));
    await eventually(() => status()?.analytics?.requests === 10 && status()?.conditions !== undefined, 'both reconcilers wrote');
    assert.equal(status()!.endpoint, 'http://127.0.0.1:8080/flights/v1');
    assert.deepEqual(types(), ['Ready', 'TiersEnforced']);
    assert.deepEqual(ownership.owners(`apiinstances/${key}`), {
      'crossgate-apianalytics': ['analytics'],
      'crossgate-apiinstance': ['conditions/Ready', 'conditions/TiersEnforced', 'endpoint', 'gateway', 'observedGeneration'],
    });
    assert.ok(ownership.writes.every((w) => w.contentType === APPLY_PATCH), 'every ApiInstance status write is an apply');

    // New traffic: only analytics changes; the instance's conditions and endpoint stay.
    figures = new Map([[key, traffic(20)]]);
    await eventually(() => status()?.analytics?.requests === 20, 'new figures');
    assert.equal(status()!.analytics.errorPercent, 50);
    assert.equal(status()!.endpoint, 'http://127.0.0.1:8080/flights/v1');
    assert.deepEqual(types(), ['Ready', 'TiersEnforced']);

    // Written before, by the merge patches of earlier versions (manager crossgate-operator): it co-owns the endpoint.
    await statusClient.patchNamespacedCustomObjectStatus(
      { group: 'crossgate.dev', version: 'v1alpha1', namespace: NS, plural: 'apiinstances', name: 'shared', body: { status: { endpoint: status()!.endpoint } }, fieldManager: 'crossgate-operator' },
      { contentType: MERGE_PATCH },
    );
    assert.deepEqual(ownership.owners(`apiinstances/${key}`)['crossgate-operator'], ['endpoint']);

    // The instance loses its route (basePath outside the organization's space): Ready moves and the endpoint goes
    // (the apply leaves the old manager's share, so the writer removes it); analytics stays.
    const cur = api.store('apiinstances').get(key)!;
    api.upsert('apiinstances', { ...cur, metadata: { ...cur.metadata, generation: 2 }, spec: { ...(cur.spec as object), basePath: '/trains/v1' } });
    await eventually(() => status()?.observedGeneration === 2, 'generation 2 observed');
    assert.equal((status()!.conditions as Array<{ type: string; reason: string }>).find((c) => c.type === 'Ready')!.reason, 'OutsideRouteClaims');
    assert.equal(status()!.endpoint, undefined);
    assert.equal(status()!.analytics.requests, 20);

    // Steady state: the interval reads the same figures and the instance is unchanged: no writes.
    const writes = ownership.writes.length;
    mgr.informer(APIINSTANCES).resync();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(ownership.writes.length, writes, 'no status writes without a change');
  });
});
