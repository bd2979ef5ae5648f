// Gateway API rendering: which Gateways an instance may attach to and which
// hostnames its HTTPRoute carries (model/gateway-parents.ts, also the webhook's
// refusal), the HTTPRoute, SecurityPolicy and ReferenceGrant an instance gets
// (gatewayroute-desired.ts), the condition when the kinds are absent, and the
// GatewayRouteAccepted condition read from the route's status.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_PLATFORM_SETTINGS, parseGatewayParents, platformSettingsFromEnv, type PlatformSettings } from '../../../api/platform.ts';
import type { ApiInstance } from '../../../api/v1alpha1/index.ts';
import { gatewayRouteScope, parentRefProblem } from '../../../model/gateway-parents.ts';
import { desiredGatewayRoute, kindAbsentCondition, routeAcceptance, GATEWAY_ROUTE_CONDITION } from '../../../operator/controllers/gatewayroute-desired.ts';
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

  test('the kinds absent: the instance says so and stays on the crossgate gateway', () => {
    assert.deepEqual(kindAbsentCondition('HTTPRoute', 'gateway.networking.k8s.io'), {
      type: GATEWAY_ROUTE_CONDITION, status: 'False', reason: 'GatewayAPINotInstalled',
      message:
        'the cluster does not serve HTTPRoute (gateway.networking.k8s.io): install the Gateway API and Envoy Gateway CRDs to serve this instance through spec.parentRefs; until then no route is rendered and it stays on the crossgate gateway',
    });
  });
});
