// The Asset reconciler end to end: an organization's Flights EAPI validated
// with its summary in `kubectl get -o wide`, a broken specification explained,
// a specification in a ConfigMap that appears (and changes) after the Asset,
// and an http asset without a specification.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyYaml, condition, getJson, kubectl, startOperator, uniqueName, waitFor, waitForCondition, type RunningOperator } from './support/index.ts';

const FLIGHTS_OAS = `openapi: 3.0.3
info:
  title: Flights EAPI
  version: 1.0.0
paths:
  /flights:
    get:
      summary: List flights
      responses:
        "200": {description: Flights}
  /flights/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      summary: One flight
      responses:
        "200": {description: A flight}
        "404": {description: No such flight}
    delete:
      responses:
        "204": {description: Cancelled}
  /flights/{id}/status:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      summary: Live status of a flight
      responses:
        "200": {description: Status}
`;

const indent = (text: string, n: number) => text.split('\n').map((l) => (l ? ' '.repeat(n) + l : l)).join('\n');

function assetYaml(name: string, namespace: string, spec: { type?: string; title?: string; inline?: string; configMapRef?: { name: string; key: string } }): string {
  const source = spec.inline !== undefined
    ? `  source:\n    inline: |\n${indent(spec.inline, 6)}`
    : spec.configMapRef
      ? `  source:\n    configMapRef: {name: ${spec.configMapRef.name}, key: ${spec.configMapRef.key}}\n`
      : '';
  return `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  type: ${spec.type ?? 'oas'}
  title: ${spec.title ?? 'Flights EAPI'}
  version: 1.0.0
${source}`;
}

function configMapYaml(name: string, namespace: string, key: string, text: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}}
data:
  ${key}: |
${indent(text, 4)}`;
}

async function eventsOf(namespace: string, name: string): Promise<string> {
  return (await kubectl(['get', 'events', '-n', namespace, '--field-selector', `involvedObject.kind=Asset,involvedObject.name=${name}`, '-o', 'custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message'])).stdout;
}

describe('Asset', () => {
  let op: RunningOperator;
  const org = uniqueName('assets');
  const home = `${org}-home`;

  before(async () => {
    // Its own Lease: another operator left running on a shared cluster cannot hold this one back.
    op = await startOperator({ env: { CROSSGATE_LEASE_NAME: uniqueName('lease') } });
    // Assets belong to an organization and live in its home namespace (the webhook refuses them elsewhere).
    await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${org}}
spec:
  domain: ${org}
  displayName: Max Airlines (asset test)
  homeNamespace: ${home}
  environments:
  - {name: sandbox, namespace: ${org}-sandbox}
  memberGroups: ["${org}:members"]
  adminGroups: ["${org}:admins"]
`);
    await waitForCondition(['organization', org], 'Ready', 'True');
  });
  after(async () => {
    await kubectl(['delete', 'assets', '--all', '-n', home, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await kubectl(['delete', 'organization', org, '--ignore-not-found', '--timeout=30s'], { allowFail: true });
    await op?.proc.stop();
    await kubectl(['delete', 'namespace', home, `${org}-sandbox`, '--ignore-not-found', '--wait=false'], { allowFail: true });
  });

  test('the Flights EAPI: Ready True (Valid) with its summary in kubectl get -o wide, and a SpecValidated Event', async () => {
    await applyYaml(assetYaml('flights-eapi', home, { inline: FLIGHTS_OAS }));
    const obj = await waitForCondition(['asset', 'flights-eapi', '-n', home], 'Ready', 'True', { reason: 'Valid' });
    assert.equal(obj.status.observedGeneration, obj.metadata.generation);
    assert.deepEqual(obj.status.summary, { title: 'Flights EAPI', version: '1.0.0', specVersion: '3.0.3', pathCount: 3, operationCount: 4 });
    assert.equal(condition(obj, 'Ready')!.message, 'OpenAPI 3.0.3 "Flights EAPI" 1.0.0: 3 paths, 4 operations');

    const table = (await kubectl(['get', 'asset', 'flights-eapi', '-n', home, '-o', 'wide'])).stdout;
    assert.match(table, /^NAME\s+TITLE\s+TYPE\s+VERSION\s+VALID\s+PATHS\s+REASON\s+AGE/);
    assert.match(table, /\nflights-eapi\s+Flights EAPI\s+oas\s+1\.0\.0\s+True\s+3\s+Valid\s+\S+/);
    await waitFor(async () => /Normal\s+SpecValidated\s+OpenAPI 3\.0\.3 "Flights EAPI" 1\.0\.0: 3 paths, 4 operations/.test(await eventsOf(home, 'flights-eapi')), {
      what: 'a SpecValidated Event',
      timeoutMs: 10_000,
    });
  });

  test('a broken specification: Ready False (InvalidSpec) saying what is wrong and where, and a Warning', async () => {
    const broken = FLIGHTS_OAS.replace('  title: Flights EAPI\n', '');
    await applyYaml(assetYaml('flights-broken', home, { inline: broken }));
    const obj = await waitForCondition(['asset', 'flights-broken', '-n', home], 'Ready', 'False', { reason: 'InvalidSpec' });
    assert.equal(condition(obj, 'Ready')!.message, 'invalid OpenAPI 3.0.3 document: $.info (line 2) must have required property "title"');
    assert.equal(obj.status.summary, undefined);
    const table = (await kubectl(['get', 'asset', 'flights-broken', '-n', home, '-o', 'wide'])).stdout;
    assert.match(table, /\nflights-broken\s+Flights EAPI\s+oas\s+1\.0\.0\s+False\s+InvalidSpec\s/, 'no PATHS while invalid');
    await waitFor(async () => /Warning\s+InvalidSpec\s+invalid OpenAPI 3\.0\.3 document/.test(await eventsOf(home, 'flights-broken')), {
      what: 'an InvalidSpec Warning',
      timeoutMs: 10_000,
    });

    // Fixing it: Valid again, for the new generation.
    await applyYaml(assetYaml('flights-broken', home, { inline: FLIGHTS_OAS }));
    const fixed = await waitForCondition(['asset', 'flights-broken', '-n', home], 'Ready', 'True', { reason: 'Valid' });
    assert.equal(fixed.status.observedGeneration, fixed.metadata.generation);
    assert.equal(fixed.status.summary.pathCount, 3);
  });

  test('an external $ref is refused, not fetched', async () => {
    const external = FLIGHTS_OAS.replace('        "200": {description: Status}', '        "200": {$ref: "https://schemas.example.invalid/status.yaml"}');
    await applyYaml(assetYaml('flights-external', home, { inline: external }));
    const obj = await waitForCondition(['asset', 'flights-external', '-n', home], 'Ready', 'False', { reason: 'InvalidSpec' });
    assert.match(condition(obj, 'Ready')!.message, /^external \$ref "https:\/\/schemas\.example\.invalid\/status\.yaml" at \$\.paths\['\/flights\/\{id\}\/status'\]\.get\.responses\['200'\] \(line \d+\) is refused: crossgate never fetches files or URLs/);
  });

  test('a ConfigMap created after the Asset: SourceNotFound, then Valid; a change to the ConfigMap is seen', async () => {
    await applyYaml(assetYaml('flights-from-cm', home, { configMapRef: { name: 'flights-spec', key: 'openapi.yaml' } }));
    const missing = await waitForCondition(['asset', 'flights-from-cm', '-n', home], 'Ready', 'False', { reason: 'SourceNotFound' });
    assert.equal(condition(missing, 'Ready')!.message, `ConfigMap "flights-spec" not found in namespace "${home}"`);

    await applyYaml(configMapYaml('flights-spec', home, 'openapi.yaml', FLIGHTS_OAS));
    const obj = await waitForCondition(['asset', 'flights-from-cm', '-n', home], 'Ready', 'True', { reason: 'Valid' });
    assert.deepEqual(obj.status.summary, { title: 'Flights EAPI', version: '1.0.0', specVersion: '3.0.3', pathCount: 3, operationCount: 4 });

    // No spec change on the Asset: only the ConfigMap's event can bring this.
    await applyYaml(configMapYaml('flights-spec', home, 'openapi.yaml', 'openapi: 3.0.3\ninfo: {title: Flights EAPI, version: 1.0.0}\npaths: [nope]\n'));
    const bad = await waitForCondition(['asset', 'flights-from-cm', '-n', home], 'Ready', 'False', { reason: 'InvalidSpec' });
    assert.equal(condition(bad, 'Ready')!.message, 'invalid OpenAPI 3.0.3 document: $.paths (line 3) must be object');

    await kubectl(['delete', 'configmap', 'flights-spec', '-n', home]);
    await waitForCondition(['asset', 'flights-from-cm', '-n', home], 'Ready', 'False', { reason: 'SourceNotFound' });
  });

  test('a GraphQL asset and an http asset', async () => {
    await applyYaml(assetYaml('flights-graph', home, { type: 'graphql', title: 'Flights Graph', inline: 'type Query { flights: [Flight!]! flight(id: ID!): Flight }\ntype Flight { id: ID! status: String }\n' }));
    const g = await waitForCondition(['asset', 'flights-graph', '-n', home], 'Ready', 'True', { reason: 'Valid' });
    assert.deepEqual(g.status.summary, { operationCount: 2 });

    await applyYaml(assetYaml('flights-http', home, { type: 'http', title: 'Flights HTTP' }));
    const h = await waitForCondition(['asset', 'flights-http', '-n', home], 'Ready', 'True', { reason: 'NoSpecification' });
    assert.equal(condition(h, 'Ready')!.message, 'an http asset has no specification');
  });

  test('the reconciler never crashed', async () => {
    assert.equal(op.proc.running, true);
    const errors = op.logs().filter((l) => l.msg === 'reconcile failed' && l.controller === 'asset');
    assert.deepEqual(errors, []);
    assert.ok(await getJson(['asset', 'flights-eapi', '-n', home]));
  });
});
