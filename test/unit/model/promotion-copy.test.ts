// model/promotion-copy.ts: the ApiInstance copy a promotion makes, and why the
// target would refuse it (or not serve it), with the field to blame. The
// webhook rule's messages: test/unit/webhook/apipromotion.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceCopyRefusal, promotedInstanceSpec } from '../../../model/promotion-copy.ts';
import { apiInstance, story } from '../webhook/fixtures.ts';
import { NO_PLATFORM_SETTINGS } from '../../../api/platform.ts';

const inst = (ns: string, name: string, spec: Record<string, unknown>, created: string) => {
  const i = apiInstance(ns, name);
  return { ...i, metadata: { ...i.metadata, creationTimestamp: new Date(created) }, spec: { ...i.spec, ...spec } };
};
const promotion = (overrides: Record<string, unknown>) => ({ metadata: { name: 'p', namespace: 'max-airlines-prod' }, spec: { overrides } });

describe('promotedInstanceSpec', () => {
  test("each override replaces the source's whole field; the source object is not shared", () => {
    const source = inst('max-airlines-sandbox', 'baggage', { upstream: { url: 'http://a.max-airlines-sandbox.svc', timeoutSeconds: 20 }, hostnames: ['a.max-airlines.example'] }, '2025-03-01T00:00:00Z');
    const spec = promotedInstanceSpec(promotion({ upstream: { url: 'http://b.max-airlines-prod.svc' }, basePath: undefined }), source);
    assert.deepEqual(spec.upstream, { url: 'http://b.max-airlines-prod.svc' }, 'no timeoutSeconds left from the source');
    assert.equal(spec.basePath, '/flights/v1', 'an undefined override keeps the source value');
    (spec.hostnames as string[]).push('x');
    assert.deepEqual(source.spec.hostnames, ['a.max-airlines.example']);
  });
});

describe('instanceCopyRefusal', () => {
  const source = inst('max-airlines-sandbox', 'baggage', { basePath: '/flights/sandbox/v1' }, '2025-03-01T00:00:00Z');
  const taken = inst('max-airlines-prod', 'other', { basePath: '/flights/prod/v1' }, '2025-04-01T00:00:00Z');
  const snap = story({ apiInstances: [source, taken] as never });
  const verdict = (overrides: Record<string, unknown>, existing?: { metadata: { creationTimestamp: Date } }) => {
    const r = instanceCopyRefusal(snap, promotion(overrides), source, existing);
    return r && `${r.reason} ${r.field}`;
  };

  test('each refusal has its reason and the promotion field to blame', () => {
    assert.equal(verdict({ basePath: '/flights/baggage/v1' }), undefined);
    assert.equal(verdict({ basePath: '/gates/v1' }), 'OutsideRouteClaims spec.overrides.basePath');
    assert.equal(verdict({ basePath: '/flights/b/v1', hostnames: ['api.mule-united.example'] }), 'OutsideRouteClaims spec.overrides.hostnames[0]');
    assert.equal(verdict({}), 'RouteConflict spec.source.name', 'the source holds its own path on the same gateway');
    assert.equal(verdict({ gateway: 'internal' }), undefined, 'another crossgate gateway: no conflict with the source');
    assert.equal(verdict({ basePath: '/flights/b/v1', upstream: { url: 'http://169.254.169.254/' } }), 'UpstreamNotAllowed spec.overrides.upstream.url');
    assert.equal(verdict({ basePath: '/flights/b/v1', upstream: { url: 'http://svc.mule-united-prod.svc:80' } }), 'UpstreamNotAllowed spec.overrides.upstream.url');
  });

  test('parentRefs: a Gateway the platform does not share, or one Gateway named twice, each with its own reason', () => {
    const platform = { ...NO_PLATFORM_SETTINGS, gatewayParents: ['gateway-system/shared'] };
    const backend = { upstream: { backendRef: { name: 'baggage', port: 8080 } }, basePath: '/flights/baggage/v1' };
    const judge = (parentRefs: unknown[]) => {
      const src = inst('max-airlines-sandbox', 'baggage', { ...backend, parentRefs }, '2025-03-01T00:00:00Z');
      const r = instanceCopyRefusal(story({ platform, apiInstances: [src] as never }), promotion({ basePath: '/flights/baggage/v2' }), src);
      return r && `${r.reason} ${r.field}`;
    };
    const shared = { name: 'shared', namespace: 'gateway-system' };
    assert.equal(judge([shared]), undefined);
    assert.equal(judge([{ name: 'internal', namespace: 'kube-system' }]), 'NotAllowedParent spec.source.name');
    assert.equal(judge([shared, shared]), 'DuplicateParent spec.source.name');
  });

  test('a new copy loses to an older route; an existing copy keeps its age, so a re-promotion keeps the route it holds', () => {
    assert.equal(verdict({ basePath: '/flights/prod/v1' }), 'RouteConflict spec.overrides.basePath');
    assert.equal(verdict({ basePath: '/flights/prod/v1' }, { metadata: { creationTimestamp: new Date('2025-02-01T00:00:00Z') } }), undefined);
  });

  test('the message says what would be created, where the value comes from, and why', () => {
    assert.equal(
      instanceCopyRefusal(snap, promotion({ basePath: '/flights/prod/v1' }), source)?.message,
      'it would create ApiInstance "baggage" in "max-airlines-prod" with spec.basePath set by spec.overrides.basePath, which the gateway would not serve: ' +
        'route conflict on gateway "default": ApiInstance "max-airlines-prod/other" is older and already claims any host with basePath "/flights/prod/v1"; ' +
        'the older instance keeps the route: change spec.basePath or spec.hostnames, or delete the other instance',
    );
  });
});
