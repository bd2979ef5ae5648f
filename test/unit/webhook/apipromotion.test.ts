// Admission of ApiPromotions: only between two environments of one organization, into the promotion's own namespace.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../../webhook/rules/index.ts';
import type { KubeObject } from '../../../webhook/admission.ts';
import { API_VERSION, apiInstance, request, story } from './fixtures.ts';

function promotion(namespace: string, sourceNamespace: string, name = 'baggage'): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'ApiPromotion',
    metadata: { name, namespace },
    spec: { source: { namespace: sourceNamespace, name: 'baggage' }, overrides: { upstream: { url: 'https://baggage.max-airlines.example' } } },
  };
}

describe('ApiPromotion admission', () => {
  const s = story();

  test('sandbox to production of one organization is allowed', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'max-airlines-sandbox')), s), { allowed: true });
  });

  test("another organization's instance cannot be promoted into mine", () => {
    assert.deepEqual(review(request('CREATE', promotion('mule-united-prod', 'max-airlines-sandbox')), s), {
      allowed: false,
      message:
        'ApiPromotion "baggage": spec.source.namespace "max-airlines-sandbox" belongs to Organization "max-airlines", but this ApiPromotion is in "mule-united-prod" of Organization "mule-united": ' +
        'a promotion copies only between environments of one organization; Organization "mule-united" has no other environment',
      field: 'spec.source.namespace',
    });
  });

  test("my instance cannot be pushed into another organization's namespace (the namespace speaks for the promotion)", () => {
    // Written in B's namespace, the promotion speaks for B, and A's source is then foreign.
    const v = review(request('CREATE', promotion('max-airlines-prod', 'mule-united-prod')), s);
    assert.deepEqual(v, {
      allowed: false,
      message:
        'ApiPromotion "baggage": spec.source.namespace "mule-united-prod" belongs to Organization "mule-united", but this ApiPromotion is in "max-airlines-prod" of Organization "max-airlines": ' +
        'a promotion copies only between environments of one organization; name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('the home namespace is neither a target nor a source', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-home', 'max-airlines-sandbox')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": an ApiPromotion lives in the environment it promotes into, and namespace "max-airlines-home" is the home namespace of Organization "max-airlines", not an environment',
      field: 'metadata.namespace',
    });
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'max-airlines-home')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "max-airlines-home" is the home namespace of Organization "max-airlines", which holds no ApiInstances: name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('a namespace of no organization, or the same environment, is refused', () => {
    assert.deepEqual(review(request('CREATE', promotion('max-airlines-prod', 'team-a')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "team-a" belongs to no Organization: a promotion copies only from an environment of its own organization; name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
    assert.deepEqual(review(request('UPDATE', promotion('max-airlines-prod', 'max-airlines-prod'), promotion('max-airlines-prod', 'max-airlines-sandbox')), s), {
      allowed: false,
      message: 'ApiPromotion "baggage": spec.source.namespace "max-airlines-prod" is the promotion\'s own namespace: name another environment of "max-airlines" ("max-airlines-sandbox")',
      field: 'spec.source.namespace',
    });
  });

  test('a promotion outside every organization is refused by namespace ownership first', () => {
    const v = review(request('CREATE', promotion('team-a', 'max-airlines-sandbox')), s);
    assert.equal(v.allowed, false);
    assert.match((v as { message: string }).message, /namespace "team-a" belongs to no Organization, so ApiPromotion "baggage" cannot be created there/);
  });
});

// The instance copy a promotion would create is judged with the ApiInstance rule's own checks (model/promotion-copy.ts).
describe('ApiPromotion admission: the instance copy it would create', () => {
  const inst = (ns: string, name: string, spec: Record<string, unknown>, created = '2025-03-01T00:00:00Z') => {
    const i = apiInstance(ns, name);
    return { ...i, metadata: { ...i.metadata, creationTimestamp: new Date(created) }, spec: { ...i.spec, ...spec } };
  };
  const s = story({
    apiInstances: [
      inst('max-airlines-prod', 'flights', {}, '2025-01-01T00:00:00Z'),
      inst('max-airlines-sandbox', 'baggage', { basePath: '/flights/sandbox/baggage/v1' }),
      inst('max-airlines-sandbox', 'gates', { basePath: '/flights/gates/v1', hostnames: ['api.mule-united.example'] }),
      inst('max-airlines-sandbox', 'routed', { basePath: '/flights/routed/v1', parentRefs: [{ name: 'public', namespace: 'infra' }] }),
    ] as never,
  });
  const promote = (source: string, overrides: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: API_VERSION,
    kind: 'ApiPromotion',
    metadata: { name: 'promo', namespace: 'max-airlines-prod', ...extra },
    spec: { source: { namespace: 'max-airlines-sandbox', name: source }, overrides },
  });
  const create = (source: string, overrides: Record<string, unknown>) => review(request('CREATE', promote(source, overrides)), s);
  const CLAIMS_HINT = 'route space is assigned by a platform admin in the Organization (spec.routes).';
  /** The verdict: what the promotion would create, where the value comes from, then the ApiInstance rule's words. */
  const refused = (instance: string, valueFrom: string, words: string, field: string, by = 'which its admission refuses') => ({
    allowed: false,
    message: `ApiPromotion "promo": it would create ApiInstance "${instance}" in "max-airlines-prod" with ${valueFrom}, ${by}: ${words}`,
    field,
  });
  const fromSource = (field: string, instance: string) => `${field} copied from the source ApiInstance "max-airlines-sandbox/${instance}"`;
  const hostOutside = (i: number, host: string) =>
    `spec.hostnames[${i}] "${host}" is outside the route space of Organization "max-airlines": it claims hostnames "*.max-airlines.example" (spec.routes.hostnames). ` +
    `Use a hostname it claims, or no hostnames and a basePath under its path prefixes; ${CLAIMS_HINT}`;

  test('a copy inside the route space, on a free route, with an allowed upstream is admitted', () => {
    assert.deepEqual(create('baggage', { basePath: '/flights/baggage/v1', upstream: { url: 'https://baggage.max-airlines.example' } }), { allowed: true });
  });

  test('an override outside the route space: the override is named, in the ApiInstance rule\'s words', () => {
    const basePath =
      'spec.basePath "/gates/v1" on the gateway\'s shared host (no spec.hostnames) is outside the route space of Organization "max-airlines": it claims path prefixes "/flights" (spec.routes.pathPrefixes). ' +
      `Use a basePath under one of its prefixes, or hostnames it claims; ${CLAIMS_HINT}`;
    assert.deepEqual(create('baggage', { basePath: '/gates/v1' }), refused('baggage', 'spec.basePath set by spec.overrides.basePath', basePath, 'spec.overrides.basePath'));
    assert.deepEqual(
      create('gates', { hostnames: ['a.max-airlines.example', 'api.mule-united.example'] }),
      refused('gates', 'spec.hostnames[1] set by spec.overrides.hostnames[1]', hostOutside(1, 'api.mule-united.example'), 'spec.overrides.hostnames[1]'),
    );
  });

  test("the source's own value outside the route space: the source is named", () => {
    assert.deepEqual(create('gates', {}), refused('gates', fromSource('spec.hostnames[0]', 'gates'), hostOutside(0, 'api.mule-united.example'), 'spec.source.name'));
  });

  test('a Gateway API parent the platform does not share', () => {
    const words =
      'spec.parentRefs[0] names Gateway "infra/public", which is not a Gateway routes may attach to: the platform shares no Gateway (CROSSGATE_GATEWAY_PARENTS). ' +
      'Name one of those, or remove spec.parentRefs to be served by the crossgate gateway; shared Gateways are listed by a platform admin.';
    assert.deepEqual(create('routed', {}), refused('routed', fromSource('spec.parentRefs[0]', 'routed'), words, 'spec.source.name'));
  });

  test('a route an older instance holds, in the target or the source itself: the copy would never be served', () => {
    const conflict = (held: string, basePath: string) =>
      `route conflict on gateway "default": ApiInstance "${held}" is older and already claims any host with basePath "${basePath}"; ` +
      'the older instance keeps the route: change spec.basePath or spec.hostnames, or delete the other instance.';
    const unserved = 'which the gateway would not serve';
    assert.deepEqual(
      create('baggage', { basePath: '/flights/v1' }),
      refused('baggage', 'spec.basePath set by spec.overrides.basePath', conflict('max-airlines-prod/flights', '/flights/v1'), 'spec.overrides.basePath', unserved),
    );
    assert.deepEqual(
      create('baggage', {}),
      refused('baggage', fromSource('spec.basePath', 'baggage'), conflict('max-airlines-sandbox/baggage', '/flights/sandbox/baggage/v1'), 'spec.source.name', unserved),
    );
  });

  test('an upstream the platform refuses', () => {
    const words =
      'spec.upstream.url names host "127.0.0.1", a loopback address, which reaches the gateway itself (its admin port, its node, etcd on a local control plane): upstreams may never be loopback addresses. ' +
      'Only a platform admin can allow one exact loopback host:port (CROSSGATE_LOOPBACK_UPSTREAMS, e.g. "127.0.0.1:9000"), for local setups; ' +
      'otherwise use a Service of this namespace (spec.upstream.backendRef) or an external host the Organization allows.';
    assert.deepEqual(
      create('baggage', { basePath: '/flights/b/v1', upstream: { url: 'http://127.0.0.1:9000' } }),
      refused('baggage', 'spec.upstream.url set by spec.overrides.upstream.url', words, 'spec.overrides.upstream.url'),
    );
  });

  test('judged only when the spec is written: a finalizer or label change and a deletion are never blocked; a missing source is the operator\'s to report', () => {
    const refused = promote('baggage', {});
    assert.deepEqual(review(request('UPDATE', { ...refused, metadata: { ...refused.metadata, finalizers: ['crossgate.dev/apipromotion-cleanup'] } }, refused), s), { allowed: true });
    assert.deepEqual(review(request('UPDATE', promote('baggage', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' }), promote('baggage', {}, {})), s), { allowed: true });
    assert.equal(review(request('UPDATE', promote('baggage', { basePath: '/gates/v1' }), refused), s).allowed, false, 'a changed spec is judged');
    assert.deepEqual(create('not-there', { basePath: '/nowhere' }), { allowed: true });
  });

  test("a re-promotion keeps the route its own earlier copy holds; another object's age is not the copy's", () => {
    // A baggage instance in production older than flights (/flights/v1): the copy would hold that route only with its age.
    const older = (labels: Record<string, string>) => {
      const i = inst('max-airlines-prod', 'baggage', { basePath: '/flights/v1' }, '2024-12-01T00:00:00Z');
      return { ...i, metadata: { ...i.metadata, labels } };
    };
    const withCopy = (labels: Record<string, string>) => story({ apiInstances: [...s.apiInstances(), older(labels)] as never });
    const again = request('CREATE', promote('baggage', { basePath: '/flights/v1' }));
    assert.deepEqual(review(again, withCopy({ 'crossgate.dev/promotion': 'promo' })), { allowed: true });
    assert.equal(review(again, withCopy({})).allowed, false);
  });
});
