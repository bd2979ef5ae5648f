// The two config sources feeding the loader: a watched directory and the
// Kubernetes ConfigMaps of a gateway (against the fake list/watch server the
// informer tests use).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CREDENTIAL_SHARDS, LABEL_GATEWAY, ROUTE_SHARDS, PART_DATA_KEY, manifestName, shardName } from '../../../api/gateway/config.ts';
import { shardOf } from '../../../api/gateway/checksum.ts';
import { DirectorySource } from '../../../gateway/config-source/directory.ts';
import { KubernetesSource } from '../../../gateway/config-source/kubernetes.ts';
import { ConfigLoader } from '../../../gateway/config-source/loader.ts';
import { renderParts, type RenderedPart } from '../../../gateway/config-source/write.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { KubeHttp } from '../../../kube/kube.ts';
import { FakeApiServer } from '../operator/fake-apiserver.ts';
import { ConfigDir, GATEWAY, cred, gold, newKey, policy, route, silent } from './fixtures.ts';

function loader(gateway = GATEWAY): ConfigLoader {
  const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent() };
  return new ConfigLoader({ gateway, compileRoutes: (p) => compileRoutes(p, deps), logger: silent(), debounceMs: 5 });
}

async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ROUTES = [route('ns/flights', { tiers: [gold], policies: [policy('api-key', {}, 'ns/key')] })];

describe('DirectorySource', () => {
  test('initial load; a key change rereads one file plus the manifest; revocation seen within the debounce; deleting the manifest keeps the config', async () => {
    const cfg = await ConfigDir.create();
    cfg.routes = ROUTES;
    const keys = Array.from({ length: 500 }, () => newKey());
    cfg.credentials = Object.fromEntries(keys.map((k) => [k.hash, cred('ns/flights')]));
    await cfg.write();
    const l = loader();
    const src = new DirectorySource({ dir: cfg.dir, loader: l, logger: silent(), debounceMs: 10, rescanMs: 0 });
    try {
      await src.start();
      assert.equal(l.current?.generation, 1);
      assert.equal(l.current?.credentials.size, 500);
      assert.equal(src.reads, 1 + ROUTE_SHARDS + CREDENTIAL_SHARDS);
      // Revoke one key: one shard and the manifest are rewritten; fs.watch alone (no periodic rescan) picks it up.
      const victim = keys[0]!;
      delete cfg.credentials[victim.hash];
      const written = await cfg.write();
      assert.deepEqual(written, [shardName(GATEWAY, shardOf(victim.hash, CREDENTIAL_SHARDS)), manifestName(GATEWAY)]);
      const t0 = Date.now();
      await until(() => l.current?.generation === 2, 'generation 2');
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(l.current!.credentials.lookup(victim.hash), undefined);
      assert.equal(src.reads, 1 + ROUTE_SHARDS + CREDENTIAL_SHARDS + 2, 'only the two changed files were read');
      // A half-written manifest: parse error, generation 2 stays.
      await writeFile(join(cfg.dir, `${manifestName(GATEWAY)}.json`), '{"apiVersion": "gateway.crossgate.dev/v1", "kind": "Mani');
      await until(() => l.status().pending !== undefined, 'the refusal');
      assert.match(l.status().pending!, /not JSON/);
      assert.equal(l.current?.generation, 2);
      await unlink(join(cfg.dir, `${manifestName(GATEWAY)}.json`));
      await until(() => /not found/.test(l.status().pending ?? ''), 'manifest not found');
      assert.equal(l.current?.generation, 2, 'a vanished manifest does not unload the config');
    } finally {
      await src.stop();
      l.close();
      await cfg.remove();
    }
  });

  test('the periodic rescan finds changes without fs.watch events', async () => {
    const cfg = await ConfigDir.create();
    cfg.routes = ROUTES;
    await cfg.write();
    const l = loader();
    const src = new DirectorySource({ dir: cfg.dir, loader: l, logger: silent(), rescanMs: 100, watch: false });
    try {
      await src.start();
      assert.equal(l.current?.generation, 1);
      const k = newKey();
      cfg.credentials = { [k.hash]: cred('ns/flights') };
      await cfg.write();
      await until(() => l.current?.credentials.lookup(k.hash) !== undefined, 'the new key');
    } finally {
      await src.stop();
      l.close();
      await cfg.remove();
    }
  });
});

describe('KubernetesSource', () => {
  test('lists and watches the labelled ConfigMaps of one gateway in one namespace; updates and deletes flow through', async () => {
    const server = await new FakeApiServer({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' }).start();
    const http = new KubeHttp(server.kubeConfig());
    const cm = (p: RenderedPart, gateway = GATEWAY, namespace = 'gw-ns') => ({
      metadata: { name: p.name, namespace, labels: { [LABEL_GATEWAY]: gateway } },
      data: { [PART_DATA_KEY]: JSON.stringify(p.part) },
    });
    const k1 = newKey();
    const k2 = newKey();
    const g1 = renderParts({ gateway: GATEWAY, generation: 1, routes: ROUTES, credentials: { [k1.hash]: cred('ns/flights') } });
    for (const p of g1) server.upsert(cm(p));
    // Noise: another gateway's manifest in the namespace, our manifest name in another namespace.
    const other = renderParts({ gateway: 'other', generation: 9, routes: [], credentials: {} });
    server.upsert(cm(other.at(-1)!, 'other'));
    server.upsert({ ...cm(g1.at(-1)!), metadata: { name: manifestName(GATEWAY), namespace: 'elsewhere', labels: { [LABEL_GATEWAY]: GATEWAY } } });
    const l = loader();
    const src = new KubernetesSource({ client: http, namespace: 'gw-ns', gateway: GATEWAY, loader: l, logger: silent(), informer: { backoffBaseMs: 10, watchTimeoutSeconds: 60 } });
    try {
      await src.start();
      assert.equal(l.current?.generation, 1);
      assert.equal(src.informer.size(), g1.length, 'only this gateway, only this namespace');
      const list = server.listRequests()[0]!;
      assert.equal(list.path, '/api/v1/namespaces/gw-ns/configmaps');
      assert.equal(list.query.labelSelector, `${LABEL_GATEWAY}=${GATEWAY}`);
      // Rotate: k2 added, k1 kept until its grace ends; operator order: parts first, manifest last.
      const g2 = renderParts({ gateway: GATEWAY, generation: 2, routes: ROUTES, credentials: { [k1.hash]: cred('ns/flights', { notAfter: '2030-01-01T00:00:00Z' }), [k2.hash]: cred('ns/flights') } }, g1);
      for (const p of g2) if (p.part !== g1.find((o) => o.name === p.name)?.part) server.upsert(cm(p));
      await until(() => l.current?.generation === 2, 'generation 2');
      assert.ok(l.current!.credentials.lookup(k2.hash));
      assert.equal(l.current!.credentials.lookup(k1.hash)?.notAfter, Date.parse('2030-01-01T00:00:00Z'));
      // A deleted part (listed by the manifest) keeps generation 2 in force.
      server.remove('gw-ns', shardName(GATEWAY, 3));
      await until(() => /keys-03 listed by manifest generation 2 not found/.test(l.status().pending ?? ''), 'pending on the deleted shard');
      assert.equal(l.current?.generation, 2);
      // A ConfigMap without config.json counts as missing, too.
      server.upsert({ metadata: { name: shardName(GATEWAY, 3), namespace: 'gw-ns', labels: { [LABEL_GATEWAY]: GATEWAY } }, data: {} });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(l.current?.generation, 2);
      server.upsert(cm(g2.find((p) => p.name === shardName(GATEWAY, 3))!));
      const g3 = renderParts({ gateway: GATEWAY, generation: 3, routes: ROUTES, credentials: { [k2.hash]: cred('ns/flights') } }, g2);
      for (const p of g3) if (p.part !== g2.find((o) => o.name === p.name)?.part) server.upsert(cm(p));
      await until(() => l.current?.generation === 3, 'generation 3');
      assert.equal(l.current!.credentials.lookup(k1.hash), undefined, 'the old key is gone');
    } finally {
      await src.stop();
      l.close();
      await http.close();
      await server.close();
    }
  });
});
