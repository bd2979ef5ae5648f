// Gateway API rendering: which Gateways an instance may attach to and which
// hostnames its HTTPRoute carries (model/gateway-parents.ts, also the webhook's
// refusal), the HTTPRoute, SecurityPolicy and ReferenceGrant an instance gets
// (gatewayroute-desired.ts), the condition when the kinds are absent or the apiserver refuses a rendered object, and the
// GatewayRouteAccepted condition read from the route's status; route conflicts
// per parent listener (refused by the webhook, not rendered by the operator),
// the SecurityPolicy's CORS from the instance's cors Policy, and which objects
// under the route's name are crossgate's (by owner uid and labels, or orphaned
// after crossgate applied them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_PLATFORM_SETTINGS, parseGatewayParents, platformSettingsFromEnv, type PlatformSettings } from '../../../api/platform.ts';
import type { ApiInstance } from '../../../api/v1alpha1/index.ts';
import { gatewayRouteScope, parentRefProblem } from '../../../model/gateway-parents.ts';
import {
  desiredCors, desiredGatewayRoute, egOrigin, kindAbsentCondition, nameTakenCondition, orphanedRender, renderRejectedCondition, renderedFor, routeLabel, routeAcceptance, GATEWAY_ROUTE_CONDITION,
} from '../../../operator/controllers/gatewayroute-desired.ts';
import type { Policy } from '../../../api/v1alpha1/index.ts';
import { apiInstanceRules } from '../../../webhook/rules/apiinstance.ts';
import { apiInstance, request, story } from '../webhook/fixtures.ts';
import type { KubeObject } from '../../../webhook/admission.ts';

const platform: PlatformSettings = { ...NO_PLATFORM_SETTINGS, gatewayParents: ['gateway-system/shared'], gatewayHostnames: ['api.crossgate.example'] };
const authz = { name: 'crossgate-authz', namespace: 'crossgate-system', port: 9001 };
const s = story({ platform });

function inst(spec: Partial<ApiInstance['spec']> = {}): ApiInstance {
  const i = apiInstance('max-airlines-prod', 'flights');
  i.metadata.uid = 'uid-1';
  i.spec = { ...i.spec, upstream: { backendRef: { name: 'flights', port: 8080 } }, hostnames: ['api.max-airlines.example'], parentRefs: [{ name: 'shared', namespace: 'gateway-system' }], ...spec };
  return i;
}

describe('CROSSGATE_GATEWAY_PARENTS', () => {
  test('namespace/name entries, each once; anything else is refused naming the setting', () => {
    assert.deepEqual(platformSettingsFromEnv({ CROSSGATE_GATEWAY_PARENTS: 'gateway-system/shared, gateway-system/shared,edge/eg.public' }).gatewayParents, ['gateway-system/shared', 'edge/eg.public']);
    for (const bad of ['shared', 'a/b/c', 'Gw/x', '/x', 'ns/']) {
      assert.throws(() => parseGatewayParents([bad]), { message: `CROSSGATE_GATEWAY_PARENTS: ${JSON.stringify(bad)} is not namespace/name of a Gateway, e.g. gateway-system/shared` });
    }
  });
});

describe('which Gateways an instance may attach to', () => {
  test('only the shared Gateways the platform lists; the namespace defaults to the instance\'s', () => {
    assert.equal(parentRefProblem(s, 'max-airlines-prod', [{ name: 'shared', namespace: 'gateway-system' }]), undefined);
    const p = parentRefProblem(s, 'max-airlines-prod', [{ name: 'shared', namespace: 'gateway-system' }, { name: 'shared' }]);
    assert.deepEqual(p, {
      reason: 'NotAllowedParent',
      field: 'spec.parentRefs[1]',
      message:
        'spec.parentRefs[1] names Gateway "max-airlines-prod/shared", which is not a Gateway routes may attach to: the platform shares "gateway-system/shared" (CROSSGATE_GATEWAY_PARENTS). ' +
        'Name one of those, or remove spec.parentRefs to be served by the crossgate gateway; shared Gateways are listed by a platform admin',
    });
    assert.match(parentRefProblem(story(), 'max-airlines-prod', [{ name: 'shared', namespace: 'gateway-system' }])!.message, /the platform shares no Gateway \(CROSSGATE_GATEWAY_PARENTS\)/);
  });

  test('the webhook refuses a Gateway not shared, with the same message', () => {
    const bad = inst({ parentRefs: [{ name: 'internal', namespace: 'kube-system' }] });
    const v = apiInstanceRules(request('CREATE', bad as unknown as KubeObject), s);
    assert.equal(v.allowed, false);
    assert.equal(
      (v as { message: string }).message,
      'ApiInstance "flights": spec.parentRefs[0] names Gateway "kube-system/internal", which is not a Gateway routes may attach to: the platform shares "gateway-system/shared" (CROSSGATE_GATEWAY_PARENTS). ' +
        'Name one of those, or remove spec.parentRefs to be served by the crossgate gateway; shared Gateways are listed by a platform admin.',
    );
    assert.equal(apiInstanceRules(request('CREATE', inst() as unknown as KubeObject), s).allowed, true);
  });

  test('one Gateway named twice needs a different sectionName on each (Gateway API refuses the HTTPRoute otherwise): refused at admission, rendered by nobody', () => {
    const shared = { name: 'shared', namespace: 'gateway-system' };
    for (const [refs, first] of [
      [[shared, shared], 0],
      [[{ ...shared, sectionName: 'http' }, { ...shared, sectionName: 'http', port: 8080 }], 0],
      [[{ ...shared, sectionName: 'http' }, shared], 0],
      [[shared, { ...shared, port: 8443 }], 0],
    ] as const) {
      const p = parentRefProblem(s, 'max-airlines-prod', refs);
      assert.deepEqual(p, {
        reason: 'DuplicateParent',
        field: 'spec.parentRefs[1]',
        message:
          `spec.parentRefs[1] names Gateway "gateway-system/shared" again, as spec.parentRefs[${first}] does: Gateway API refuses an HTTPRoute that names one Gateway twice unless each names a different listener by sectionName. ` +
          'Give each a sectionName of its own, or name the Gateway once',
      }, JSON.stringify(refs));
    }
    assert.equal(parentRefProblem(s, 'max-airlines-prod', [{ ...shared, sectionName: 'http' }, { ...shared, sectionName: 'https' }]), undefined);
    // The namespace defaults to the instance's: "shared" and "max-airlines-prod/shared" are one Gateway.
    const own = { ...platform, gatewayParents: ['max-airlines-prod/shared'] };
    assert.equal(parentRefProblem(story({ platform: own }), 'max-airlines-prod', [{ name: 'shared' }, { name: 'shared', namespace: 'max-airlines-prod' }])?.reason, 'DuplicateParent');
    const v = apiInstanceRules(request('CREATE', inst({ parentRefs: [shared, shared] }) as unknown as KubeObject), s);
    assert.equal(v.allowed, false);
    assert.match((v as { message: string }).message, /^ApiInstance "flights": spec.parentRefs\[1\] names Gateway "gateway-system\/shared" again, as spec.parentRefs\[0\] does: .* or name the Gateway once\.$/);
    const d = desiredGatewayRoute(s, inst({ parentRefs: [shared, shared] }), authz);
    assert.equal(d.render, false);
    assert.equal(!d.render && d.condition?.reason, 'DuplicateParent');
  });

  test('route claims apply: another organization\'s hostname renders nothing', () => {
    const r = gatewayRouteScope(s, inst({ hostnames: ['api.mule-united.example'] }));
    assert.equal(r.ok, false);
    assert.equal((r as { reason: string }).reason, 'OutsideRouteClaims');
    assert.match((r as { message: string }).message, /^spec.hostnames\[0\] "api.mule-united.example" is outside the route space of Organization "max-airlines"/);
  });

  test('the shared host is the platform\'s gateway host names, never a route without hostnames', () => {
    assert.deepEqual(gatewayRouteScope(s, inst({ hostnames: undefined })), { ok: true, hostnames: ['api.crossgate.example'] });
    const none = gatewayRouteScope(story({ platform: { ...platform, gatewayHostnames: [] } }), inst({ hostnames: undefined }));
    assert.equal((none as { reason: string }).reason, 'NoSharedHost');
    assert.match((none as { message: string }).message, /an HTTPRoute without hostnames would match on every host of the Gateway/);
  });
});

describe('the rendered objects', () => {
  test('HTTPRoute: parents, hostnames, PathPrefix basePath, backendRef, owned by the instance', () => {
    const d = desiredGatewayRoute(s, inst({ parentRefs: [{ name: 'shared', namespace: 'gateway-system', sectionName: 'https', port: 443 }] }), authz);
    assert.ok(d.render);
    assert.deepEqual(d.route.spec, {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shared', namespace: 'gateway-system', sectionName: 'https', port: 443 }],
      hostnames: ['api.max-airlines.example'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/flights/v1' } }], backendRefs: [{ name: 'flights', port: 8080 }] }],
    });
    assert.equal(d.route.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.deepEqual(d.route.metadata.ownerReferences, [{ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', name: 'flights', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
  });

  test('SecurityPolicy: targets the route, ext_authz over gRPC to crossgate-authz with the route identity', () => {
    const d = desiredGatewayRoute(s, inst(), authz);
    assert.ok(d.render);
    assert.deepEqual(d.policy.spec, {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'flights' }],
      extAuth: {
        grpc: { backendRefs: [{ name: 'crossgate-authz', namespace: 'crossgate-system', port: 9001 }] },
        contextExtensions: [{ name: 'crossgate-route', type: 'Value', value: 'max-airlines-prod/flights' }],
      },
    });
  });

  test('ReferenceGrant in the authz namespace for the instance\'s namespace, labelled, no owner; none when authz is in the same namespace', () => {
    const d = desiredGatewayRoute(s, inst(), authz);
    assert.ok(d.render);
    assert.deepEqual(d.grant, {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'crossgate-authz-from-max-airlines-prod', namespace: 'crossgate-system', labels: { 'app.kubernetes.io/managed-by': 'crossgate-operator', 'crossgate.dev/authz-grant-from': 'max-airlines-prod' } },
      spec: { from: [{ group: 'gateway.envoyproxy.io', kind: 'SecurityPolicy', namespace: 'max-airlines-prod' }], to: [{ group: '', kind: 'Service', name: 'crossgate-authz' }] },
    });
    const same = desiredGatewayRoute(s, inst(), { ...authz, namespace: 'max-airlines-prod' });
    assert.ok(same.render && same.grant === undefined);
  });

  test('nothing without parentRefs; a URL upstream, a Gateway not shared or a route outside the claims: nothing, with the reason', () => {
    assert.deepEqual(desiredGatewayRoute(s, inst({ parentRefs: undefined }), authz), { render: false });
    const url = desiredGatewayRoute(s, inst({ upstream: { url: 'https://flights.max-airlines.example' } }), authz);
    assert.equal(url.render, false);
    assert.deepEqual(url.render === false && url.condition, {
      type: GATEWAY_ROUTE_CONDITION,
      status: 'False',
      reason: 'URLUpstream',
      message:
        'spec.upstream.url cannot be expressed in an HTTPRoute, which forwards to Services only: no route is rendered and the instance stays on the crossgate gateway. Use spec.upstream.backendRef to be served through spec.parentRefs',
    });
    const parent = desiredGatewayRoute(s, inst({ parentRefs: [{ name: 'other', namespace: 'gateway-system' }] }), authz);
    assert.equal(parent.render === false && parent.condition?.reason, 'NotAllowedParent');
    assert.match(parent.render === false ? parent.condition!.message : '', /^no HTTPRoute is rendered: spec.parentRefs\[0\] names Gateway "gateway-system\/other"/);
    const outside = desiredGatewayRoute(s, inst({ hostnames: ['api.mule-united.example'] }), authz);
    assert.equal(outside.render === false && outside.condition?.reason, 'OutsideRouteClaims');
  });
});

describe('GatewayRouteAccepted', () => {
  const route = (parents?: unknown[]) => ({ metadata: { namespace: 'max-airlines-prod' }, spec: { parentRefs: [{ name: 'shared', namespace: 'gateway-system' }] }, status: parents ? { parents } : undefined } as Parameters<typeof routeAcceptance>[0]);
  const parent = (accepted: string, resolved = 'True', reason = 'Accepted') => ({
    parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shared', namespace: 'gateway-system' },
    controllerName: 'gateway.envoyproxy.io/gatewayclass-controller',
    conditions: [
      { type: 'Accepted', status: accepted, reason, message: accepted === 'True' ? 'Route is accepted' : 'no listener matches the route\'s hostnames' },
      { type: 'ResolvedRefs', status: resolved, reason: resolved === 'True' ? 'ResolvedRefs' : 'BackendNotFound', message: resolved === 'True' ? 'resolved' : 'Service "flights" not found' },
    ],
  });

  test('Pending until a controller reports', () => {
    assert.deepEqual(routeAcceptance(route()), { type: GATEWAY_ROUTE_CONDITION, status: 'Unknown', reason: 'Pending', message: 'HTTPRoute rendered; no Gateway API controller has reported on it for Gateway "gateway-system/shared" yet' });
  });

  test('accepted with resolved refs: True; otherwise the controller\'s reason and message', () => {
    assert.deepEqual(routeAcceptance(route([parent('True')])), {
      type: GATEWAY_ROUTE_CONDITION, status: 'True', reason: 'Accepted', message: 'HTTPRoute accepted by Gateway "gateway-system/shared" (gateway.envoyproxy.io/gatewayclass-controller)',
    });
    assert.deepEqual(routeAcceptance(route([parent('False', 'True', 'NoMatchingListenerHostname')])), {
      type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: 'NoMatchingListenerHostname',
      message: 'Gateway "gateway-system/shared" (gateway.envoyproxy.io/gatewayclass-controller) did not accept the HTTPRoute: no listener matches the route\'s hostnames',
    });
    assert.deepEqual(routeAcceptance(route([parent('True', 'False')])), {
      type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: 'BackendNotFound',
      message: 'Gateway "gateway-system/shared" (gateway.envoyproxy.io/gatewayclass-controller) cannot resolve the HTTPRoute\'s references: Service "flights" not found',
    });
  });

  test('a route status message as long as the Gateway API CRD allows (32768, or forged by whoever may write it) is quoted bounded: the instance\'s status write never fails on it', () => {
    const huge = (type: string) => ({ ...parent('True'), conditions: [{ type: 'Accepted', status: type === 'Accepted' ? 'False' : 'True', reason: 'Bad', message: 'y'.repeat(32_768) }, { type: 'ResolvedRefs', status: type === 'ResolvedRefs' ? 'False' : 'True', reason: 'Bad', message: 'z'.repeat(32_768) }] });
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const c = routeAcceptance(route([huge(type)]));
      assert.equal(c.reason, 'Bad');
      assert.ok(c.message.length <= 1200, `${type}: ${c.message.length}`);
      assert.match(c.message, /^Gateway "gateway-system\/shared" \(gateway.envoyproxy.io\/gatewayclass-controller\) (did not accept the HTTPRoute|cannot resolve the HTTPRoute's references): [yz]+…$/);
    }
  });

  test('the kinds absent: the instance says so and stays on the crossgate gateway', () => {
    assert.deepEqual(kindAbsentCondition('HTTPRoute', 'gateway.networking.k8s.io'), {
      type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: 'GatewayAPINotInstalled',
      message:
        'the cluster does not serve HTTPRoute (gateway.networking.k8s.io): install the Gateway API and Envoy Gateway CRDs to serve this instance through spec.parentRefs; until then no route is rendered and it stays on the crossgate gateway',
    });
  });

  test('a rendered object the apiserver refuses: the instance quotes the refusal (bounded) and says the older route is gone', () => {
    const why = 'HTTP 422 Invalid: HTTPRoute.gateway.networking.k8s.io "flights" is invalid: spec.parentRefs: Invalid value: sectionName must be unique when parentRefs includes 2 or more references to the same parent';
    assert.deepEqual(renderRejectedCondition('HTTPRoute', 'gateway.networking.k8s.io', why), {
      type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: 'RenderRejected',
      message: `the apiserver refused the rendered HTTPRoute (gateway.networking.k8s.io): ${why}; no route is rendered for this instance (one rendered before is removed) until its spec changes`,
    });
    const long = renderRejectedCondition('SecurityPolicy', 'gateway.envoyproxy.io', `HTTP 422 Invalid: ${'x'.repeat(40_000)}`).message;
    assert.ok(long.length < 1300, `${long.length}`);
    assert.match(long, /x…; no route is rendered for this instance/);
  });
});

describe('route conflicts per parent listener', () => {
  const older = (name: string, ns: string, spec: Partial<ApiInstance['spec']>) => {
    const i = inst(spec);
    i.metadata = { ...i.metadata, name, namespace: ns, uid: `uid-${name}`, creationTimestamp: '2025-03-01T00:00:00Z' as unknown as Date };
    return i;
  };
  const section = (sectionName?: string, port?: number) => [{ name: 'shared', namespace: 'gateway-system', ...(sectionName ? { sectionName } : {}), ...(port ? { port } : {}) }];
  const withOlder = (o: ApiInstance) => story({ platform, apiInstances: [o] });

  test('an older instance on the same listener keeps the route: nothing is rendered, with the reason', () => {
    const snap = withOlder(older('timetable', 'max-airlines-sandbox', { parentRefs: section('http') }));
    const d = desiredGatewayRoute(snap, inst({ parentRefs: section('http') }), authz);
    assert.equal(d.render, false);
    assert.deepEqual(d.render === false && d.condition, {
      type: GATEWAY_ROUTE_CONDITION,
      status: 'False',
      reason: 'RouteConflict',
      message:
        'no HTTPRoute is rendered: route conflict on Gateway "gateway-system/shared" listener "http": ApiInstance "max-airlines-sandbox/timetable" is older and already claims host "api.max-airlines.example" with basePath "/flights/v1"; ' +
        'the older instance keeps the route: change spec.basePath or spec.hostnames, attach to another listener (spec.parentRefs), or delete the other instance',
    });
  });

  test('a parentRef without sectionName or port reaches every listener of its Gateway; another listener, Gateway, host or basePath does not conflict', () => {
    for (const [mine, theirs] of [[section(), section('http')], [section('http'), section()], [section(undefined, 443), section('https')], [section('http', 80), section('http')]] as const) {
      assert.equal(desiredGatewayRoute(withOlder(older('timetable', 'max-airlines-sandbox', { parentRefs: [...theirs] })), inst({ parentRefs: [...mine] }), authz).render, false, JSON.stringify([mine, theirs]));
    }
    const free: Partial<ApiInstance['spec']>[] = [
      { parentRefs: section('https') },
      { parentRefs: section(undefined, 8443) },
      { parentRefs: [{ name: 'other', namespace: 'gateway-system' }] },
      { parentRefs: undefined },
      { hostnames: ['eu.max-airlines.example'] },
      { basePath: '/flights/v2' },
    ];
    for (const spec of free) {
      const d = desiredGatewayRoute(withOlder(older('timetable', 'max-airlines-sandbox', { ...spec, parentRefs: 'parentRefs' in spec ? spec.parentRefs : section('http') })), inst({ parentRefs: section('http', 80) }), authz);
      assert.equal(d.render, true, JSON.stringify(spec));
    }
  });

  test('the newer instance never takes the route back; an older one outside its route space holds nothing', () => {
    const newer = inst({ parentRefs: section('http') });
    newer.metadata.creationTimestamp = '2025-04-01T00:00:00Z' as unknown as Date;
    const o = older('timetable', 'max-airlines-sandbox', { parentRefs: section('http') });
    assert.equal(desiredGatewayRoute(story({ platform, apiInstances: [newer] }), o, authz).render, true);
    const squatter = older('squat', 'mule-united-prod', { parentRefs: section('http') });
    assert.equal(desiredGatewayRoute(withOlder(squatter), inst({ parentRefs: section('http') }), authz).render, true);
  });

  test('the webhook refuses a new conflict with the same message, and lets an old one be edited', () => {
    const snap = withOlder(older('timetable', 'max-airlines-sandbox', { parentRefs: section('http') }));
    const v = apiInstanceRules(request('CREATE', inst({ parentRefs: section() }) as unknown as KubeObject), snap);
    assert.deepEqual(v, {
      allowed: false,
      field: 'spec.parentRefs',
      message:
        'ApiInstance "flights": no HTTPRoute can be rendered: route conflict on Gateway "gateway-system/shared" listener "http": ApiInstance "max-airlines-sandbox/timetable" is older and already claims host "api.max-airlines.example" with basePath "/flights/v1"; ' +
        'the older instance keeps the route: change spec.basePath or spec.hostnames, attach to another listener (spec.parentRefs), or delete the other instance.',
    });
    assert.equal(apiInstanceRules(request('CREATE', inst({ parentRefs: section('https') }) as unknown as KubeObject), snap).allowed, true);
    const stored = inst({ parentRefs: section('http') });
    const edited = inst({ parentRefs: section('http'), upstream: { backendRef: { name: 'flights-v2', port: 8080 } } });
    assert.equal(apiInstanceRules(request('UPDATE', edited as unknown as KubeObject, stored as unknown as KubeObject), snap).allowed, true);
    const moved = request('UPDATE', inst({ parentRefs: section('http') }) as unknown as KubeObject, inst({ parentRefs: section('https') }) as unknown as KubeObject);
    assert.equal(apiInstanceRules(moved, snap).allowed, false);
  });
});

describe('CORS on the SecurityPolicy', () => {
  const cors = (config: Record<string, unknown>, extra: Partial<Policy['spec']> = {}): Policy =>
    ({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Policy', metadata: { name: 'browser', namespace: 'max-airlines-prod' }, spec: { type: 'cors', targetRef: { name: 'flights' }, config, ...extra } }) as unknown as Policy;

  test('every field mapped to Envoy Gateway\'s spec.cors; origins normalized as the gateway compares them', () => {
    const p = cors({ allowOrigins: ['https://App.Example/', 'https://app.example', 'http://localhost:3000'], allowMethods: ['GET', 'PUT'], allowHeaders: ['x-api-key'], exposeHeaders: ['ratelimit'], maxAgeSeconds: 600, allowCredentials: true });
    const d = desiredGatewayRoute(s, inst(), authz, [p]);
    assert.ok(d.render);
    assert.deepEqual(d.policy.spec.cors, {
      allowOrigins: ['https://app.example', 'http://localhost:3000'],
      allowMethods: ['GET', 'PUT'],
      allowHeaders: ['x-api-key'],
      exposeHeaders: ['ratelimit'],
      maxAge: '600s',
      allowCredentials: true,
    });
  });

  test('the defaults the gateway applies: GET, HEAD, POST and any requested header', () => {
    assert.deepEqual(desiredCors(inst(), [cors({ allowOrigins: ['*'] })]), { allowOrigins: ['*'], allowMethods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] });
  });

  test('none without a cors policy, with an invalid one, or for another instance; an origin Envoy Gateway cannot express is left out', () => {
    assert.equal(desiredCors(inst(), []), undefined);
    assert.equal(desiredCors(inst(), [cors({ allowOrigins: ['*'], allowCredentials: true })]), undefined);
    assert.equal(desiredCors(inst(), [cors({ allowOrigins: ['*'] }, { targetRef: { name: 'other' } })]), undefined);
    const d = desiredGatewayRoute(s, inst(), authz, []);
    assert.ok(d.render && !('cors' in d.policy.spec));
    assert.deepEqual((desiredCors(inst(), [cors({ allowOrigins: ['https://a.example/path', 'ftp://a.example', 'https://b.example:8443', 'https://a..example'] })]) as { allowOrigins: string[] }).allowOrigins, ['https://b.example:8443']);
    assert.equal(desiredCors(inst(), [cors({ allowOrigins: ['ftp://a.example'] })]), undefined);
  });

  test('an origin Envoy Gateway would read as a wildcard is left out: the gateway compares origins literally (row 13)', () => {
    // "https://*" with credentials: Envoy Gateway would let any https site read responses made with visitors' cookies.
    assert.equal(desiredCors(inst(), [cors({ allowOrigins: ['https://*', 'http://*'], allowCredentials: true })]), undefined);
    const d = desiredCors(inst(), [cors({ allowOrigins: ['https://*.b.example', 'https://app.b.example'], allowCredentials: true })]) as { allowOrigins: string[]; allowCredentials: boolean };
    assert.deepEqual(d.allowOrigins, ['https://app.b.example']);
    for (const o of ['https://*', 'http://*', 'https://*.b.example', 'https://*:443', 'https://a.*.example']) assert.equal(egOrigin(o), false, o);
    assert.equal(egOrigin('*'), true);
  });

  test('the origin check is linear on hostile input (Envoy Gateway\'s pattern backtracks)', () => {
    // As long as Envoy Gateway accepts (253); a longer origin is refused before any pattern runs.
    const t = performance.now();
    assert.equal(egOrigin(`https://${'a'.repeat(244)}!`), false);
    assert.equal(egOrigin(`https://${'a-'.repeat(122)}a`), true);
    assert.ok(performance.now() - t < 50);
  });

  test('an origin longer than Envoy Gateway\'s CRD allows (253; crossgate allows 512) is left out: the SecurityPolicy would be refused, and the route with it', () => {
    const at = (n: number) => `https://${'a'.repeat(n - 'https://'.length - '.example'.length)}.example`;
    assert.equal(at(253).length, 253);
    assert.equal(egOrigin(at(253)), true);
    assert.equal(egOrigin(at(254)), false);
    assert.deepEqual((desiredCors(inst(), [cors({ allowOrigins: [at(300), 'https://app.b.example'] })]) as { allowOrigins: string[] }).allowOrigins, ['https://app.b.example']);
  });
});

describe('which objects under the route\'s name are crossgate\'s', () => {
  const ours = { metadata: { labels: { 'app.kubernetes.io/managed-by': 'crossgate-operator', 'crossgate.dev/apiinstance': 'flights' }, ownerReferences: [{ uid: 'uid-1', controller: true }] } };

  test('by the controller owner uid and the labels, never by name alone', () => {
    assert.equal(renderedFor(ours, inst()), true);
    assert.equal(renderedFor({ metadata: {} }, inst()), false, "a user's own HTTPRoute");
    assert.equal(renderedFor({ metadata: { ...ours.metadata, ownerReferences: [{ uid: 'uid-0', controller: true }] } }, inst()), false, 'rendered for a namesake deleted since');
    assert.equal(renderedFor({ metadata: { ...ours.metadata, ownerReferences: [{ uid: 'uid-1' }] } }, inst()), false, 'not the controller');
    assert.equal(renderedFor({ metadata: { ownerReferences: ours.metadata.ownerReferences } }, inst()), false, 'labels dropped');
  });

  test('an object crossgate applied whose owner is gone (deleted with --cascade=orphan) is still crossgate\'s; a user\'s, or one another controller owns, never', () => {
    const applied = [{ manager: 'crossgate-gatewayroute', operation: 'Apply' }, { manager: 'generic-garbage-collector', operation: 'Update' }];
    const orphan = { metadata: { labels: ours.metadata.labels, managedFields: applied } };
    assert.equal(orphanedRender(orphan, 'flights', 'crossgate-gatewayroute'), true);
    assert.equal(orphanedRender({ metadata: { ...orphan.metadata, ownerReferences: [{ uid: 'uid-0', controller: true }] } }, 'flights', 'crossgate-gatewayroute'), false, 'owned: its owner decides (garbage collection)');
    assert.equal(orphanedRender(orphan, 'timetable', 'crossgate-gatewayroute'), false, 'rendered under another name');
    assert.equal(orphanedRender({ metadata: { labels: ours.metadata.labels, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } }, 'flights', 'crossgate-gatewayroute'), false, "a user's, with crossgate's labels");
    assert.equal(orphanedRender({ metadata: { labels: ours.metadata.labels, managedFields: [{ manager: 'crossgate-gatewayroute', operation: 'Apply', subresource: 'status' }] } }, 'flights', 'crossgate-gatewayroute'), false, 'only a status');
    assert.equal(orphanedRender({ metadata: { managedFields: applied } }, 'flights', 'crossgate-gatewayroute'), false, 'labels dropped');
  });

  test('a name over 63 characters (names go to 253) still renders: its label is a valid label value, and the rendered objects are recognised as its own', () => {
    const name = `${'flights-'.repeat(12)}v1`;
    const i = inst();
    i.metadata.name = name;
    const d = desiredGatewayRoute(s, i, authz);
    assert.ok(d.render);
    const labels = (d.route.metadata as { labels: Record<string, string> }).labels;
    const label = labels['crossgate.dev/apiinstance']!;
    assert.equal(label, routeLabel(name));
    assert.match(label, /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/, 'a label value the apiserver accepts');
    assert.equal(label.length, 63);
    assert.notEqual(routeLabel(`${name}x`), label, 'another long name, another label');
    assert.equal(routeLabel('flights'), 'flights', 'a short name is its own label');
    assert.equal(d.route.metadata.name, name);
    assert.equal(renderedFor(d.route, i), true);
    const orphan = { metadata: { labels, managedFields: [{ manager: 'crossgate-gatewayroute', operation: 'Apply' }] } };
    assert.equal(orphanedRender(orphan, name, 'crossgate-gatewayroute'), true);
  });

  test('NameTaken names the object and says what to do', () => {
    assert.deepEqual(nameTakenCondition('HTTPRoute', 'max-airlines-prod', 'flights'), {
      type: GATEWAY_ROUTE_CONDITION,
      status: 'False',
      reason: 'NameTaken',
      message:
        'HTTPRoute "max-airlines-prod/flights" already exists and was not rendered by crossgate for this ApiInstance (it has no controller owner reference to it): ' +
        'it is left untouched and no route is rendered; delete or rename that HTTPRoute (or rename the ApiInstance), and the route is rendered once the name is free',
    });
  });
});
