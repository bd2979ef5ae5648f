// An invalid object of each kind is refused by the apiserver itself (OpenAPI
// schema and CEL rules of the generated CRDs), with a message that names the
// field and says what is wrong.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyYaml, installCrossgate, kubectl, uniqueName } from './support/index.ts';

const ns = uniqueName('crd-validation');

async function refused(yaml: string): Promise<string> {
  const r = await applyYaml(yaml, { allowFail: true });
  assert.notEqual(r.code, 0, `expected the apiserver to refuse:\n${yaml}\nbut it said: ${r.stdout}`);
  return r.stderr;
}

const obj = (kind: string, spec: string, name = 'bad') => `apiVersion: crossgate.dev/v1alpha1
kind: ${kind}
metadata: {name: ${name}, namespace: ${ns}}
spec: ${spec}
`;

describe('CRD validation by the real apiserver', () => {
  before(async () => {
    await installCrossgate();
    await kubectl(['create', 'namespace', ns]);
  });

  test('Organization: domain must be a DNS label; environments need distinct namespaces apart from home', async () => {
    const msg = await refused(`apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${uniqueName('bad-org')}}
spec: {domain: Bad_Domain, displayName: Bad, homeNamespace: h1, environments: [{name: a, namespace: h1}, {name: b, namespace: h1}]}
`);
    assert.match(msg, /spec\.domain: Invalid value: "Bad_Domain": spec\.domain in body should match/);
    assert.match(msg, /spec\.homeNamespace: Invalid value: .*homeNamespace must differ from every environment namespace/);
    assert.match(msg, /spec\.environments: Invalid value: .*each environment needs a namespace of its own/);
  });

  test('Organization: domain is immutable', async () => {
    const name = uniqueName('immutable-org');
    const home = uniqueName('home');
    const env = uniqueName('env');
    const spec = (domain: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${name}}
spec: {domain: ${domain}, displayName: X, homeNamespace: ${home}, environments: [{name: dev, namespace: ${env}}]}
`;
    await applyYaml(spec(name));
    try {
      const msg = await refused(spec(`${name}-x`));
      assert.match(msg, /spec\.domain: Invalid value: .*domain is immutable/);
    } finally {
      await kubectl(['delete', 'organization', name, '--wait=false']);
    }
  });

  test('Organization: route claims are hostnames and path prefixes the gateway can match', async () => {
    const msg = await refused(`apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${uniqueName('bad-routes')}}
spec: {domain: routes, displayName: R, homeNamespace: rh, environments: [{name: a, namespace: ra}], routes: {hostnames: ["API.example"], pathPrefixes: ["/a;b", "/x/../y"]}}
`);
    assert.match(msg, /spec\.routes\.hostnames\[0\]: Invalid value: "API\.example"/);
    assert.match(msg, /spec\.routes\.pathPrefixes\[0\]: Invalid value: "\/a;b"/);
    assert.match(msg, /spec\.routes\.pathPrefixes\[1\]: Invalid value: .*a path has no "\." or "\.\." segment/);
  });

  test('OrgTrust: name must equal the peer domain', async () => {
    const msg = await refused(obj('OrgTrust', '{peerDomain: max-airlines}', 'someone-else'));
    assert.match(msg, /spec\.peerDomain: Invalid value: .*metadata\.name must equal spec\.peerDomain/);
  });

  test('Asset: semantic version, and exactly one specification source', async () => {
    const msg = await refused(obj('Asset', '{type: oas, title: T, version: "1.0", source: {inline: "x", configMapRef: {name: c, key: k}}}'));
    assert.match(msg, /spec\.version: Invalid value: "1\.0"/);
    assert.match(msg, /spec\.source: Invalid value: .*set exactly one of inline or configMapRef/);
    const msg2 = await refused(obj('Asset', '{type: oas, title: T, version: "1.0.0"}'));
    assert.match(msg2, /spec\.source: Invalid value: .*a specification source is required for every type but http/);
  });

  test('AssetShare: access outside the known values is refused by the schema', async () => {
    const msg = await refused(obj('AssetShare', '{targetRef: {kind: Asset, name: a}, peers: [{domain: max-airlines, access: admin}]}'));
    assert.match(msg, /spec\.peers\[0\]\.access: Unsupported value: "admin": supported values: "view", "edit"/);
  });

  test('ApiInstance: base path starts with / and the upstream is http(s)', async () => {
    const msg = await refused(obj('ApiInstance', '{assetRef: {name: a}, basePath: flights, upstream: {url: "ftp://x"}}'));
    assert.match(msg, /spec\.basePath: Invalid value: "flights"/);
    assert.match(msg, /spec\.upstream\.url: Invalid value: .*upstream\.url must be an http:\/\/ or https:\/\/ URL/);
  });

  test('Policy: targetRef and selector are mutually exclusive; type is an enum', async () => {
    const msg = await refused(obj('Policy', '{type: cors, targetRef: {name: x}, selector: {}}'));
    assert.match(msg, /spec: Invalid value: .*set exactly one of targetRef \(one instance\) or selector \(automated policy\)/);
    const msg2 = await refused(obj('Policy', '{type: teleport, targetRef: {name: x}}'));
    assert.match(msg2, /spec\.type: Unsupported value: "teleport"/);
  });

  test('SlaTier: limits are positive', async () => {
    const msg = await refused(obj('SlaTier', '{apiInstanceRef: {name: a}, limits: [{requests: 0, period: minute}]}'));
    assert.match(msg, /spec\.limits\[0\]\.requests: Invalid value: 0: spec\.limits\[0\]\.requests in body should be greater than or equal to 1/);
  });

  test('ApiKey: tier is a name and expiry a timestamp; rotation only moves forward; revocation is final', async () => {
    const msg = await refused(obj('ApiKey', '{apiInstanceRef: {name: a}, tier: Gold, expiresAt: tomorrow}'));
    assert.match(msg, /spec\.tier: Invalid value: "Gold"/);
    assert.match(msg, /spec\.expiresAt: Invalid value: "tomorrow": spec\.expiresAt in body must be of type date-time/);
    const name = uniqueName('key');
    await applyYaml(obj('ApiKey', '{apiInstanceRef: {name: a}, tier: gold, revoked: true, rotation: {generation: 2}}', name));
    const msg2 = await refused(obj('ApiKey', '{apiInstanceRef: {name: a}, tier: gold, revoked: false, rotation: {generation: 1}}', name));
    assert.match(msg2, /a revoked key cannot be restored/);
    assert.match(msg2, /spec\.rotation\.generation: Invalid value: .*rotation\.generation can only increase/);
  });

  test('Contract: decision is an enum, and a revoked contract stays revoked', async () => {
    const msg = await refused(obj('Contract', '{apiInstanceRef: {name: a}, tier: gold, consumer: {organization: org1, namespace: ns1, kind: ApiKey, name: key1}, decision: Maybe}'));
    assert.match(msg, /spec\.decision: Unsupported value: "Maybe": supported values: "Pending", "Approved", "Rejected", "Revoked"/);
    const name = uniqueName('contract');
    await applyYaml(obj('Contract', '{apiInstanceRef: {name: a}, tier: gold, consumer: {organization: org1, namespace: ns1, kind: ApiKey, name: key1}, decision: Revoked}', name));
    const msg2 = await refused(obj('Contract', '{apiInstanceRef: {name: a}, tier: gold, consumer: {organization: org1, namespace: ns1, kind: ApiKey, name: key1}, decision: Approved}', name));
    assert.match(msg2, /spec\.decision: Invalid value: .*a revoked contract cannot be reopened/);
  });
  test('SlaTier: exactly one of apiInstanceRef and apiGroupRef', async () => {
    const both = await refused(obj('SlaTier', '{apiInstanceRef: {name: a}, apiGroupRef: {name: g}, limits: [{requests: 1, period: minute}]}'));
    assert.match(both, /a SlaTier belongs to exactly one of apiInstanceRef and apiGroupRef/);
    const none = await refused(obj('SlaTier', '{limits: [{requests: 1, period: minute}]}'));
    assert.match(none, /a SlaTier belongs to exactly one of apiInstanceRef and apiGroupRef/);
  });

  test('SlaTier: its apiInstanceRef or apiGroupRef never changes (contracts at the tier were made for it)', async () => {
    const name = uniqueName('tier-moved');
    await applyYaml(obj('SlaTier', '{apiInstanceRef: {name: flights}, limits: [{requests: 1, period: minute}]}', name));
    await applyYaml(obj('SlaTier', '{apiInstanceRef: {name: flights}, limits: [{requests: 5, period: minute}], approval: manual}', name));
    const moved = await refused(obj('SlaTier', '{apiInstanceRef: {name: hotels}, limits: [{requests: 1, period: minute}]}', name));
    assert.match(moved, /spec\.apiInstanceRef: Invalid value: .*apiInstanceRef cannot change: contracts at this tier were made for that ApiInstance; create a new SlaTier instead/);
    const swapped = await refused(obj('SlaTier', '{apiGroupRef: {name: flights}, limits: [{requests: 1, period: minute}]}', name));
    assert.match(swapped, /cannot change: contracts at this tier were made for that/);
    const group = uniqueName('group-tier-moved');
    await applyYaml(obj('SlaTier', '{apiGroupRef: {name: travel}, limits: [{requests: 1, period: minute}]}', group));
    const regrouped = await refused(obj('SlaTier', '{apiGroupRef: {name: other}, limits: [{requests: 1, period: minute}]}', group));
    assert.match(regrouped, /spec\.apiGroupRef: Invalid value: .*apiGroupRef cannot change: contracts at this tier were made for that ApiGroup; create a new SlaTier instead/);
  });

  test('Contract: exactly one of apiInstanceRef and apiGroupRef, and neither changes', async () => {
    const consumer = 'consumer: {organization: org1, namespace: ns1, kind: Application, name: app1}';
    const both = await refused(obj('Contract', `{apiInstanceRef: {name: a}, apiGroupRef: {name: g}, tier: gold, ${consumer}}`));
    assert.match(both, /a Contract grants access to exactly one of apiInstanceRef and apiGroupRef/);
    const name = uniqueName('group-contract');
    await applyYaml(obj('Contract', `{apiGroupRef: {name: g}, tier: gold, ${consumer}}`, name));
    const moved = await refused(obj('Contract', `{apiGroupRef: {name: h}, tier: gold, ${consumer}}`, name));
    assert.match(moved, /spec\.apiGroupRef: Invalid value: .*apiGroupRef is immutable/);
    const swapped = await refused(obj('Contract', `{apiInstanceRef: {name: g}, tier: gold, ${consumer}}`, name));
    assert.match(swapped, /apiInstanceRef is immutable/);
  });

  test('Application: each access entry names one target, each target once (the rule fits the CEL cost budget)', async () => {
    const both = await refused(obj('Application', '{access: [{apiInstanceRef: {name: a}, apiGroupRef: {name: g, namespace: home}, tier: gold}]}'));
    assert.match(both, /an access entry names exactly one of apiInstanceRef and apiGroupRef/);
    const twice = await refused(obj('Application', '{access: [{apiGroupRef: {name: g, namespace: home}, tier: gold}, {apiGroupRef: {name: g, namespace: home}, tier: silver}]}'));
    assert.match(twice, /each ApiInstance and each ApiGroup may appear once in access/);
    const twiceInstance = await refused(obj('Application', '{access: [{apiInstanceRef: {name: a}, tier: gold}, {apiInstanceRef: {name: a}, tier: silver}]}'));
    assert.match(twiceInstance, /each ApiInstance and each ApiGroup may appear once in access/);
    // An instance and a group of one name are two targets.
    await applyYaml(obj('Application', '{access: [{apiInstanceRef: {name: a}, tier: gold}, {apiGroupRef: {name: a, namespace: home}, tier: gold}]}', uniqueName('app')));
  });

  test('ApiGroup: members are namespace and name, at most 32, each once', async () => {
    const dup = await refused(obj('ApiGroup', '{instances: [{namespace: home, name: a}, {namespace: home, name: a}]}'));
    assert.match(dup, /spec\.instances\[1\]: Duplicate value/);
    const noNs = await refused(obj('ApiGroup', '{instances: [{name: a}]}'));
    assert.match(noNs, /spec\.instances\[0\]\.namespace: Required value/);
  });
});
