// The Organization reconciler end to end: namespaces created and labeled,
// RBAC for member and admin groups judged by the real authorizer, Ready with
// its environments, and conflicts over a domain or a namespace explained.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, canI, condition, getJson, kubectl, startOperator, uniqueName, waitFor, waitForCondition, type RunningOperator,
} from './support/index.ts';

function orgYaml(name: string, domain: string, home: string, envs: Array<[string, string, string?]>, groups = true): string {
  const environments = envs.map(([n, ns, type]) => `  - {name: ${n}, namespace: ${ns}${type ? `, type: ${type}` : ''}}`).join('\n');
  return `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${name}}
spec:
  domain: ${domain}
  displayName: Test ${name}
  homeNamespace: ${home}
  environments:
${environments}
${groups ? `  memberGroups: ["${domain}:members"]\n  adminGroups: ["${domain}:admins"]` : ''}
`;
}

describe('Organization', () => {
  let op: RunningOperator;
  const created: string[] = [];
  const org = uniqueName('org');
  const home = `${org}-home`;
  const sandbox = `${org}-sandbox`;
  const prod = `${org}-prod`;

  before(async () => {
    op = await startOperator();
  });
  after(async () => {
    await op?.proc.stop();
    for (const name of created) await kubectl(['delete', 'organization', name, '--wait=false', '--ignore-not-found']);
  });

  test('becomes Ready with its environments; namespaces are created and labeled', async () => {
    // One namespace exists beforehand with a label of its own: it must be kept.
    await kubectl(['create', 'namespace', prod]);
    await kubectl(['label', 'namespace', prod, 'team=flights']);
    await applyYaml(orgYaml(org, org, home, [['sandbox', sandbox], ['production', prod, 'production']]));
    created.push(org);
    const obj = await waitForCondition(['organization', org], 'Ready', 'True');
    assert.equal(obj.status.observedGeneration, obj.metadata.generation);
    assert.equal(obj.status.environmentCount, 2);
    assert.deepEqual(
      obj.status.environments.map((e: { name: string; namespace: string; type: string; ready: boolean }) => [e.name, e.namespace, e.type, e.ready]),
      [['sandbox', sandbox, 'sandbox', true], ['production', prod, 'production', true]],
    );
    assert.match(condition(obj, 'Ready')!.message, new RegExp(`environments: sandbox \\(${sandbox}\\), production \\(${prod}\\)`));

    const ns = await getJson(['namespace', prod]);
    assert.equal(ns.metadata.labels['crossgate.dev/organization'], org);
    assert.equal(ns.metadata.labels['crossgate.dev/environment'], 'production');
    assert.equal(ns.metadata.labels['crossgate.dev/environment-type'], 'production');
    assert.equal(ns.metadata.labels['team'], 'flights', 'a label the user set must survive');
    const homeNs = await getJson(['namespace', home]);
    assert.equal(homeNs.metadata.labels['crossgate.dev/namespace-role'], 'home');

    const table = (await kubectl(['get', 'organization', org])).stdout;
    assert.match(table, /DOMAIN\s+HOME\s+ENVS\s+READY\s+REASON\s+AGE/);
    assert.match(table, new RegExp(`${org}\\s+${org}\\s+${home}\\s+2\\s+True\\s+Reconciled`));
  });

  test('members may read crossgate objects but not change them; admins may change them', async () => {
    const member = { as: 'mia', groups: [`${org}:members`] };
    const admin = { as: 'ada', groups: [`${org}:admins`] };
    const stranger = { as: 'sam', groups: ['someone-else:members'] };
    await waitFor(() => canI('get', 'apiinstances.crossgate.dev', prod, member), { what: 'member can get' });
    for (const ns of [home, sandbox, prod]) {
      assert.equal(await canI('get', 'apiinstances.crossgate.dev', ns, member), true, `member get in ${ns}`);
      assert.equal(await canI('list', 'assets.crossgate.dev', ns, member), true, `member list in ${ns}`);
      assert.equal(await canI('update', 'apiinstances.crossgate.dev', ns, member), false, `member update in ${ns}`);
      assert.equal(await canI('delete', 'assets.crossgate.dev', ns, member), false, `member delete in ${ns}`);
      assert.equal(await canI('update', 'apiinstances.crossgate.dev', ns, admin), true, `admin update in ${ns}`);
      assert.equal(await canI('create', 'apikeys.crossgate.dev', ns, admin), true, `admin create in ${ns}`);
      assert.equal(await canI('get', 'apiinstances.crossgate.dev', ns, stranger), false, `stranger get in ${ns}`);
      // Groups get crossgate kinds only, never Secrets.
      assert.equal(await canI('get', 'secrets', ns, member), false, `member secrets in ${ns}`);
    }
    // Route space (spec.routes) is assigned by platform admins: an organization admin cannot change its Organization.
    for (const verb of ['update', 'patch', 'create', 'delete']) {
      assert.equal(await canI(verb, 'organizations.crossgate.dev', undefined, admin), false, `admin ${verb} organizations`);
    }
  });

  test('a changed member group list is reflected in RBAC', async () => {
    await kubectl(['patch', 'organization', org, '--type=merge', '-p', JSON.stringify({ spec: { memberGroups: [`${org}:readers`] } })]);
    await waitFor(async () => (await canI('get', 'assets.crossgate.dev', home, { as: 'rita', groups: [`${org}:readers`] })) === true, {
      what: 'new member group can read',
    });
    assert.equal(await canI('get', 'assets.crossgate.dev', home, { as: 'mia', groups: [`${org}:members`] }), false, 'old group lost access');
  });

  test('a namespace claimed by a second organization: the newer one is told who holds it', async () => {
    const second = uniqueName('org2');
    await applyYaml(orgYaml(second, second, `${second}-home`, [['dev', sandbox]]));
    created.push(second);
    const obj = await waitForCondition(['organization', second], 'Ready', 'False', { reason: 'NamespaceConflict' });
    assert.equal(condition(obj, 'Ready')!.message, `namespace "${sandbox}" already belongs to Organization "${org}"`);
    // The first organization keeps its namespace untouched.
    const ns = await getJson(['namespace', sandbox]);
    assert.equal(ns.metadata.labels['crossgate.dev/organization'], org);
    const events = (await kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${second}`])).stdout;
    assert.match(events, /NamespaceConflict/);
  });

  test('a duplicate domain: the newer organization is told which one has it', async () => {
    const third = uniqueName('org3');
    await applyYaml(orgYaml(third, org, `${third}-home`, [['dev', `${third}-dev`]]));
    created.push(third);
    const obj = await waitForCondition(['organization', third], 'Ready', 'False', { reason: 'DomainConflict' });
    assert.match(condition(obj, 'Ready')!.message, new RegExp(`domain "${org}" is already used by Organization "${org}"; choose another domain`));
    assert.equal(await getJson(['namespace', `${third}-home`]), undefined, 'nothing is created for a conflicting organization');
  });

  test('route claims: the newer of two organizations claiming overlapping route space is told which one holds it; its instance there is not served (webhook out of the way)', async () => {
    await kubectl(['patch', 'organization', org, '--type=merge', '-p', JSON.stringify({ spec: { routes: { hostnames: [`*.${org}.example`], pathPrefixes: [`/${org}`] } } })]);
    const holder = await waitFor(async () => {
      const o = await getJson(['organization', org]);
      return condition(o, 'RouteClaims')?.status === 'True' && o.status.observedGeneration === o.metadata.generation ? o : undefined;
    }, { what: 'RouteClaims True' });
    assert.equal(condition(holder, 'RouteClaims')!.message, `route space: hostnames "*.${org}.example"; path prefixes "/${org}" on the gateway's shared host`);

    const fourth = uniqueName('org4');
    await applyYaml(
      orgYaml(fourth, fourth, `${fourth}-home`, [['dev', `${fourth}-dev`]]) +
        `  routes: {hostnames: ["api.${org}.example", "${fourth}.example"], pathPrefixes: ["/${org}/v1", "/${fourth}"]}\n`,
    );
    created.push(fourth);
    const obj = await waitForCondition(['organization', fourth], 'Ready', 'False', { reason: 'RouteClaimConflict' });
    const claims = condition(obj, 'RouteClaims')!;
    assert.equal(claims.status, 'False');
    assert.equal(claims.reason, 'RouteClaimConflict');
    assert.equal(
      claims.message,
      `spec.routes.hostnames "api.${org}.example" overlaps hostname "*.${org}.example", claimed by Organization "${org}"; ` +
        `spec.routes.pathPrefixes "/${org}/v1" overlaps path prefix "/${org}", claimed by Organization "${org}": these claims are void, ` +
        `because contested route space stays with the claim granted first (else the older Organization) and the gateway's own host names belong to no Organization, so no ApiInstance route under them is served. ` +
        'A platform admin removes the claim here, or from the other Organization',
    );
    const row = new RegExp(`${fourth}\\s+${fourth}\\s+${fourth}-home\\s+1\\s+False\\s+RouteClaimConflict`);
    await waitFor(async () => row.test((await kubectl(['get', 'organization', fourth])).stdout), { what: 'kubectl get shows RouteClaimConflict' });
    // The older organization keeps its claims.
    assert.equal(condition(await getJson(['organization', org]), 'RouteClaims')!.status, 'True');
    // An instance under the void claim is contained by the operator: not served, and told why.
    await waitFor(async () => (await getJson(['namespace', `${fourth}-dev`])) !== undefined, { what: 'environment namespace created' });
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: rail, namespace: ${fourth}-home}
spec: {type: http, title: Rail, version: 1.0.0}
---
apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: squat, namespace: ${fourth}-dev}
spec:
  assetRef: {name: rail}
  basePath: /${org}/v1/x
  upstream: {url: "http://rail.${fourth}-dev.svc.cluster.local:8080"}
`);
    const squat = await waitForCondition(['apiinstance', 'squat', '-n', `${fourth}-dev`], 'Ready', 'False', { reason: 'OutsideRouteClaims' });
    assert.equal(
      condition(squat, 'Ready')!.message,
      `the gateway does not serve this route: spec.basePath "/${org}/v1/x" on the gateway's shared host (no spec.hostnames) is outside the route space of Organization "${fourth}": ` +
        `it claims path prefixes "/${fourth}" (spec.routes.pathPrefixes); its claim "/${org}/v1" would cover it but is void because Organization "${org}" holds "/${org}" (granted first, or older). ` +
        'Use a basePath under one of its prefixes, or hostnames it claims; route space is assigned by a platform admin in the Organization (spec.routes)',
    );
    assert.match((await kubectl(['get', 'apiinstance', 'squat', '-n', `${fourth}-dev`])).stdout, /False\s+OutsideRouteClaims/);
    await kubectl(['delete', 'apiinstance', 'squat', '-n', `${fourth}-dev`, '--wait=false']);
    // Dropping the contested claims makes the newer one whole again.
    await kubectl(['patch', 'organization', fourth, '--type=merge', '-p', JSON.stringify({ spec: { routes: { hostnames: [`${fourth}.example`], pathPrefixes: [`/${fourth}`] } } })]);
    await waitForCondition(['organization', fourth], 'Ready', 'True');
    assert.equal(condition(await getJson(['organization', fourth]), 'RouteClaims')!.reason, 'Assigned');
  });

  test('deleting the organization releases its namespaces (labels and bindings gone, namespaces and their data kept)', async () => {
    await kubectl(['create', 'configmap', 'keep-me', '-n', prod, '--from-literal=a=b']);
    await kubectl(['delete', 'organization', org, '--timeout=30s']);
    const ns = await waitFor(async () => {
      const n = await getJson(['namespace', prod]);
      return n && !n.metadata.labels['crossgate.dev/organization'] ? n : undefined;
    }, { what: 'labels removed from namespace' });
    assert.equal(ns.metadata.labels['team'], 'flights');
    assert.ok(await getJson(['configmap', 'keep-me', '-n', prod]), 'data in the namespace is kept');
    await waitFor(async () => (await getJson(['rolebinding', 'crossgate-admins', '-n', prod])) === undefined, { what: 'RoleBinding removed' });
  });

  test('operator logs are JSON lines', () => {
    const lines = op.proc.stdout.filter((l) => l.trim() !== '');
    assert.ok(lines.length > 5);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
  });
});
