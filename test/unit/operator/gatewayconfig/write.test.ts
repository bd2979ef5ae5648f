import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { KubeHttpError } from '../../../../kube/kube.ts';
import { LABEL_GATEWAY, MAX_PART_BYTES, PART_DATA_KEY } from '../../../../api/gateway/config.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../../../api/labels.ts';
import { ANNOTATION_GENERATION, ANNOTATION_STAMP, ConfigMapWriter, StaleParts, gatewayConfigMaps } from '../../../../operator/controllers/gatewayconfig/write.ts';
import { OperatorMetrics } from '../../../../kube/metrics.ts';
import { render } from '../../../../operator/controllers/gatewayconfig/render.ts';

const NS = 'crossgate-system';

function cm(name: string, gateway: string, annotations: Record<string, string> = {}, managed = true): V1ConfigMap {
  return { metadata: { name, namespace: NS, labels: { [LABEL_GATEWAY]: gateway, ...(managed ? { [LABEL_MANAGED_BY]: MANAGED_BY } : {}) }, annotations } };
}

function fixture(cached: V1ConfigMap[], fail: (method: string, path: string) => Error | undefined = () => undefined) {
  const calls: Array<{ method: string; path: string; body?: unknown }> = [];
  const http = {
    request: async <T>(method: string, path: string, opts?: { body?: unknown }): Promise<T> => {
      calls.push({ method, path, body: opts?.body });
      const err = fail(method, path);
      if (err) throw err;
      return undefined as T;
    },
  };
  const cache = { get: (id: string) => cached.find((c) => `${c.metadata!.namespace}/${c.metadata!.name}` === id), list: () => cached };
  return { writer: new ConfigMapWriter(NS, http, cache), calls };
}

test('the ConfigMap cache holds only the metadata of the gateway config objects', () => {
  assert.deepEqual(gatewayConfigMaps(NS), { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespace: NS, labelSelector: LABEL_GATEWAY, metadataOnly: true });
});

test('a part is created when the cache does not have it, replaced when it does, and replaced after a create that finds it exists', async () => {
  const { writer, calls } = fixture([cm('crossgate-gw-default-keys-01', 'default')], (method, path) =>
    method === 'POST' && calls.length === 2 ? new KubeHttpError(409, { reason: 'AlreadyExists' }, `${method} ${path}`) : undefined,
  );
  await writer.write('crossgate-gw-default-keys-00', 'default', 'sha256:aa shards=64', 3, { x: 1 });
  await writer.write('crossgate-gw-default-keys-02', 'default', 'sha256:bb shards=64', 3, { x: 2 });
  await writer.write('crossgate-gw-default-keys-01', 'default', 'sha256:cc shards=64', 3, { x: 3 });
  assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), [
    `POST /api/v1/namespaces/${NS}/configmaps`,
    `POST /api/v1/namespaces/${NS}/configmaps`,
    `PUT /api/v1/namespaces/${NS}/configmaps/crossgate-gw-default-keys-02`,
    `PUT /api/v1/namespaces/${NS}/configmaps/crossgate-gw-default-keys-01`,
  ]);
  assert.deepEqual(calls[0]!.body, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'crossgate-gw-default-keys-00',
      namespace: NS,
      labels: { [LABEL_GATEWAY]: 'default', [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: { [ANNOTATION_STAMP]: 'sha256:aa shards=64', [ANNOTATION_GENERATION]: '3' },
    },
    data: { [PART_DATA_KEY]: '{"x":1}' },
  });
});

test('a part over the byte budget is refused before any request, with its name, size and the budget', async () => {
  const { writer, calls } = fixture([]);
  await assert.rejects(
    writer.write('crossgate-gw-default-routes-03', 'default', 's', 1, { pad: 'a'.repeat(MAX_PART_BYTES) }),
    new RegExp(`^Error: gateway config part crossgate-gw-default-routes-03 is ${MAX_PART_BYTES + 10} bytes, over the ${MAX_PART_BYTES}-byte budget$`),
  );
  assert.equal(calls.length, 0);
});

test('the previous config is read from the annotations of this gateway\'s objects only', () => {
  const { writer } = fixture([
    cm('crossgate-gw-default', 'default', { [ANNOTATION_GENERATION]: '7', [ANNOTATION_STAMP]: 'manifest-7' }),
    cm('crossgate-gw-default-keys-00', 'default', { [ANNOTATION_STAMP]: 'sha256:aa shards=64', [ANNOTATION_GENERATION]: '5' }),
    cm('crossgate-gw-default-keys-01', 'default'), // no stamp: unknown, so rewritten
    cm('crossgate-gw-edge-keys-00', 'edge', { [ANNOTATION_STAMP]: 'sha256:ee shards=64', [ANNOTATION_GENERATION]: '2' }),
  ]);
  assert.deepEqual(writer.previousConfig('default'), { generation: 7, parts: new Map([['crossgate-gw-default-keys-00', { stamp: 'sha256:aa shards=64', generation: 5 }]]) });
  assert.equal(writer.previousConfig('edge'), undefined, 'no manifest, no previous config');
});

test('the parts the manifest no longer lists are deleted: only crossgate\'s, of this gateway, never the manifest; gone already is fine', async () => {
  const { writer, calls } = fixture(
    [
      cm('crossgate-gw-default', 'default'),
      cm('crossgate-gw-default-keys-00', 'default'),
      cm('crossgate-gw-default-keys-64', 'default'),
      cm('crossgate-gw-default-keys-65', 'default'),
      cm('crossgate-gw-default-keys-66', 'default', {}, false),
      cm('crossgate-gw-edge-keys-64', 'edge'),
    ],
    (method, path) => (path.endsWith('keys-65') ? new KubeHttpError(404, { reason: 'NotFound' }, `${method} ${path}`) : undefined),
  );
  await writer.deleteUnlisted('default', new Set(['crossgate-gw-default-keys-00']));
  assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), [
    `DELETE /api/v1/namespaces/${NS}/configmaps/crossgate-gw-default-keys-64`,
    `DELETE /api/v1/namespaces/${NS}/configmaps/crossgate-gw-default-keys-65`,
  ]);
  const failing = fixture([cm('crossgate-gw-default-keys-64', 'default')], () => new KubeHttpError(403, { reason: 'Forbidden' }, 'DELETE'));
  await assert.rejects(failing.writer.deleteUnlisted('default', new Set()), /HTTP 403 Forbidden/);
});

test('a config is written parts first, the manifest last, each part with its stamp and generation', async () => {
  const { writer, calls } = fixture([]);
  const out = render('default', [], [], undefined);
  const result = await writer.writeConfig('default', out, undefined);
  assert.equal(result.manifestWritten, true);
  assert.equal(calls.length, out.parts.length + 1);
  const last = calls.at(-1)!.body as V1ConfigMap;
  assert.equal(last.metadata!.name, 'crossgate-gw-default');
  assert.deepEqual(last.metadata!.annotations, { [ANNOTATION_STAMP]: 'manifest-1', [ANNOTATION_GENERATION]: '1' });
  const first = calls[0]!.body as V1ConfigMap;
  assert.equal(first.metadata!.annotations![ANNOTATION_STAMP], out.parts[0]!.stamp);
});

test('StaleParts: a part that could not be written is stale from its first failure until a write of the config leaves it out; the metric hears each change once', () => {
  const heard: Array<[string, string, number | undefined]> = [];
  const stale = new StaleParts((gateway, part, since) => heard.push([gateway, part, since]));
  assert.deepEqual([...stale.record('default', ['crossgate-gw-default-routes-03'], 1000)], [['crossgate-gw-default-routes-03', 1000]]);
  assert.deepEqual([...stale.record('default', ['crossgate-gw-default-routes-03', 'crossgate-gw-default-keys-07'], 11_000)], [
    ['crossgate-gw-default-routes-03', 1000],
    ['crossgate-gw-default-keys-07', 11_000],
  ], 'still stale since its first failure');
  assert.deepEqual([...stale.record('other', [], 12_000)], [], 'gateways are apart');
  assert.deepEqual([...stale.record('default', ['crossgate-gw-default-keys-07'], 21_000)], [['crossgate-gw-default-keys-07', 11_000]]);
  assert.deepEqual([...stale.record('default', [], 31_000)], []);
  assert.deepEqual(heard, [
    ['default', 'crossgate-gw-default-routes-03', 1000],
    ['default', 'crossgate-gw-default-keys-07', 11_000],
    ['default', 'crossgate-gw-default-routes-03', undefined],
    ['default', 'crossgate-gw-default-keys-07', undefined],
  ]);
});

test('the stale-part metric names the gateway and the part, with the time it went stale, and goes when the part is written', async () => {
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const gauge = metrics.gatewayConfigPartStaleSince;
  const stale = new StaleParts((gateway, part, since) => (since === undefined ? gauge.remove({ gateway, part }) : gauge.set({ gateway, part }, since / 1000)));
  stale.record('default', ['crossgate-gw-default-routes-03'], 1_700_000_000_000);
  assert.match(await metrics.registry.metrics(), /crossgate_gateway_config_part_stale_since_seconds\{gateway="default",part="crossgate-gw-default-routes-03"\} 1700000000\n/);
  stale.record('default', [], 1_700_000_010_000);
  assert.doesNotMatch(await metrics.registry.metrics(), /crossgate_gateway_config_part_stale_since_seconds\{/);
});
