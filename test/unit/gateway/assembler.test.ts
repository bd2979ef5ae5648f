// Config assembly: a config is built only from a complete, consistent set
// of parts; anything else keeps the last good one; work is proportional to
// what changed (one shard in, one shard rebuilt).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checksumOf, shardOf } from '../../../api/gateway/checksum.ts';
import { CREDENTIAL_SHARDS, manifestName, routesName, shardName, type CredentialsPart, type Manifest, type RoutesPart } from '../../../api/gateway/v1.ts';
import { ConfigAssembler } from '../../../gateway/config-source/assembler.ts';
import { renderParts, type ConfigInput, type RenderedPart } from '../../../gateway/config-source/write.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { GATEWAY, cred, gold, newKey, policy, route, silent } from './fixtures.ts';

function assembler(): ConfigAssembler {
  const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent() };
  return new ConfigAssembler({ gateway: GATEWAY, compileRoutes: (p) => compileRoutes(p, deps) });
}

function feed(a: ConfigAssembler, parts: readonly RenderedPart[], skip: string[] = []): void {
  for (const p of parts) if (!skip.includes(p.name)) a.set(p.name, JSON.stringify(p.part));
}

const ROUTES = [route('ns/flights', { policies: [policy('api-key', {}, 'ns/key')], tiers: [gold] })];

function input(generation: number, credentials: ConfigInput['credentials']): ConfigInput {
  return { gateway: GATEWAY, generation, routes: ROUTES, credentials };
}

function keys(n: number): Record<string, ReturnType<typeof cred>> {
  const out: Record<string, ReturnType<typeof cred>> = {};
  for (let i = 0; i < n; i++) out[newKey().hash] = cred('ns/flights', { client: `consumer/app-${i}` });
  return out;
}

describe('ConfigAssembler', () => {
  test('loads a complete config: routes compiled, every key findable in its shard', () => {
    const a = assembler();
    const creds = keys(200);
    feed(a, renderParts(input(1, creds)));
    const r = a.assemble();
    assert.equal(r.status, 'loaded');
    const c = a.current!;
    assert.equal(c.generation, 1);
    assert.equal(c.credentials.size, 200);
    assert.equal(c.credentials.shards, CREDENTIAL_SHARDS);
    for (const [hash, v] of Object.entries(creds)) assert.equal(c.credentials.lookup(hash)?.client, v.client);
    assert.equal(c.credentials.lookup('0'.repeat(64)), undefined);
    assert.equal(c.routes.routes[0]!.id, 'ns/flights');
    assert.equal(a.stats.shardBuilds, CREDENTIAL_SHARDS);
  });

  test('without the manifest nothing loads; a missing listed part waits', () => {
    const a = assembler();
    const parts = renderParts(input(1, keys(3)));
    feed(a, parts, [manifestName(GATEWAY)]);
    const r1 = a.assemble();
    assert.equal(r1.status, 'pending');
    assert.match((r1 as { reason: string }).reason, /manifest crossgate-gw-test-gw not found/);
    a.delete(shardName(GATEWAY, 7));
    feed(a, parts.filter((p) => p.name === manifestName(GATEWAY)));
    const r2 = a.assemble();
    assert.equal(r2.status, 'pending');
    assert.match((r2 as { reason: string }).reason, /part crossgate-gw-test-gw-keys-07 listed by manifest generation 1 not found/);
    assert.equal((r2 as { invalid: boolean }).invalid, false);
    assert.equal(a.current, undefined);
  });

  test('a checksum mismatch keeps the old config in force', () => {
    const a = assembler();
    const k = newKey();
    const g1 = renderParts(input(1, { [k.hash]: cred('ns/flights') }));
    feed(a, g1);
    assert.equal(a.assemble().status, 'loaded');
    const old = a.current!;
    // Generation 2 revokes the key, but only the manifest has arrived so far.
    const g2 = renderParts(input(2, {}), g1);
    const shard = shardName(GATEWAY, shardOf(k.hash, CREDENTIAL_SHARDS));
    feed(a, g2.filter((p) => p.name === manifestName(GATEWAY)));
    const r = a.assemble();
    assert.equal(r.status, 'pending');
    assert.match((r as { reason: string }).reason, new RegExp(`part ${shard} has checksum sha256:[0-9a-f]+, manifest generation 2 expects`));
    assert.equal(a.current, old, 'same object: the old config is still in force');
    assert.ok(a.current!.credentials.lookup(k.hash), 'and the key still works');
    // The shard arrives: now generation 2 is complete.
    feed(a, g2.filter((p) => p.name === shard));
    assert.equal(a.assemble().status, 'loaded');
    assert.equal(a.current!.generation, 2);
    assert.equal(a.current!.credentials.lookup(k.hash), undefined);
  });

  test('a part whose content does not hash to its checksum is refused (invalid), the old config stays', () => {
    const a = assembler();
    const g1 = renderParts(input(1, keys(5)));
    feed(a, g1);
    a.assemble();
    const g2 = renderParts(input(2, keys(5)), g1);
    const tampered = g2.map((p) => {
      if (p.part.kind !== 'Credentials' || Object.keys(p.part.entries).length === 0) return p;
      const part = structuredClone(p.part) as CredentialsPart;
      const first = Object.keys(part.entries)[0]!;
      part.entries[first]!.tier = 'platinum'; // content changed, checksum not
      return { name: p.name, part };
    });
    feed(a, tampered);
    const r = a.assemble();
    assert.equal(r.status, 'pending');
    assert.equal((r as { invalid: boolean }).invalid, true);
    assert.match((r as { reason: string }).reason, /content hashes to sha256:.*the part says/);
    assert.equal(a.current!.generation, 1);
  });

  test('a part newer than the manifest waits for the manifest', () => {
    const a = assembler();
    const g1 = renderParts(input(1, {}));
    feed(a, g1);
    // A part claiming generation 5 with the checksum the generation-1 manifest lists.
    const rName = routesName(GATEWAY);
    const routes = structuredClone(g1.find((p) => p.name === rName)!.part) as RoutesPart;
    routes.generation = 5;
    a.set(rName, JSON.stringify(routes));
    const r = a.assemble();
    assert.equal(r.status, 'pending');
    assert.match((r as { reason: string }).reason, /generation 5, newer than manifest generation 1/);
  });

  test('schema violations are refused with the field path', () => {
    const a = assembler();
    const parts = renderParts(input(1, {}));
    feed(a, parts);
    const m = structuredClone(parts.find((p) => p.name === manifestName(GATEWAY))!.part) as Manifest & { extra?: number };
    m.extra = 1;
    a.set(manifestName(GATEWAY), JSON.stringify(m));
    const r = a.assemble();
    assert.equal(r.status, 'pending');
    assert.match((r as { reason: string }).reason, /invalid Manifest: \/extra: is not a known field/);
    a.set(manifestName(GATEWAY), '{"kind": "Manifest", ');
    assert.match((a.assemble() as { reason: string }).reason, /not JSON/);
  });

  test('a policy config that fails its schema holds only its own route closed (fail closed there); the other routes of the generation load', () => {
    const a = assembler();
    const g1 = renderParts(input(1, {}));
    feed(a, g1);
    a.assemble();
    const bad: ConfigInput = { ...input(2, {}), routes: [route('ns/flights', { policies: [policy('rate-limit', { limits: [] })] }), route('ns/hotels', { basePath: '/hotels' })] };
    feed(a, renderParts(bad, g1));
    const r = a.assemble();
    assert.equal(r.status, 'loaded');
    assert.equal(a.current!.generation, 2);
    const flights = a.current!.routes.byId.get('ns/flights')!;
    assert.equal(flights.withheld?.reason, 'InvalidRoute');
    assert.match(flights.withheld!.message, /route ns\/flights: policy ns\/rate-limit-\d+ \(rate-limit\): \/spec\/config\/limits: must NOT have fewer than 1 items/);
    assert.equal(flights.policies.length, 0, 'a withheld route runs nothing and forwards nowhere');
    assert.equal(a.current!.routes.router.match(undefined, '/flights/x')?.id, 'ns/flights', 'the withheld route keeps its place: its requests do not fall through');
    assert.equal(a.current!.routes.byId.get('ns/hotels')!.withheld, undefined);
  });

  test('a key hash in the wrong shard is refused', () => {
    const a = assembler();
    const parts = renderParts(input(1, {}));
    const k = newKey();
    const wrong = (shardOf(k.hash, CREDENTIAL_SHARDS) + 1) % CREDENTIAL_SHARDS;
    const name = shardName(GATEWAY, wrong);
    const fixed = parts.map((p) => {
      if (p.name === name) {
        const entries = { [k.hash]: cred('ns/flights') };
        return { name, part: { ...(p.part as CredentialsPart), entries, checksum: checksumOf(entries) } };
      }
      return p;
    });
    const manifest = fixed.find((p) => p.name === manifestName(GATEWAY))!.part as Manifest;
    manifest.parts = manifest.parts.map((e) => (e.name === name ? { ...e, checksum: checksumOf({ [k.hash]: cred('ns/flights') }) } : e));
    feed(a, fixed);
    const r = a.assemble();
    assert.equal(r.status, 'pending');
    assert.match((r as { reason: string }).reason, new RegExp(`belongs to shard ${shardOf(k.hash, CREDENTIAL_SHARDS)}, not ${wrong}`));
  });

  test('one changed shard: one shard parsed and rebuilt, the other maps and the routes reused (10,000 keys)', () => {
    const a = assembler();
    const creds = keys(10_000);
    const g1 = renderParts(input(1, creds));
    feed(a, g1);
    a.assemble();
    const c1 = a.current!;
    const before = { ...a.stats };
    // Revoke one key: one shard and the manifest change.
    const victim = Object.keys(creds)[0]!;
    const { [victim]: _gone, ...rest } = creds;
    const g2 = renderParts(input(2, rest), g1);
    const changed = g2.filter((p, i) => p.part !== g1[i]!.part).map((p) => p.name);
    assert.deepEqual(changed.sort(), [manifestName(GATEWAY), shardName(GATEWAY, shardOf(victim, CREDENTIAL_SHARDS))].sort());
    feed(a, g2); // every text is offered again, as a relist would
    const r = a.assemble();
    assert.equal(r.status, 'loaded');
    assert.equal((r as { rebuiltShards: number }).rebuiltShards, 1);
    assert.equal((r as { routesRebuilt: boolean }).routesRebuilt, false);
    assert.equal(a.stats.shardBuilds - before.shardBuilds, 1, 'one shard map built');
    assert.equal(a.stats.parses - before.parses, 2, 'two texts parsed: the shard and the manifest');
    assert.equal(a.stats.routeBuilds, before.routeBuilds);
    const c2 = a.current!;
    assert.notEqual(c2, c1);
    const vs = shardOf(victim, CREDENTIAL_SHARDS);
    for (let s = 0; s < CREDENTIAL_SHARDS; s++) {
      if (s === vs) assert.notEqual(c2.credentials.maps[s], c1.credentials.maps[s]);
      else assert.equal(c2.credentials.maps[s], c1.credentials.maps[s], `shard ${s} map reused`);
    }
    assert.equal(c2.routes, c1.routes, 'compiled routes reused');
    assert.equal(c2.credentials.lookup(victim), undefined);
    assert.equal(c2.credentials.size, 9_999);
    assert.ok(c1.credentials.lookup(victim), 'the old config object is untouched (in-flight requests)');
  });

  test('the same texts again change nothing', () => {
    const a = assembler();
    const parts = renderParts(input(1, keys(3)));
    feed(a, parts);
    a.assemble();
    const c = a.current;
    feed(a, parts);
    assert.equal(a.assemble().status, 'unchanged');
    assert.equal(a.current, c);
  });

  test('accepts a whole ConfigMap as the file content (kubectl get -o json)', () => {
    const a = assembler();
    for (const p of renderParts(input(1, keys(2)))) {
      a.set(p.name, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: p.name }, data: { 'config.json': JSON.stringify(p.part) } }));
    }
    assert.equal(a.assemble().status, 'loaded');
    assert.equal(a.current!.credentials.size, 2);
  });

  test('unreadable notBefore/notAfter refuse that key only (fail closed)', () => {
    const a = assembler();
    const k1 = newKey();
    const k2 = newKey();
    feed(a, renderParts(input(1, { [k1.hash]: cred('ns/flights', { notAfter: 'soon' }), [k2.hash]: cred('ns/flights', { notBefore: 'later' }) })));
    a.assemble();
    assert.equal(a.current!.credentials.lookup(k1.hash)!.notAfter, Number.NEGATIVE_INFINITY);
    assert.equal(a.current!.credentials.lookup(k2.hash)!.notBefore, Number.POSITIVE_INFINITY);
  });
});
