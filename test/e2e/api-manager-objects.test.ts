// ApiInstance, Policy and SlaTier on the real apiserver, through the real
// webhook: an instance's Asset must resolve, two instances claiming one route
// are told apart (the older keeps it, the newer names the conflict, and gets
// the route once the older goes), automated policies follow instance labels,
// a bad policy config is refused at admission with its JSON pointer, tiers
// report their instance, and `kubectl get` tells the story in its columns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyYaml, condition, getJson, kubectl, startOperator, startWebhook, uniqueName, waitFor, waitForCondition,
  type RunningOperator, type RunningWebhookProcess,
} from './support/index.ts';

const org = uniqueName('apim');
const home = `${org}-home`;
const prod = `${org}-prod`;
const host = `api.${org}.example`;

function instanceYaml(name: string, opts: { basePath?: string; hostnames?: string[]; labels?: Record<string, string>; asset?: string } = {}): string {
  const labels = opts.labels ? `\n  labels: ${JSON.stringify(opts.labels)}` : '';
  const hostnames = opts.hostnames ? `\n  hostnames: ${JSON.stringify(opts.hostnames)}` : '';
  return `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata:
  name: ${name}
  namespace: ${prod}${labels}
spec:
  assetRef: {name: ${opts.asset ?? 'flights-eapi'}}
  basePath: ${opts.basePath ?? '/flights/v1'}${hostnames}
  upstream: {url: "http://flights.${prod}.svc.cluster.local:8080"}
`;
}

describe('ApiInstance, Policy and SlaTier', () => {
  let webhook: RunningWebhookProcess;
  let op: RunningOperator;

  before(async () => {
    webhook = await startWebhook();
    op = await startOperator();
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${org}}
spec:
  domain: ${org}
  displayName: API Manager e2e
  homeNamespace: ${home}
  environments: [{name: production, namespace: ${prod}, type: production}]
  routes: {hostnames: ["*.${org}.example"], pathPrefixes: ["/hotels"]}
`);
    await waitForCondition(['organization', org], 'Ready', 'True');
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: flights-eapi, namespace: ${home}}
spec: {type: http, title: Flights EAPI, version: 1.0.0}
`);
  });

  after(async () => {
    await kubectl(['delete', 'organization', org, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', home, prod, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('an instance whose Asset exists is Routed, with its endpoint and gateway', async () => {
    await applyYaml(instanceYaml('flights-a', { hostnames: [host], labels: { exposure: 'partner' } }));
    const a = await waitForCondition(['apiinstance', 'flights-a', '-n', prod], 'Ready', 'True', { reason: 'Routed' });
    assert.equal(a.status.endpoint, `http://${host}/flights/v1`);
    assert.equal(a.status.gateway, 'default');
    assert.equal(a.status.observedGeneration, a.metadata.generation);
    assert.equal(condition(a, 'Ready')!.message, `served by gateway "default" at http://${host}/flights/v1 (Asset "${home}/flights-eapi")`);
  });

  test('an instance whose Asset is missing says which one, and becomes Ready when it appears', async () => {
    await applyYaml(instanceYaml('hotels', { basePath: '/hotels/v1', asset: 'hotels-eapi' }));
    const h = await waitForCondition(['apiinstance', 'hotels', '-n', prod], 'Ready', 'False', { reason: 'AssetNotFound' });
    assert.equal(condition(h, 'Ready')!.message, `Asset "hotels-eapi" does not exist in namespace "${home}"`);
    assert.equal(h.status.endpoint, undefined);
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: hotels-eapi, namespace: ${home}}
spec: {type: http, title: Hotels EAPI, version: 1.0.0}
`);
    const ready = await waitForCondition(['apiinstance', 'hotels', '-n', prod], 'Ready', 'True', { reason: 'Routed', timeoutMs: 10_000 });
    assert.equal(ready.status.endpoint, 'http://*/hotels/v1');
  });

  test('a newer instance claiming the same route gets RouteConflict naming the older one, the host and the path', async () => {
    await sleep(1_100); // creationTimestamp has second precision: make "newer" unambiguous
    await applyYaml(instanceYaml('flights-b', { hostnames: [`*.${org}.example`], labels: { exposure: 'partner' } }));
    const b = await waitForCondition(['apiinstance', 'flights-b', '-n', prod], 'Ready', 'False', { reason: 'RouteConflict' });
    assert.equal(
      condition(b, 'Ready')!.message,
      `route conflict on gateway "default": ApiInstance "${prod}/flights-a" is older and already claims host "${host}" with basePath "/flights/v1"; ` +
        'the older instance keeps the route: change spec.basePath or spec.hostnames, or delete the other instance',
    );
    assert.equal(b.status.endpoint, undefined);
    // The older one is untouched.
    const a = await getJson(['apiinstance', 'flights-a', '-n', prod]);
    assert.equal(condition(a, 'Ready')!.reason, 'Routed');
    const events = await kubectl(['get', 'events', '-n', prod, '--field-selector', 'involvedObject.name=flights-b,reason=RouteConflict', '-o', 'jsonpath={.items[*].type}']);
    assert.match(events.stdout, /Warning/);
  });

  test('an instance outside its organization\'s route space is refused at admission, saying what the organization claims', async () => {
    for (const [opts, field, value] of [
      [{ basePath: '/' }, 'spec.basePath', '/'],
      [{ basePath: '/flights/v1' }, 'spec.basePath', '/flights/v1'],
      [{ hostnames: ['gateway.example'] }, 'spec.hostnames[0]', 'gateway.example'],
    ] as const) {
      const r = await applyYaml(instanceYaml('squat', opts as { basePath?: string; hostnames?: string[] }), { allowFail: true });
      assert.notEqual(r.code, 0, `expected a refusal, got: ${r.stdout}`);
      assert.match(r.stderr, /admission webhook "[^"]+" denied the request/);
      assert.ok(r.stderr.includes(`ApiInstance "squat": ${field} "${value}"`), r.stderr);
      assert.ok(r.stderr.includes(`is outside the route space of Organization "${org}"`), r.stderr);
      assert.ok(r.stderr.includes('route space is assigned by a platform admin in the Organization (spec.routes)'), r.stderr);
    }
    assert.equal(await getJson(['apiinstance', 'squat', '-n', prod]), undefined);
  });

  test('an automated policy applies to the labelled instances, and follows label changes', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: partner-cors, namespace: ${prod}}
spec:
  type: cors
  order: 5
  selector: {matchLabels: {exposure: partner}}
  config: {allowOrigins: ["https://portal.example"]}
`);
    const p = await waitFor(async () => {
      const obj = await getJson(['policy', 'partner-cors', '-n', prod]);
      return obj?.status?.appliedCount === 2 ? obj : undefined;
    }, { what: 'partner-cors applied to both partner instances' });
    assert.deepEqual(p.status.appliedTo, ['flights-a', 'flights-b']);
    assert.equal(condition(p, 'Ready')!.status, 'True');
    assert.equal(condition(p, 'Ready')!.reason, 'Applied');

    await kubectl(['label', 'apiinstance', 'hotels', '-n', prod, 'exposure=partner']);
    const p3 = await waitFor(async () => {
      const obj = await getJson(['policy', 'partner-cors', '-n', prod]);
      return obj?.status?.appliedCount === 3 ? obj : undefined;
    }, { what: 'partner-cors applied to the newly labelled instance', timeoutMs: 10_000 });
    assert.deepEqual(p3.status.appliedTo, ['flights-a', 'flights-b', 'hotels']);
  });

  test('a policy naming a missing instance is TargetNotFound', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: ghost-key, namespace: ${prod}}
spec: {type: api-key, order: 10, targetRef: {name: ghost}, config: {header: x-api-key}}
`);
    const g = await waitForCondition(['policy', 'ghost-key', '-n', prod], 'Ready', 'False', { reason: 'TargetNotFound' });
    assert.equal(condition(g, 'Ready')!.message, `ApiInstance "ghost" does not exist in namespace "${prod}"`);
    assert.equal(g.status.appliedCount, 0);
  });

  test('a policy with a bad config is refused at admission with the JSON pointer of the bad field', async () => {
    const r = await applyYaml(
      `apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: broken-limit, namespace: ${prod}}
spec:
  type: rate-limit
  targetRef: {name: flights-a}
  config: {limits: [{requests: 0, period: minute}]}
`,
      { allowFail: true },
    );
    assert.notEqual(r.code, 0, `expected a refusal, got: ${r.stdout}`);
    assert.match(r.stderr, /admission webhook "[^"]+" denied the request/);
    assert.match(r.stderr, /spec\.config is invalid: \/spec\/config\/limits\/0\/requests: must be >= 1/);
    assert.equal(await getJson(['policy', 'broken-limit', '-n', prod]), undefined);
  });

  test('an SlaTier of an existing instance is Ready; of a missing one, InstanceNotFound', async () => {
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: gold, namespace: ${prod}}
spec:
  apiInstanceRef: {name: flights-a}
  limits: [{requests: 1000, period: minute}, {requests: 50, period: second}]
  approval: automatic
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: platinum, namespace: ${prod}}
spec:
  apiInstanceRef: {name: nowhere}
  limits: [{requests: 10000, period: hour}]
  approval: manual
`);
    // Issue 13 (attack 8): without an api-key policy nothing enforces the tier; the tier and its instance say so.
    const idle = await waitForCondition(['slatier', 'gold', '-n', prod], 'Ready', 'False', { reason: 'NotEnforced' });
    assert.match(condition(idle, 'Ready')!.message, /^tier of ApiInstance "flights-a" is not enforced: no api-key or client-id-enforcement Policy applies to the instance/);
    const inst = await waitForCondition(['apiinstance', 'flights-a', '-n', prod], 'TiersEnforced', 'False', { reason: 'NoApiKeyPolicy' });
    assert.match(condition(inst, 'TiersEnforced')!.message, /has 1 SlaTier but no api-key or client-id-enforcement Policy applies to it/);
    const columns = (await kubectl(['get', 'apiinstance', 'flights-a', '-n', prod])).stdout;
    assert.match(columns.split('\n')[0]!, /TIERS ENFORCED/);
    assert.match(columns.split('\n')[1]!, /\bFalse\b/);
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: flights-a-keys, namespace: ${prod}}
spec:
  type: api-key
  targetRef: {name: flights-a}
  config: {}
`);
    await waitForCondition(['apiinstance', 'flights-a', '-n', prod], 'TiersEnforced', 'True', { reason: 'ApiKeyPolicy' });
    const gold = await waitForCondition(['slatier', 'gold', '-n', prod], 'Ready', 'True', { reason: 'Available' });
    assert.equal(gold.status.contracts, 0);
    assert.equal(condition(gold, 'Ready')!.message, 'tier of ApiInstance "flights-a": 50 per second, 1000 per minute; automatic approval; 0 approved contracts');
    const plat = await waitForCondition(['slatier', 'platinum', '-n', prod], 'Ready', 'False', { reason: 'InstanceNotFound' });
    assert.equal(condition(plat, 'Ready')!.message, `ApiInstance "nowhere" does not exist in namespace "${prod}"`);
  });

  test('deleting the older instance hands the route to the newer one; its tier and policy follow', async () => {
    await kubectl(['delete', 'apiinstance', 'flights-a', '-n', prod, '--wait=true', '--timeout=30s']);
    const b = await waitForCondition(['apiinstance', 'flights-b', '-n', prod], 'Ready', 'True', { reason: 'Routed', timeoutMs: 10_000 });
    assert.equal(b.status.endpoint, `http://*.${org}.example/flights/v1`);
    await waitForCondition(['slatier', 'gold', '-n', prod], 'Ready', 'False', { reason: 'InstanceNotFound', timeoutMs: 10_000 });
    const p = await waitFor(async () => {
      const obj = await getJson(['policy', 'partner-cors', '-n', prod]);
      return obj?.status?.appliedCount === 2 ? obj : undefined;
    }, { what: 'partner-cors no longer applied to the deleted instance', timeoutMs: 10_000 });
    assert.deepEqual(p.status.appliedTo, ['flights-b', 'hotels']);
  });

  test('kubectl get tells the story in its columns', async () => {
    const out = (await kubectl(['get', 'apiinstances,policies,slatiers', '-n', prod])).stdout;
    const row = (name: string) => out.split('\n').find((l) => l.startsWith(name)) ?? '';
    // The traffic columns stay empty here: no gateway reports to this operator (test/e2e/analytics.test.ts fills them).
    assert.match(out, /NAME\s+BASE PATH\s+REQUESTS\/24H\s+ERRORS %\/24H\s+CONTRACTS\s+REGISTRATION\s+READY\s+REASON\s+TIERS ENFORCED\s+AGE/);
    assert.match(row('apiinstance.crossgate.dev/flights-b'), /\/flights\/v1\s+True\s+Routed/);
    assert.match(row('apiinstance.crossgate.dev/hotels'), /\/hotels\/v1\s+True\s+Routed/);
    // Where clients reach it: -o wide.
    const wide = (await kubectl(['get', 'apiinstances', '-n', prod, '-o', 'wide'])).stdout;
    const wideRow = (name: string) => wide.split('\n').find((l) => l.startsWith(name)) ?? '';
    assert.match(wide, /NAME\s+BASE PATH\s+UPSTREAM\s+ENDPOINT\s/);
    assert.ok(wideRow('flights-b').includes(`http://*.${org}.example/flights/v1`), wideRow('flights-b'));
    assert.ok(wideRow('hotels').includes('http://*/hotels/v1'), wideRow('hotels'));
    assert.match(out, /NAME\s+TYPE\s+ORDER\s+TARGET\s+APPLIED\s+READY\s+AGE/);
    assert.match(row('policy.crossgate.dev/partner-cors'), /cors\s+5\s+2\s+True/);
    assert.match(row('policy.crossgate.dev/ghost-key'), /api-key\s+10\s+ghost\s+0\s+False/);
    assert.match(out, /NAME\s+API\s+GROUP\s+APPROVAL\s+CONTRACTS\s+READY\s+REASON\s+AGE/);
    assert.match(row('slatier.crossgate.dev/platinum'), /nowhere\s+manual\s+0\s+False\s+InstanceNotFound/);
  });
});
