// Gateway API rendering on the real apiserver: an ApiInstance with
// spec.parentRefs gets an HTTPRoute, an Envoy Gateway SecurityPolicy and a
// ReferenceGrant that the apiserver accepts with the real CRDs (their schemas
// and CEL), fetched from the Go modules that ship them
// (test/controlplane/gateway-crds.ts) and installed with server-side apply.
// Before they are installed the instance says the kinds are absent and stays
// Routed on the crossgate gateway. Then: update, the route status a Gateway API
// controller writes shows on the instance, a Gateway the platform does not
// share is refused at admission (an impersonated org admin) and, with the
// webhook gone, rendered by nobody; a user's own HTTPRoute under the instance's
// name is reported and left untouched, and the route follows once it is gone; a
// cors Policy becomes the SecurityPolicy's spec.cors (update, removal; an
// origin Envoy Gateway reads as a wildcard, "https://*", or longer than its CRD
// allows, never rendered); route claims hold on every parent against another
// organization's admin, while instance conflicts count per listener (refused,
// or not rendered without the webhook, on the same one; allowed on another); a
// hostname a platform admin moves to another organization takes the former
// holder's route at once (not at the next resync), also after an edit that
// cannot be rendered (one Gateway named twice: refused at admission,
// DuplicateParent without the webhook; a route an admission policy refuses:
// RenderRejected); a forged 32768-byte route status message shows bounded; an
// instance deleted with --cascade=orphan takes its objects all the same; a
// ReferenceGrant still needed is put back when deleted, and one nobody needs
// any more is swept when the operator starts; removal takes the objects and
// sweeps the ReferenceGrant. No Envoy runs here: `make kind-e2e` is where a
// real one does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, condition, getJson, kubectl, organizationYaml, OPERATOR_NAMESPACE, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition, canI,
  type RunningOperator,
} from './support/index.ts';
import { CrdsUnavailable, gatewayCrds } from '../controlplane/gateway-crds.ts';
import { KubeHttp } from '../../kube/kube.ts';
import { loadConnection } from '../../kube/kube-connection.ts';
import { objectPath } from '../../kube/keys.ts';
import { applyOwned } from '../../kube/effects.ts';
import { GATEWAYROUTE_MANAGER } from '../../operator/controllers/gatewayroute.ts';
import { HTTPROUTES } from '../../operator/controllers/gatewayroute-desired.ts';

const org = uniqueName('gwapi');
const home = `${org}-home`;
const prod = `${org}-prod`;
const staging = `${org}-staging`;
const evil = `${org}-x`;
const evilProd = `${evil}-prod`;
const EVIL_ADMIN = { as: 'gwapi-x-admin', groups: [`${evil}:admins`] };
const gwNs = `${org}-gateways`;
const host = `api.${org}.example`;
const ADMIN = { as: 'gwapi-admin', groups: [`${org}:admins`] };
const platform = { CROSSGATE_GATEWAY_PARENTS: `${gwNs}/shared` };
const CRD_NAMES = ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'].map((p) => `${p}.gateway.networking.k8s.io`).concat('securitypolicies.gateway.envoyproxy.io');
const COND = 'GatewayRouteAccepted';

function instanceYaml(name: string, opts: { basePath?: string; hostnames?: string[]; parent?: string; url?: boolean; namespace?: string; sectionName?: string; assetNamespace?: string } = {}): string {
  const upstream = opts.url ? `{url: "http://flights.${prod}.svc.cluster.local:8080"}` : '{backendRef: {name: flights, port: 8080}}';
  return `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${opts.namespace ?? prod}}
spec:
  assetRef: {name: flights-eapi}
  basePath: ${opts.basePath ?? '/flights/v1'}
  hostnames: ${JSON.stringify(opts.hostnames ?? [host])}
  upstream: ${upstream}
  parentRefs: [{name: ${opts.parent ?? 'shared'}, namespace: ${gwNs}, sectionName: ${opts.sectionName ?? 'http'}}]
`;
}

const corsPolicyYaml = (config: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: browser, namespace: ${prod}}
spec:
  type: cors
  targetRef: {name: flights}
  config: ${config}
`;

/** The route goes first, then its SecurityPolicy (a route never stands without it): wait for the policy to follow. */
const policyGone = (name: string, namespace: string) =>
  waitFor(async () => ((await getJson(['securitypolicy', name, '-n', namespace])) === undefined ? true : undefined), { what: `SecurityPolicy ${namespace}/${name} to go after its route` });

/** A platform admin sets an Organization's hostname claims. */
const claims = (name: string, hostnames: string[]) => kubectl(['patch', 'organization', name, '--type=merge', '-p', JSON.stringify({ spec: { routes: { hostnames } } })]);

/** The object's spec and resourceVersion: what must not change when crossgate leaves it alone. */
const untouched = (o: { spec: unknown; metadata: { resourceVersion: string; ownerReferences?: unknown; labels?: unknown } }) => [o.spec, o.metadata.resourceVersion, o.metadata.ownerReferences, o.metadata.labels];

let files: string[] | undefined;
let skip: string | false = false;
try {
  files = await gatewayCrds();
} catch (err) {
  if (!(err instanceof CrdsUnavailable)) throw err;
  skip = `Gateway API CRDs unavailable: ${err.message}`;
  console.log(`# skipping gateway-api.test.ts: ${skip}`);
}

describe('Gateway API rendering', { skip }, () => {
  const webhook = new SkippableWebhook({ env: platform });
  let op: RunningOperator;

  before(async () => {
    // The kinds start absent (a previous run may have installed them).
    await kubectl(['delete', 'crd', ...CRD_NAMES, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await webhook.start();
    op = await startOperator({ env: platform });
    await applyYaml(organizationYaml({
      name: org, homeNamespace: home, environments: [{ namespace: prod }, { name: 'staging', namespace: staging, type: 'sandbox' }], routes: `{hostnames: ["*.${org}.example"], pathPrefixes: ["/${org}"]}`,
    }));
    await applyYaml(organizationYaml({ name: evil, homeNamespace: `${evil}-home`, environments: [{ namespace: evilProd }], routes: `{hostnames: ["*.${evil}.example"]}` }));
    await waitForCondition(['organization', org], 'Ready', 'True');
    await waitForCondition(['organization', evil], 'Ready', 'True');
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: flights-eapi, namespace: ${home}}
spec: {type: http, title: Flights EAPI, version: 1.0.0}
`);
  });

  after(async () => {
    await kubectl(['delete', 'organization', org, evil, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', home, prod, staging, `${evil}-home`, evilProd, gwNs, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await kubectl(['delete', 'referencegrant', '-n', OPERATOR_NAMESPACE, '-l', `crossgate.dev/authz-grant-from in (${prod},${staging},${org}-gone)`, '--ignore-not-found'], { allowFail: true });
    await op?.proc.stop();
    await webhook.stop();
  });

  test('without the Gateway API CRDs the instance says so, stays Routed, and the operator keeps working', async () => {
    await applyYaml(instanceYaml('flights'));
    const i = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'False', { reason: 'GatewayAPINotInstalled' });
    assert.match(condition(i, COND)!.message, /^the cluster does not serve (SecurityPolicy \(gateway.envoyproxy.io\)|HTTPRoute \(gateway.networking.k8s.io\)): install the Gateway API and Envoy Gateway CRDs/);
    assert.equal(condition(i, 'Ready')!.reason, 'Routed');
    const ready = await fetch(`${op.healthUrl}/readyz`);
    assert.equal(ready.status, 200, 'an absent kind never keeps the operator from being ready');
  });

  test('with the CRDs installed (server-side apply), every rendered object is accepted by the apiserver', async () => {
    for (const f of files!) await kubectl(['apply', '--server-side', '--field-manager=crossgate-e2e', '-f', f]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((n) => `crd/${n}`)]);
    await kubectl(['create', 'namespace', gwNs]);
    // The operator retries a missing kind slowly; a touch of the instance reconciles it now.
    await kubectl(['annotate', 'apiinstance', 'flights', '-n', prod, `e2e/touch=${Date.now()}`, '--overwrite']);
    const i = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'Unknown' as 'True', { reason: 'Pending', timeoutMs: 30_000 });
    assert.equal(condition(i, COND)!.message, `HTTPRoute rendered; no Gateway API controller has reported on it for Gateway "${gwNs}/shared" yet`);
    const route = await getJson(['httproute', 'flights', '-n', prod]);
    assert.deepEqual(route.spec.parentRefs, [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shared', namespace: gwNs, sectionName: 'http' }]);
    assert.deepEqual(route.spec.hostnames, [host]);
    assert.deepEqual(route.spec.rules[0].matches, [{ path: { type: 'PathPrefix', value: '/flights/v1' } }]);
    assert.deepEqual(route.spec.rules[0].backendRefs.map((b: { name: string; port: number }) => [b.name, b.port]), [['flights', 8080]]);
    assert.equal(route.metadata.ownerReferences[0].kind, 'ApiInstance');
    const policy = await getJson(['securitypolicy', 'flights', '-n', prod]);
    assert.deepEqual(policy.spec.targetRefs, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'flights' }]);
    assert.deepEqual(policy.spec.extAuth.contextExtensions, [{ name: 'crossgate-route', type: 'Value', value: `${prod}/flights` }]);
    assert.deepEqual(policy.spec.extAuth.grpc.backendRefs.map((b: { name: string; namespace: string; port: number }) => [b.name, b.namespace, b.port]), [['crossgate-authz', OPERATOR_NAMESPACE, 9001]]);
    const grant = await getJson(['referencegrant', `crossgate-authz-from-${prod}`, '-n', OPERATOR_NAMESPACE]);
    assert.deepEqual(grant.spec.from, [{ group: 'gateway.envoyproxy.io', kind: 'SecurityPolicy', namespace: prod }]);
    assert.equal(grant.metadata.labels['crossgate.dev/authz-grant-from'], prod);
  });

  test("the operator's read and its apply race a user making the same name: the user's object is never taken over (applyOwned)", async () => {
    // What the reconciler does after its GET, played against the real apiserver with the user's object already made
    // in between (the window itself is too short to hit on purpose).
    const http = new KubeHttp(loadConnection());
    const path = (name: string) => objectPath(HTTPROUTES, prod, name);
    const ours = (name: string) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace: prod, labels: { 'app.kubernetes.io/managed-by': 'crossgate', 'crossgate.dev/gateway-route': name } },
      spec: { parentRefs: [{ name: 'shared', namespace: gwNs, sectionName: 'http' }], hostnames: [host], rules: [{ backendRefs: [{ name: 'flights', port: 8080 }] }] },
    });
    const userRoute = (name: string, spec: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: ${prod}, annotations: {owner: the-user}}
spec: ${spec}
`;
    // 1. Nothing there at the read; the user's route, made meanwhile, sets fields the apply sets: a conflict, nothing written.
    await applyYaml(userRoute('race-overlap', '{parentRefs: [{name: own-gateway}], rules: [{backendRefs: [{name: theirs, port: 80}]}]}'));
    const overlapBefore = await getJson(['httproute', 'race-overlap', '-n', prod]);
    assert.deepEqual(await applyOwned(http, path('race-overlap'), ours('race-overlap'), GATEWAYROUTE_MANAGER, undefined), { taken: true });
    assert.deepEqual(untouched((await getJson(['httproute', 'race-overlap', '-n', prod]))!), untouched(overlapBefore));
    // 2. The user's route shares no field with the apply (it would merge in): every field the apply added is handed back.
    await applyYaml(userRoute('race-merge', '{}'));
    assert.deepEqual(await applyOwned(http, path('race-merge'), ours('race-merge'), GATEWAYROUTE_MANAGER, undefined), { taken: true });
    const merged = await getJson(['httproute', 'race-merge', '-n', prod]);
    assert.equal(merged.metadata.annotations.owner, 'the-user');
    assert.equal(merged.metadata.labels?.['crossgate.dev/gateway-route'], undefined);
    assert.equal(merged.spec.parentRefs, undefined);
    assert.equal(merged.spec.hostnames, undefined);
    assert.ok(!(merged.metadata.managedFields ?? []).some((f: { manager: string }) => f.manager === GATEWAYROUTE_MANAGER), 'no field left to the operator');
    // 3. Ours at the read, replaced by the user's before the apply: the uid it read no longer matches, nothing written.
    const first = await applyOwned(http, path('race-replaced'), ours('race-replaced'), GATEWAYROUTE_MANAGER, undefined);
    assert.ok('applied' in first);
    const readUid = first.applied.metadata.uid as string;
    await kubectl(['delete', 'httproute', 'race-replaced', '-n', prod, '--wait=true']);
    await applyYaml(userRoute('race-replaced', '{parentRefs: [{name: own-gateway}]}'));
    const replacedBefore = await getJson(['httproute', 'race-replaced', '-n', prod]);
    assert.deepEqual(await applyOwned(http, path('race-replaced'), ours('race-replaced'), GATEWAYROUTE_MANAGER, readUid), { taken: true });
    assert.deepEqual(untouched((await getJson(['httproute', 'race-replaced', '-n', prod]))!), untouched(replacedBefore));
    // 4. Still ours, edited by hand: put back (force), as the reconciler always did.
    const mine = await applyOwned(http, path('race-mine'), ours('race-mine'), GATEWAYROUTE_MANAGER, undefined);
    assert.ok('applied' in mine);
    await kubectl(['patch', 'httproute', 'race-mine', '-n', prod, '--type=merge', '-p', '{"spec":{"hostnames":["edited.example"]}}']);
    const again = await applyOwned(http, path('race-mine'), ours('race-mine'), GATEWAYROUTE_MANAGER, mine.applied.metadata.uid);
    assert.ok('applied' in again);
    assert.deepEqual(again.applied.spec.hostnames, [host]);
    await kubectl(['delete', 'httproute', 'race-overlap', 'race-merge', 'race-replaced', 'race-mine', '-n', prod, '--wait=false']);
  });

  test('the route status a Gateway API controller writes shows on the instance: Accepted, then unresolved refs', async () => {
    const status = (resolved: boolean) => JSON.stringify({
      status: {
        parents: [{
          parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shared', namespace: gwNs, sectionName: 'http' },
          controllerName: 'gateway.envoyproxy.io/gatewayclass-controller',
          conditions: [
            { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Route is accepted', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), observedGeneration: 1 },
            resolved
              ? { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'Resolved all the Object references for the Route', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), observedGeneration: 1 }
              : { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: `Service ${prod}/flights not found`, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), observedGeneration: 1 },
          ],
        }],
      },
    });
    await kubectl(['patch', 'httproute', 'flights', '-n', prod, '--subresource=status', '--type=merge', '-p', status(true)]);
    const ok = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'True', { reason: 'Accepted' });
    assert.equal(condition(ok, COND)!.message, `HTTPRoute accepted by Gateway "${gwNs}/shared" (gateway.envoyproxy.io/gatewayclass-controller)`);
    await kubectl(['patch', 'httproute', 'flights', '-n', prod, '--subresource=status', '--type=merge', '-p', status(false)]);
    const bad = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'False', { reason: 'BackendNotFound' });
    assert.equal(condition(bad, COND)!.message, `Gateway "${gwNs}/shared" (gateway.envoyproxy.io/gatewayclass-controller) cannot resolve the HTTPRoute's references: Service ${prod}/flights not found`);
    // A message as long as the HTTPRoute CRD allows (whoever may write the route's status): quoted bounded, so the
    // instance's own status write (whose messages have the same bound) still goes through.
    const forged = JSON.parse(status(true));
    forged.status.parents[0].conditions[0] = { ...forged.status.parents[0].conditions[0], status: 'False', reason: 'Forged', message: 'y'.repeat(32_768) };
    await kubectl(['patch', 'httproute', 'flights', '-n', prod, '--subresource=status', '--type=merge', '-p', JSON.stringify(forged)]);
    const long = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'False', { reason: 'Forged' });
    assert.match(condition(long, COND)!.message, /^Gateway ".*" \(gateway.envoyproxy.io\/gatewayclass-controller\) did not accept the HTTPRoute: y{1024}…$/);
  });

  test('a hostname and basePath change follows on the route', async () => {
    await applyYaml(instanceYaml('flights', { basePath: '/flights/v2', hostnames: [`eu.${org}.example`] }));
    await waitFor(async () => {
      const r = await getJson(['httproute', 'flights', '-n', prod]);
      return r?.spec.rules[0].matches[0].path.value === '/flights/v2' && r.spec.hostnames[0] === `eu.${org}.example` ? r : undefined;
    }, { what: 'the HTTPRoute to follow the instance' });
  });

  test("a user's own HTTPRoute under the instance's name: reported, left untouched, and the route follows once it is gone", async () => {
    await applyYaml(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: timetable, namespace: ${prod}}
spec:
  parentRefs: [{name: own-gateway}]
  rules: [{backendRefs: [{name: timetable-v0, port: 80}]}]
`);
    const before = await getJson(['httproute', 'timetable', '-n', prod]);
    await applyYaml(instanceYaml('timetable', { basePath: '/timetable', hostnames: [`tt.${org}.example`] }));
    const i = await waitForCondition(['apiinstance', 'timetable', '-n', prod], COND, 'False', { reason: 'NameTaken' });
    assert.equal(
      condition(i, COND)!.message,
      `HTTPRoute "${prod}/timetable" already exists and was not rendered by crossgate for this ApiInstance (it has no controller owner reference to it): ` +
        'it is left untouched and no route is rendered; delete or rename that HTTPRoute (or rename the ApiInstance), and the route is rendered once the name is free',
    );
    // Several reconciles later (a touch, the retry): still theirs, and no SecurityPolicy naming their route.
    await kubectl(['annotate', 'apiinstance', 'timetable', '-n', prod, `e2e/touch=${Date.now()}`, '--overwrite']);
    await new Promise((r) => setTimeout(r, 12_000));
    assert.deepEqual(untouched((await getJson(['httproute', 'timetable', '-n', prod]))!), untouched(before));
    assert.equal(await getJson(['securitypolicy', 'timetable', '-n', prod]), undefined);
    await kubectl(['delete', 'httproute', 'timetable', '-n', prod, '--wait=true']);
    await waitForCondition(['apiinstance', 'timetable', '-n', prod], COND, 'Unknown' as 'True', { reason: 'Pending', timeoutMs: 60_000 });
    const route = await getJson(['httproute', 'timetable', '-n', prod]);
    assert.equal(route.metadata.ownerReferences[0].uid, i.metadata.uid);
    assert.deepEqual(route.spec.hostnames, [`tt.${org}.example`]);
    await kubectl(['delete', 'apiinstance', 'timetable', '-n', prod, '--wait=true']);
  });

  test("a cors Policy becomes the SecurityPolicy's spec.cors, accepted by the apiserver; updated, then removed", async () => {
    await applyYaml(corsPolicyYaml(`{allowOrigins: ["https://App.${org}.example/", "http://localhost:3000"], allowMethods: [GET, POST], allowHeaders: [x-api-key], exposeHeaders: [ratelimit-remaining], maxAgeSeconds: 600, allowCredentials: true}`));
    const first = await waitFor(async () => (await getJson(['securitypolicy', 'flights', '-n', prod]))?.spec.cors, { what: 'spec.cors on the SecurityPolicy' });
    assert.deepEqual(first, {
      allowOrigins: [`https://app.${org}.example`, 'http://localhost:3000'],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['x-api-key'],
      exposeHeaders: ['ratelimit-remaining'],
      maxAge: '600s',
      allowCredentials: true,
    });
    await applyYaml(corsPolicyYaml('{allowOrigins: ["*"]}'));
    const second = await waitFor(async () => {
      const c = (await getJson(['securitypolicy', 'flights', '-n', prod]))?.spec.cors;
      return c?.allowOrigins?.[0] === '*' ? c : undefined;
    }, { what: 'spec.cors to follow the Policy' });
    assert.deepEqual(second, { allowOrigins: ['*'], allowMethods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] });
    // The attacker (the organization's admin): "https://*" with credentials is admitted (the gateway compares origins
    // literally, so it matches no site there) but Envoy Gateway would read it as any https site: it is never rendered.
    await waitFor(() => canI('create', 'policies.crossgate.dev', prod, ADMIN), { what: "the org admin's grant" });
    await applyYaml(corsPolicyYaml(`{allowOrigins: ["https://*", "https://*.${org}.example", "https://app.${org}.example"], allowCredentials: true}`), ADMIN);
    const third = await waitFor(async () => {
      const c = (await getJson(['securitypolicy', 'flights', '-n', prod]))?.spec.cors;
      return c?.allowCredentials === true ? c : undefined;
    }, { what: 'spec.cors to follow the wildcard Policy' });
    assert.deepEqual(third.allowOrigins, [`https://app.${org}.example`]);
    // An origin crossgate admits (up to 512 characters) but longer than Envoy Gateway's CRD allows (253): left out, so
    // the SecurityPolicy, and with it the route, is still accepted.
    const long = `https://${'a'.repeat(280)}.${org}.example`;
    await applyYaml(corsPolicyYaml(`{allowOrigins: ["${long}", "https://web.${org}.example"]}`), ADMIN);
    const fourth = await waitFor(async () => {
      const c = (await getJson(['securitypolicy', 'flights', '-n', prod]))?.spec.cors;
      return c?.allowOrigins?.[0] === `https://web.${org}.example` ? c : undefined;
    }, { what: 'spec.cors to follow the long-origin Policy' });
    assert.deepEqual(fourth.allowOrigins, [`https://web.${org}.example`]);
    assert.ok(await getJson(['httproute', 'flights', '-n', prod]), 'the route stays');
    await kubectl(['delete', 'policy', 'browser', '-n', prod, '--wait=true']);
    const after = await waitFor(async () => {
      const p = await getJson(['securitypolicy', 'flights', '-n', prod]);
      return p && !p.spec.cors ? p : undefined;
    }, { what: 'spec.cors to go with the Policy' });
    assert.deepEqual(after.spec.extAuth.contextExtensions, [{ name: 'crossgate-route', type: 'Value', value: `${prod}/flights` }]);
  });

  test("another organization's admin cannot take the route on any parent; within the organization, conflicts count per listener", async () => {
    const taken = { basePath: '/flights/v2', hostnames: [`eu.${org}.example`] };
    await waitFor(() => canI('create', 'apiinstances.crossgate.dev', evilProd, EVIL_ADMIN), { what: "the other org admin's grant" });
    await waitFor(() => canI('create', 'apiinstances.crossgate.dev', staging, ADMIN), { what: "the org admin's grant in staging" });
    // Another organization: its claims do not cover the host, on the same listener or another.
    for (const sectionName of ['http', 'https']) {
      const r = await applyYaml(instanceYaml('hijack', { ...taken, namespace: evilProd, sectionName }), { ...EVIL_ADMIN, allowFail: true });
      assert.notEqual(r.code, 0, r.stdout);
      assert.ok(r.stderr.includes(`ApiInstance "hijack": spec.hostnames[0] "eu.${org}.example" is outside the route space of Organization "${evil}"`), r.stderr);
    }
    // Same organization, another environment, the same listener: refused, naming the older instance.
    const r = await applyYaml(instanceYaml('copy', { ...taken, namespace: staging }), { ...ADMIN, allowFail: true });
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(
      r.stderr.includes(
        `ApiInstance "copy": no HTTPRoute can be rendered: route conflict on Gateway "${gwNs}/shared" listener "http": ApiInstance "${prod}/flights" is older and already claims host "eu.${org}.example" with basePath "/flights/v2"; ` +
          'the older instance keeps the route: change spec.basePath or spec.hostnames, attach to another listener (spec.parentRefs), or delete the other instance.',
      ),
      r.stderr,
    );
    // On another listener of the Gateway it is allowed and rendered.
    await applyYaml(instanceYaml('copy', { ...taken, namespace: staging, sectionName: 'https' }), ADMIN);
    await waitForCondition(['apiinstance', 'copy', '-n', staging], COND, 'Unknown' as 'True', { reason: 'Pending' });
    assert.equal((await getJson(['httproute', 'copy', '-n', staging])).spec.parentRefs[0].sectionName, 'https');
    await webhook.without(async () => {
      await kubectl(['delete', 'validatingwebhookconfiguration', 'crossgate-validating-webhook', '--ignore-not-found']);
      await applyYaml(instanceYaml('hijack', { ...taken, namespace: evilProd }), EVIL_ADMIN);
      const h = await waitForCondition(['apiinstance', 'hijack', '-n', evilProd], COND, 'False', { reason: 'OutsideRouteClaims' });
      assert.match(condition(h, COND)!.message, new RegExp(`^no HTTPRoute is rendered: spec.hostnames\\[0\\] "eu.${org}.example" is outside the route space of Organization "${evil}"`));
      assert.equal(await getJson(['httproute', 'hijack', '-n', evilProd]), undefined);
      // The same listener without the webhook: the operator does not render the newer instance's route.
      await applyYaml(instanceYaml('copy', { ...taken, namespace: staging }), ADMIN);
      const c = await waitForCondition(['apiinstance', 'copy', '-n', staging], COND, 'False', { reason: 'RouteConflict' });
      assert.match(condition(c, COND)!.message, new RegExp(`^no HTTPRoute is rendered: route conflict on Gateway "${gwNs}/shared" listener "http": ApiInstance "${prod}/flights" is older`));
      await waitFor(async () => ((await getJson(['httproute', 'copy', '-n', staging])) === undefined ? true : undefined), { what: 'the conflicting route to go' });
      assert.deepEqual((await getJson(['httproute', 'flights', '-n', prod])).spec.hostnames, [`eu.${org}.example`]);
    });
    await kubectl(['delete', 'apiinstance', 'copy', '-n', staging, '--wait=true']);
    await kubectl(['delete', 'apiinstance', 'hijack', '-n', evilProd, '--wait=true']);
  });

  test('a platform admin moves a hostname to another organization: the former holder\'s HTTPRoute goes at once, not at the next resync', async () => {
    // Gateway API gives a request two routes match to the one with the longer path prefix, then to the OLDER route:
    // left in place, the former holder's route would keep the new owner's requests under its basePath (denied by
    // authz, which no longer serves it) until the next resync. Nothing else about the instance changes meanwhile.
    const moved = `shop-${org}.example`;
    await claims(evil, [`*.${evil}.example`, moved]);
    const shop = instanceYaml('shop', { basePath: '/shop', hostnames: [moved], namespace: evilProd });
    await waitFor(async () => ((await applyYaml(shop, { ...EVIL_ADMIN, allowFail: true })).code === 0 ? true : undefined), { what: "the attacker's instance on its claimed host" });
    await waitForCondition(['apiinstance', 'shop', '-n', evilProd], COND, 'Unknown' as 'True', { reason: 'Pending' });
    assert.deepEqual((await getJson(['httproute', 'shop', '-n', evilProd])).spec.hostnames, [moved]);
    // The platform takes the host back and gives it to the other organization.
    await claims(evil, [`*.${evil}.example`]);
    await claims(org, [`*.${org}.example`, moved]);
    const gone = await waitForCondition(['apiinstance', 'shop', '-n', evilProd], COND, 'False', { reason: 'OutsideRouteClaims', timeoutMs: 30_000 });
    assert.match(condition(gone, COND)!.message, new RegExp(`^no HTTPRoute is rendered: spec.hostnames\\[0\\] "${moved}" is outside the route space of Organization "${evil}"`));
    await waitFor(async () => ((await getJson(['httproute', 'shop', '-n', evilProd])) === undefined ? true : undefined), { what: "the former holder's HTTPRoute to go", timeoutMs: 30_000 });
    await policyGone('shop', evilProd);
    // The new owner serves the whole host on the same listener.
    await applyYaml(instanceYaml('shop', { basePath: '/', hostnames: [moved], namespace: prod }), ADMIN);
    await waitForCondition(['apiinstance', 'shop', '-n', prod], COND, 'Unknown' as 'True', { reason: 'Pending' });
    assert.deepEqual((await getJson(['httproute', 'shop', '-n', prod])).spec.hostnames, [moved]);
    await kubectl(['delete', 'apiinstance', 'shop', '-n', prod, '--wait=true']);
    await kubectl(['delete', 'apiinstance', 'shop', '-n', evilProd, '--wait=true']);
    await claims(org, [`*.${org}.example`]);
  });

  test('an edit that cannot be rendered takes the route rendered before with it: it never keeps a host that moves to another organization', async () => {
    // The attacker renders a route on a host it holds, then edits the instance into one whose route cannot be
    // rendered. Left in place, the old route, its old host included, would stay in force for good, even once the
    // platform gives that host to another organization: older, it would take the new owner's requests, and authz,
    // serving the attacker's instance, would let them through to its backend.
    const leased = `lease-${org}.example`;
    const lease = (hostnames: string[], parents: number) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: lease, namespace: ${evilProd}}
spec:
  assetRef: {name: flights-eapi}
  basePath: /lease
  hostnames: ${JSON.stringify(hostnames)}
  upstream: {backendRef: {name: lease, port: 8080}}
  parentRefs: ${JSON.stringify(Array.from({ length: parents }, () => ({ name: 'shared', namespace: gwNs, sectionName: 'http' })))}
`;
    const rendered = async (hostnames: string[]) => {
      await waitForCondition(['apiinstance', 'lease', '-n', evilProd], COND, 'Unknown' as 'True', { reason: 'Pending' });
      await waitFor(async () => (JSON.stringify((await getJson(['httproute', 'lease', '-n', evilProd]))?.spec.hostnames) === JSON.stringify(hostnames) ? true : undefined), { what: `the route on ${hostnames}` });
    };
    const routeGone = () => waitFor(async () => ((await getJson(['httproute', 'lease', '-n', evilProd])) === undefined ? true : undefined), { what: 'the route rendered before to go', timeoutMs: 30_000 });
    await claims(evil, [`*.${evil}.example`, leased]);
    await waitFor(async () => ((await applyYaml(lease([leased], 1), { ...EVIL_ADMIN, allowFail: true })).code === 0 ? true : undefined), { what: "the attacker's instance on its leased host" });
    await rendered([leased]);

    // 1. One Gateway named twice (the HTTPRoute CRD refuses that): refused at admission; with the webhook skipped,
    //    the operator renders nothing and removes the route it rendered before.
    const r = await applyYaml(lease([`lease.${evil}.example`], 2), { ...EVIL_ADMIN, allowFail: true });
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(
      r.stderr.includes(
        `ApiInstance "lease": spec.parentRefs[1] names Gateway "${gwNs}/shared" again, as spec.parentRefs[0] does: Gateway API refuses an HTTPRoute that names one Gateway twice unless each names a different listener by sectionName. ` +
          'Give each a sectionName of its own, or name the Gateway once.',
      ),
      r.stderr,
    );
    await webhook.without(async () => {
      await kubectl(['delete', 'validatingwebhookconfiguration', 'crossgate-validating-webhook', '--ignore-not-found']);
      await applyYaml(lease([`lease.${evil}.example`], 2), EVIL_ADMIN);
      const d = await waitForCondition(['apiinstance', 'lease', '-n', evilProd], COND, 'False', { reason: 'DuplicateParent', timeoutMs: 30_000 });
      assert.match(condition(d, COND)!.message, new RegExp(`^no HTTPRoute is rendered: spec.parentRefs\\[1\\] names Gateway "${gwNs}/shared" again`));
      await routeGone();
      await policyGone('lease', evilProd);
    });
    await applyYaml(lease([leased], 1), EVIL_ADMIN);
    await rendered([leased]);

    // 2. An edit crossgate admits but the apiserver refuses to render (here a platform's admission policy; also a
    //    Gateway API or Envoy Gateway CRD rule crossgate's schema lacks): RenderRejected, the older route removed.
    const policy = `${org}-no-refused-hosts`;
    await applyYaml(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ${policy}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [gateway.networking.k8s.io], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: [httproutes]}]
  validations:
  - expression: "!has(object.spec.hostnames) || !object.spec.hostnames.exists(h, h.startsWith('refused.'))"
    message: no route may serve a refused. host on this cluster
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ${policy}}
spec:
  policyName: ${policy}
  validationActions: [Deny]
  matchResources: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${evilProd}}}}
`);
    try {
      // The policy is in force once the apiserver refuses a probe route with such a host (it loads policies a moment later).
      const probe = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: probe, namespace: ${evilProd}}
spec: {hostnames: [refused.probe.example]}
`;
      await waitFor(async () => ((await kubectl(['create', '--dry-run=server', '-f', '-'], { stdin: probe, allowFail: true })).stderr.includes('no route may serve a refused. host') ? true : undefined), {
        what: 'the admission policy to be in force',
      });
      await applyYaml(lease([`refused.${evil}.example`], 1), EVIL_ADMIN);
      await claims(evil, [`*.${evil}.example`]);
      await claims(org, [`*.${org}.example`, leased]);
      const refused = await waitForCondition(['apiinstance', 'lease', '-n', evilProd], COND, 'False', { reason: 'RenderRejected', timeoutMs: 30_000 });
      assert.match(
        condition(refused, COND)!.message,
        /^the apiserver refused the rendered HTTPRoute \(gateway.networking.k8s.io\): HTTP (403|422) .*no route may serve a refused\. host on this cluster.*; no route is rendered for this instance \(one rendered before is removed\) until its spec changes$/,
      );
      await routeGone();
      await policyGone('lease', evilProd);
    } finally {
      await kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', policy, '--ignore-not-found']);
    }
    await kubectl(['delete', 'apiinstance', 'lease', '-n', evilProd, '--wait=true']);
    await claims(org, [`*.${org}.example`]);
  });

  test('an instance deleted with --cascade=orphan: its HTTPRoute and SecurityPolicy are removed all the same, and one orphaned under a live instance is taken back', async () => {
    // The attacker's admin deletes the instance orphaning its objects (only delete on ApiInstances needed): left in
    // place, the route would stay in force with no owner, its hostnames never checked again (a host moved to another
    // organization included), and a new instance of the same name would get authz's allow for it.
    const kept = `orphan-${org}.example`;
    const orphan = instanceYaml('orphan', { basePath: '/orphan', hostnames: [kept], namespace: evilProd });
    const gone = (kind: string) => async () => ((await getJson([kind, 'orphan', '-n', evilProd])) === undefined ? true : undefined);
    await claims(evil, [`*.${evil}.example`, kept]);
    await waitFor(async () => ((await applyYaml(orphan, { ...EVIL_ADMIN, allowFail: true })).code === 0 ? true : undefined), { what: "the attacker's instance" });
    await waitForCondition(['apiinstance', 'orphan', '-n', evilProd], COND, 'Unknown' as 'True', { reason: 'Pending' });
    await kubectl(['delete', 'apiinstance', 'orphan', '-n', evilProd, '--cascade=orphan', '--wait=true'], EVIL_ADMIN);
    await waitFor(gone('httproute'), { what: 'the orphaned HTTPRoute to be removed', timeoutMs: 30_000 });
    await waitFor(gone('securitypolicy'), { what: 'the orphaned SecurityPolicy to be removed', timeoutMs: 30_000 });
    // Orphaned while its instance lives (owner reference removed by hand): taken back, not reported as someone else's.
    await applyYaml(orphan, EVIL_ADMIN);
    const i = await waitForCondition(['apiinstance', 'orphan', '-n', evilProd], COND, 'Unknown' as 'True', { reason: 'Pending' });
    await kubectl(['patch', 'httproute', 'orphan', '-n', evilProd, '--type=json', '-p', '[{"op":"remove","path":"/metadata/ownerReferences"}]']);
    await waitFor(async () => ((await getJson(['httproute', 'orphan', '-n', evilProd]))?.metadata.ownerReferences?.[0]?.uid === i.metadata.uid ? true : undefined), {
      what: 'the orphaned HTTPRoute to be owned again', timeoutMs: 30_000,
    });
    assert.ok(await getJson(['securitypolicy', 'orphan', '-n', evilProd]), 'its SecurityPolicy stays beside it');
    await kubectl(['delete', 'apiinstance', 'orphan', '-n', evilProd, '--wait=true']);
    await claims(evil, [`*.${evil}.example`]);
  });

  test('a ReferenceGrant a route of its namespace still needs, deleted (a sweep racing a new route, or by hand), is put back', async () => {
    const grant = `crossgate-authz-from-${prod}`;
    const before = await getJson(['referencegrant', grant, '-n', OPERATOR_NAMESPACE]);
    assert.ok(before, 'the grant of a namespace with a route');
    await kubectl(['delete', 'referencegrant', grant, '-n', OPERATOR_NAMESPACE, '--wait=true']);
    const back = await waitFor(async () => {
      const g = await getJson(['referencegrant', grant, '-n', OPERATOR_NAMESPACE]);
      return g && g.metadata.uid !== before.metadata.uid ? g : undefined;
    }, { what: 'the ReferenceGrant to be put back', timeoutMs: 30_000 });
    assert.deepEqual(back.spec, before.spec);
  });

  test('at start, the operator sweeps a ReferenceGrant no namespace needs any more and keeps the ones in use', async () => {
    await op.proc.stop();
    // As if namespace ${org}-gone had been deleted while the operator was down.
    await applyYaml(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: crossgate-authz-from-${org}-gone
  namespace: ${OPERATOR_NAMESPACE}
  labels: {app.kubernetes.io/managed-by: crossgate-operator, crossgate.dev/authz-grant-from: ${org}-gone}
spec:
  from: [{group: gateway.envoyproxy.io, kind: SecurityPolicy, namespace: ${org}-gone}]
  to: [{group: "", kind: Service, name: crossgate-authz}]
`);
    op = await startOperator({ env: platform });
    await waitFor(async () => ((await getJson(['referencegrant', `crossgate-authz-from-${org}-gone`, '-n', OPERATOR_NAMESPACE])) === undefined ? true : undefined), {
      what: 'the unneeded ReferenceGrant to be swept at start',
    });
    assert.ok(await getJson(['referencegrant', `crossgate-authz-from-${prod}`, '-n', OPERATOR_NAMESPACE]), 'the grant of a namespace with a route stays');
  });

  test('a URL upstream renders no route and says so', async () => {
    await applyYaml(instanceYaml('legacy', { basePath: '/legacy', url: true }));
    const i = await waitForCondition(['apiinstance', 'legacy', '-n', prod], COND, 'False', { reason: 'URLUpstream' });
    assert.match(condition(i, COND)!.message, /^spec.upstream.url cannot be expressed in an HTTPRoute/);
    assert.equal(await getJson(['httproute', 'legacy', '-n', prod]), undefined);
  });

  test('a Gateway the platform does not share: refused at admission for the org admin; without the webhook, the operator renders nothing', async () => {
    await waitFor(() => canI('create', 'apiinstances.crossgate.dev', prod, ADMIN), { what: "the org admin's grant" });
    const r = await applyYaml(instanceYaml('rogue', { basePath: '/rogue', parent: 'internal' }), { ...ADMIN, allowFail: true });
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(
      r.stderr.includes(
        `ApiInstance "rogue": spec.parentRefs[0] names Gateway "${gwNs}/internal", which is not a Gateway routes may attach to: the platform shares "${gwNs}/shared" (CROSSGATE_GATEWAY_PARENTS). ` +
          'Name one of those, or remove spec.parentRefs to be served by the crossgate gateway; shared Gateways are listed by a platform admin.',
      ),
      r.stderr,
    );
    await webhook.without(async () => {
      await kubectl(['delete', 'validatingwebhookconfiguration', 'crossgate-validating-webhook', '--ignore-not-found']);
      await applyYaml(instanceYaml('rogue', { basePath: '/rogue', parent: 'internal' }), ADMIN);
      const i = await waitForCondition(['apiinstance', 'rogue', '-n', prod], COND, 'False', { reason: 'NotAllowedParent' });
      assert.match(condition(i, COND)!.message, new RegExp(`^no HTTPRoute is rendered: spec.parentRefs\\[0\\] names Gateway "${gwNs}/internal"`));
      assert.equal(await getJson(['httproute', 'rogue', '-n', prod]), undefined);
      assert.equal(await getJson(['securitypolicy', 'rogue', '-n', prod]), undefined);
    });
  });

  test('parentRefs removed: route and policy gone, the ReferenceGrant swept once no route of the namespace uses it', async () => {
    await kubectl(['delete', 'apiinstance', 'rogue', 'legacy', '-n', prod, '--wait=true']);
    await kubectl(['patch', 'apiinstance', 'flights', '-n', prod, '--type=json', '-p', '[{"op":"remove","path":"/spec/parentRefs"}]']);
    await waitFor(async () => ((await getJson(['httproute', 'flights', '-n', prod])) === undefined ? true : undefined), { what: 'the HTTPRoute to go' });
    await policyGone('flights', prod);
    await waitFor(async () => ((await getJson(['referencegrant', `crossgate-authz-from-${prod}`, '-n', OPERATOR_NAMESPACE])) === undefined ? true : undefined), { what: 'the ReferenceGrant to be swept' });
    const i = await waitForCondition(['apiinstance', 'flights', '-n', prod], COND, 'False', { reason: 'NoParentRefs' });
    assert.equal(condition(i, 'Ready')!.reason, 'Routed');
  });
});
