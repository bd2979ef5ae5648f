// The ApiPromotion reconciler in a Manager over an in-memory API: the order of
// its writes (the instance after the policies that protect it), no write loop
// once promoted, and the race the cache cannot see: an object made under a
// copy's name between the cache read and the POST is a 409, then NameTaken,
// never overwritten. The real apiserver: test/e2e/promotion.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from '../../../kube/controller.ts';
import type { KubeHttp, RequestOptions } from '../../../kube/kube.ts';
import { StatusWriter } from '../../../kube/status.ts';
import { EventRecorder, type EventClient } from '../../../kube/events.ts';
import { MemoryApi, statusClientOn, type Obj } from './memory-api.ts';
import { registerApiPromotionController } from '../../../operator/controllers/apipromotion.ts';
import { LABEL_PROMOTION } from '../../../api/labels.ts';
import { eventually, delay } from './helpers.ts';

const V = 'crossgate.dev/v1alpha1';
const SBX = 'max-sbx';
const PROD = 'max-prod';

const obj = (kind: string, namespace: string, name: string, spec: unknown, extra: Partial<Obj['metadata']> = {}): Obj => ({
  apiVersion: V, kind, metadata: { name, namespace, generation: 1, ...extra }, spec,
});
// Production's copies take their own paths (a copy on its source's path would lose the route to it).
const promotion = (name: string, source: string, revision = 0, overrides: Record<string, unknown> = { basePath: `/prod/${source}/v1` }) =>
  obj('ApiPromotion', PROD, name, { source: { namespace: SBX, name: source }, revision, overrides }, { generation: revision + 1 });

describe('ApiPromotion reconciler (in-memory API)', () => {
  const api = new MemoryApi();
  let mgr: Manager;
  /** Before a POST to this path, someone else creates the object (the race the cache cannot see). */
  let raceOn: { path: string; plural: string; obj: Obj } | undefined;
  const http = {
    request: async <T>(method: string, path: string, opts?: RequestOptions): Promise<T> => {
      if (method === 'POST' && raceOn && path === raceOn.path) {
        api.upsert(raceOn.plural, raceOn.obj);
        raceOn = undefined;
      }
      return api.request<T>(method, path, opts);
    },
  };
  const eventClient: EventClient = {
    async createNamespacedEvent(p) { return p.body; },
    async patchNamespacedEvent(p) { return p.body as never; },
  };
  const status = (name: string) => api.get('apipromotions', `${PROD}/${name}`)?.status as Record<string, any> | undefined;
  const ready = (name: string) => (status(name)?.conditions as Array<{ type: string; reason: string; message: string }> | undefined)?.find((c) => c.type === 'Ready');

  before(async () => {
    api.upsert('organizations', {
      apiVersion: V, kind: 'Organization', metadata: { name: 'max', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        domain: 'max', displayName: 'Max', homeNamespace: 'max-home', environments: [{ name: 'sandbox', namespace: SBX }, { name: 'production', namespace: PROD }],
        routes: { pathPrefixes: ['/bags', '/lounges', '/prod'] },
      },
    });
    api.upsert('apiinstances', obj('ApiInstance', SBX, 'bags', { assetRef: { name: 'bags' }, basePath: '/bags/v1', upstream: { url: `http://bags.${SBX}.svc:8080` } }, { labels: { exposure: 'public' } }));
    api.upsert('policies', obj('Policy', SBX, 'bags-key', { type: 'api-key', targetRef: { name: 'bags' }, config: {} }));
    api.upsert('policies', obj('Policy', SBX, 'public-cors', { type: 'cors', selector: { matchLabels: { exposure: 'public' } }, config: {} }));
    api.upsert('slatiers', obj('SlaTier', SBX, 'bags-gold', { apiInstanceRef: { name: 'bags' }, limits: [{ requests: 1, period: 'minute' }], approval: 'automatic' }));
    mgr = new Manager({ client: api, informerDefaults: { resyncMs: 0, relistMs: 0 } });
    registerApiPromotionController(mgr, {
      http: http as unknown as KubeHttp,
      status: new StatusWriter({ client: statusClientOn(api) }),
      events: new EventRecorder({ client: eventClient }),
    });
    await mgr.start();
  });
  after(async () => {
    await mgr.stop(100);
  });

  test('the policies and tiers are written before the instance; once promoted, nothing is written again', async () => {
    api.upsert('apipromotions', promotion('bags', 'bags'));
    await eventually(() => ready('bags')?.reason === 'Promoted', 'Promoted');
    const writes = api.writes.filter((w) => w.startsWith('POST'));
    assert.deepEqual(writes, [
      `POST /apis/crossgate.dev/v1alpha1/namespaces/${PROD}/policies`,
      `POST /apis/crossgate.dev/v1alpha1/namespaces/${PROD}/policies`,
      `POST /apis/crossgate.dev/v1alpha1/namespaces/${PROD}/slatiers`,
      `POST /apis/crossgate.dev/v1alpha1/namespaces/${PROD}/apiinstances`,
    ]);
    assert.deepEqual(api.get('policies', `${PROD}/public-cors-bags`)?.spec, { type: 'cors', targetRef: { name: 'bags' }, config: {} });
    assert.equal(status('bags')!.copiedCount, 4);
    const count = api.writes.length;
    // Its own status write and the copies' events wake it: it must not promote again.
    await delay(200);
    assert.deepEqual(api.writes.slice(count), []);
  });

  test("an update of a copy keeps the annotations others put on it (the cache holds crossgate's only)", async () => {
    const copy = api.get('policies', `${PROD}/bags-key`)!;
    api.upsert('policies', { ...copy, metadata: { ...copy.metadata, annotations: { ...(copy.metadata?.annotations ?? {}), 'example.com/owner': 'team-bags' } } });
    const source = api.get('policies', `${SBX}/bags-key`)!;
    api.upsert('policies', { ...source, spec: { ...(source.spec as object), config: { header: 'x-bags-key' } } });
    api.upsert('apipromotions', promotion('bags', 'bags', 1));
    await eventually(() => (api.get('policies', `${PROD}/bags-key`)?.spec as { config?: { header?: string } })?.config?.header === 'x-bags-key', 'copy updated');
    assert.equal(api.get('policies', `${PROD}/bags-key`)!.metadata?.annotations?.['example.com/owner'], 'team-bags');
  });

  test('a name taken between the cache read and the POST: a 409, then NameTaken; the other object is not overwritten', async () => {
    api.upsert('apiinstances', obj('ApiInstance', SBX, 'lounges', { assetRef: { name: 'l' }, basePath: '/lounges/v1', upstream: { url: `http://l.${SBX}.svc:8080` } }));
    api.upsert('slatiers', obj('SlaTier', SBX, 'lounges-gold', { apiInstanceRef: { name: 'lounges' }, limits: [{ requests: 1, period: 'minute' }], approval: 'automatic' }));
    const theirs = obj('SlaTier', PROD, 'lounges-gold', { apiInstanceRef: { name: 'other' }, limits: [{ requests: 99, period: 'minute' }], approval: 'manual' });
    raceOn = { path: `/apis/crossgate.dev/v1alpha1/namespaces/${PROD}/slatiers`, plural: 'slatiers', obj: theirs };
    api.upsert('apipromotions', promotion('lounges', 'lounges'));
    await eventually(() => ready('lounges')?.reason === 'NameTaken', 'NameTaken after the race');
    assert.equal(raceOn, undefined, 'the POST met the object made meanwhile');
    assert.match(ready('lounges')!.message, /^SlaTier "lounges-gold" already exist/);
    const stored = api.get('slatiers', `${PROD}/lounges-gold`)!;
    assert.deepEqual(stored.spec, theirs.spec);
    assert.equal(stored.metadata.labels?.[LABEL_PROMOTION], undefined);
    assert.equal(api.get('apiinstances', `${PROD}/lounges`), undefined, 'the instance is not served without what applies to it');
  });

  test('a copy that would be refused in the target (outside the route space) writes nothing at all and says why', async () => {
    api.upsert('apiinstances', obj('ApiInstance', SBX, 'gates', { assetRef: { name: 'g' }, basePath: '/bags/gates/v1', upstream: { url: `http://g.${SBX}.svc:8080` } }));
    api.upsert('slatiers', obj('SlaTier', SBX, 'gates-gold', { apiInstanceRef: { name: 'gates' }, limits: [{ requests: 1, period: 'minute' }], approval: 'automatic' }));
    api.upsert('policies', obj('Policy', SBX, 'gates-key', { type: 'api-key', targetRef: { name: 'gates' }, config: {} }));
    const count = api.writes.filter((w) => w.startsWith('POST') || w.startsWith('PUT')).length;
    api.upsert('apipromotions', promotion('gates', 'gates', 0, { basePath: '/theirs/v1' }));
    await eventually(() => ready('gates')?.reason === 'CopyWouldBeRefused', 'CopyWouldBeRefused');
    assert.equal(
      ready('gates')!.message,
      `it would create ApiInstance "gates" in "${PROD}" with spec.basePath set by spec.overrides.basePath, which its admission refuses: ` +
        'spec.basePath "/theirs/v1" on the gateway\'s shared host (no spec.hostnames) is outside the route space of Organization "max": ' +
        'it claims path prefixes "/bags", "/lounges", "/prod" (spec.routes.pathPrefixes). Use a basePath under one of its prefixes, or hostnames it claims; ' +
        'route space is assigned by a platform admin in the Organization (spec.routes); nothing is copied',
    );
    assert.equal(status('gates')!.state, 'Blocked');
    assert.deepEqual(api.writes.filter((w) => w.startsWith('POST') || w.startsWith('PUT')).slice(count), [], 'no policy, tier or instance written');
    assert.equal(api.get('slatiers', `${PROD}/gates-gold`), undefined);
  });
});
