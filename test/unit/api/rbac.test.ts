// The operator's generated RBAC (api/rbac.ts): what it may do, where, and what it may not.
// The e2e suite runs the operator as its ServiceAccount (a missing permission fails there);
// this test pins the other direction: nothing wider than the calls in operator/ make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS } from '../../../api/v1alpha1/index.ts';
import { OPERATOR_PATCHED_PLURALS, OPERATOR_PROMOTED_PLURALS, operatorClusterRole, operatorNamespaceRole } from '../../../api/rbac.ts';
import { CLUSTERROLE_EDIT, CLUSTERROLE_VIEW } from '../../../api/labels.ts';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
const rulesOf = (role: Record<string, unknown>) => role['rules'] as Rule[];
const cluster = rulesOf(operatorClusterRole());
const own = rulesOf(operatorNamespaceRole());

/** RBAC's own matching (no wildcards are generated: the last test pins that). */
function allows(rules: Rule[], verb: string, group: string, resource: string, name?: string): boolean {
  return rules.some(
    (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb) && (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))),
  );
}
const crossgate = 'crossgate.dev';
const rbac = 'rbac.authorization.k8s.io';

test('the operator may make every call its code makes (cluster-wide, or in its own namespace)', () => {
  const needed: Array<[Rule[], string, string, string, string?]> = [
    ...KINDS.flatMap((k) => ['get', 'list', 'watch'].map((v): [Rule[], string, string, string] => [cluster, v, crossgate, k.plural])),
    ...KINDS.map((k): [Rule[], string, string, string] => [cluster, 'patch', crossgate, `${k.plural}/status`]),
    [cluster, 'patch', crossgate, 'organizations'],
    [cluster, 'patch', crossgate, 'assetshares'],
    [cluster, 'patch', crossgate, 'apikeys'],
    [cluster, 'update', crossgate, 'apikeys/finalizers'],
    ...['create', 'patch', 'delete'].map((v): [Rule[], string, string, string] => [cluster, v, crossgate, 'contracts']),
    ...['get', 'list', 'watch', 'create', 'patch'].map((v): [Rule[], string, string, string] => [cluster, v, '', 'namespaces']),
    ...['roles', 'rolebindings'].flatMap((r) => ['list', 'watch', 'create', 'update', 'delete'].map((v): [Rule[], string, string, string] => [cluster, v, rbac, r])),
    [cluster, 'bind', rbac, 'clusterroles', CLUSTERROLE_VIEW],
    [cluster, 'bind', rbac, 'clusterroles', CLUSTERROLE_EDIT],
    ...['list', 'watch', 'create', 'patch', 'delete'].map((v): [Rule[], string, string, string] => [cluster, v, '', 'secrets']),
    ...['get', 'list', 'watch'].map((v): [Rule[], string, string, string] => [cluster, v, '', 'configmaps']),
    ...['create', 'patch'].map((v): [Rule[], string, string, string] => [cluster, v, '', 'events']),
    ...['create', 'update', 'delete'].map((v): [Rule[], string, string, string] => [own, v, '', 'configmaps']),
    ...['get', 'create', 'update'].map((v): [Rule[], string, string, string] => [own, v, 'coordination.k8s.io', 'leases']),
  ];
  const missing = needed.filter(([rules, ...call]) => !allows(rules, ...call)).map(([rules, ...call]) => `${rules === own ? 'own namespace' : 'cluster'}: ${call.join(' ')}`);
  assert.deepEqual(missing, []);
});

test('the operator may not touch webhook configurations, nor any admission or cluster-scoped RBAC object', () => {
  for (const rules of [cluster, own]) {
    assert.deepEqual(rules.filter((r) => r.apiGroups.includes('admissionregistration.k8s.io')), [], 'no rule on admissionregistration.k8s.io');
    for (const verb of ['create', 'update', 'patch', 'delete', 'escalate']) {
      assert.equal(allows(rules, verb, rbac, 'clusterroles'), false, `${verb} clusterroles`);
      assert.equal(allows(rules, verb, rbac, 'clusterrolebindings'), false, `${verb} clusterrolebindings`);
    }
    assert.equal(allows(rules, 'bind', rbac, 'clusterroles', 'cluster-admin'), false, 'bind cluster-admin');
    assert.equal(allows(rules, 'bind', rbac, 'clusterroles', 'crossgate-operator'), false, 'bind its own ClusterRole');
    assert.equal(allows(rules, 'delete', '', 'namespaces'), false, 'delete namespaces');
  }
});

test('cluster-wide, the operator reads ConfigMaps but writes them (and its Lease) only through the namespace role', () => {
  for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) assert.equal(allows(cluster, verb, '', 'configmaps'), false, `${verb} configmaps cluster-wide`);
  assert.deepEqual(cluster.filter((r) => r.apiGroups.includes('coordination.k8s.io')), [], 'no Lease rule cluster-wide');
  // The namespace role grants writes and nothing to read: bound in one namespace, it cannot widen what the operator sees.
  assert.deepEqual(own.flatMap((r) => r.resources).sort(), ['configmaps', 'leases', 'referencegrants']);
  for (const verb of ['list', 'watch', 'patch']) assert.equal(allows(own, verb, '', 'configmaps'), false, `${verb} configmaps in its namespace`);
});

test('Gateway API: HTTPRoutes read and written cluster-wide, SecurityPolicies read by name (a user\'s own is never taken over) and written, ReferenceGrants only in its namespace', () => {
  const gw = 'gateway.networking.k8s.io';
  for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) assert.equal(allows(cluster, verb, gw, 'httproutes'), true, `${verb} httproutes`);
  assert.equal(allows(cluster, 'get', 'gateway.envoyproxy.io', 'securitypolicies'), true, 'get securitypolicies');
  for (const verb of ['list', 'watch']) assert.equal(allows(cluster, verb, 'gateway.envoyproxy.io', 'securitypolicies'), false, `${verb} securitypolicies`);
  for (const verb of ['list', 'watch', 'create', 'patch', 'delete']) {
    assert.equal(allows(cluster, verb, gw, 'referencegrants'), false, `${verb} referencegrants cluster-wide`);
    assert.equal(allows(own, verb, gw, 'referencegrants'), true, `${verb} referencegrants in its namespace`);
  }
  for (const verb of ['update', 'deletecollection']) assert.equal(allows(cluster, verb, gw, 'httproutes'), false, `${verb} httproutes`);
  assert.equal(allows(cluster, 'create', gw, 'gateways'), false, 'it never writes Gateways');
});

test("the operator may not change a tenant's spec: patch only its finalizers' kinds and Contracts; write only the Contracts it opens and what ApiPromotions copy; no deletecollection", () => {
  assert.deepEqual([...OPERATOR_PATCHED_PLURALS].sort(), ['apikeys', 'apipromotions', 'assetshares', 'contracts', 'organizations']);
  // ApiPromotion copies (docs/security-model.md "The operator's permissions"): never Contracts' consumers' kinds, ApiKeys or Applications.
  assert.deepEqual([...OPERATOR_PROMOTED_PLURALS].sort(), ['alerts', 'apiinstances', 'policies', 'slatiers']);
  for (const k of KINDS) {
    const patched = (OPERATOR_PATCHED_PLURALS as readonly string[]).includes(k.plural);
    const promoted = (OPERATOR_PROMOTED_PLURALS as readonly string[]).includes(k.plural);
    assert.equal(allows(cluster, 'patch', crossgate, k.plural), patched, `patch ${k.plural}`);
    assert.equal(allows(cluster, 'update', crossgate, k.plural), promoted, `update ${k.plural}`);
    assert.equal(allows(cluster, 'update', crossgate, `${k.plural}/status`), false, `update ${k.plural}/status (it patches)`);
    assert.equal(allows(cluster, 'delete', crossgate, k.plural), k.plural === 'contracts' || promoted, `delete ${k.plural}`);
    assert.equal(allows(cluster, 'create', crossgate, k.plural), k.plural === 'contracts' || promoted, `create ${k.plural}`);
    assert.equal(allows(cluster, 'deletecollection', crossgate, k.plural), false, `deletecollection ${k.plural}`);
  }
  for (const res of ['secrets', 'configmaps', 'roles', 'rolebindings']) assert.equal(allows(cluster, 'deletecollection', res === 'roles' || res === 'rolebindings' ? rbac : '', res), false, res);
  assert.equal(allows(cluster, 'update', '', 'secrets'), false, 'update secrets (it merge-patches)');
  assert.equal(allows(cluster, 'create', '', 'pods'), false, 'create pods');
  assert.equal(allows(cluster, 'create', '', 'serviceaccounts/token'), false, 'mint tokens');
});

test('no wildcard and no unknown verb in any generated operator rule', () => {
  const verbs = new Set(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'bind']);
  for (const r of [...cluster, ...own]) {
    for (const field of [r.apiGroups, r.resources, r.verbs, r.resourceNames ?? []]) assert.ok(!field.includes('*'), JSON.stringify(r));
    for (const v of r.verbs) assert.ok(verbs.has(v), `unexpected verb ${v} in ${JSON.stringify(r)}`);
  }
});
