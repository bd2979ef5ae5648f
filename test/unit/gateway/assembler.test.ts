// Config assembly: every usable part of a generation loads; a part that is
// invalid or missing is kept back (its previous content, or none, stays) and
// never holds back the others; parts not arrived yet are waited for a short
// grace period; work is proportional to what changed (one shard in, one shard
// rebuilt).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checksumOf, routeShardOf, shardOf } from '../../../api/gateway/checksum.ts';
import { CREDENTIAL_SHARDS, ROUTE_SHARDS, manifestName, routesName, shardName, type CredentialsPart, type Manifest, type RoutesPart } from '../../../api/gateway/config.ts';
import { ConfigAssembler } from '../../../gateway/config-source/assembler.ts';
import { renderParts, type ConfigInput, type RenderedPart } from '../../../gateway/config-source/write.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { GATEWAY, cred, gold, newKey, policy, route, silent } from './fixtures.ts';

/** An assembler on a clock the test moves (clock.t). */
function assembler(clock: { t: number } = { t: 0 }): ConfigAssembler {
  const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent() };
  return new ConfigAssembler({ gateway: GATEWAY, compileRoutes: (p) => compileRoutes(p, deps), now: () => clock.t, partGraceMs: 2000 });
}

const routeShardName = (id: string) => routesName(GATEWAY, routeShardOf(id, ROUTE_SHARDS));
type Loaded = Extract<ReturnType<ConfigAssembler['assemble']>, { status: 'loaded' }>;

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

  test('without the manifest nothing loads; a missing listed part is waited for, then the generation loads without it', () => {
    const clock = { t: 0 };
    const a = assembler(clock);
    const k = newKey();
    const creds = { ...keys(30), [k.hash]: cred('ns/flights') };
    const parts = renderParts(input(1, creds));
    feed(a, parts, [manifestName(GATEWAY)]);
    const r1 = a.assemble();
    assert.equal(r1.status, 'pending');
    assert.match((r1 as { reason: string }).reason, /manifest crossgate-gw-test-gw not found/);
    const missing = shardName(GATEWAY, shardOf(k.hash, CREDENTIAL_SHARDS));
    a.delete(missing);
    feed(a, parts.filter((p) => p.name === manifestName(GATEWAY)));
    const r2 = a.assemble();
    assert.equal(r2.status, 'pending');
    assert.equal((r2 as { reason: string }).reason, `part ${missing} listed by manifest generation 1 not found`);
    assert.equal((r2 as { invalid: boolean }).invalid, false);
    assert.equal((r2 as { retryMs: number }).retryMs, 2000);
    assert.equal(a.current, undefined);
    clock.t = 2000;
    const r3 = a.assemble() as Loaded;
    assert.equal(r3.status, 'loaded', 'after the grace period the generation loads without the missing part');
    assert.deepEqual(r3.keptBack.map((x) => [x.name, x.invalid]), [[missing, false]]);
    assert.equal(a.current!.credentials.lookup(k.hash), undefined, 'the missing shard has no entries (nothing was in force before)');
    assert.equal(a.current!.credentials.size, 31 - Object.keys(creds).filter((h) => shardOf(h, CREDENTIAL_SHARDS) === shardOf(k.hash, CREDENTIAL_SHARDS)).length);
    assert.equal(a.stats.keptBack, 1);
    // The part arrives: loaded in full, at once.
    feed(a, parts.filter((p) => p.name === missing));
    const r4 = a.assemble() as Loaded;
    assert.equal(r4.status, 'loaded');
    assert.deepEqual(r4.keptBack, []);
    assert.ok(a.current!.credentials.lookup(k.hash));
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
    // The shard arrives within the grace period: now generation 2 is complete.
    feed(a, g2.filter((p) => p.name === shard));
    assert.equal(a.assemble().status, 'loaded');
    assert.equal(a.current!.generation, 2);
    assert.equal(a.current!.credentials.lookup(k.hash), undefined);
  });

  test('a credentials part whose content does not hash to its checksum is kept back (invalid): its last good entries stay, the other parts load at once', () => {
    const a = assembler();
    const g1 = renderParts(input(1, keys(5)));
    feed(a, g1);
    a.assemble();
    const g2 = renderParts(input(2, keys(5)), g1);
    let tamperedName = '';
    const tampered = g2.map((p) => {
      if (tamperedName || p.part.kind !== 'Credentials' || Object.keys(p.part.entries).length === 0) return p;
      tamperedName = p.name;
      const part = structuredClone(p.part) as CredentialsPart;
      const first = Object.keys(part.entries)[0]!;
      part.entries[first]!.grants[0]!.tier = 'platinum'; // content changed, checksum not
      return { name: p.name, part };
    });
    feed(a, tampered);
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.equal(a.current!.generation, 2);
    assert.equal(r.keptBack.length, 1);
    assert.equal(r.keptBack[0]!.name, tamperedName);
    assert.equal(r.keptBack[0]!.invalid, true);
    assert.match(r.keptBack[0]!.reason, /content hashes to sha256:.*the part says/);
    const shard = (g1.find((p) => p.name === tamperedName)!.part as CredentialsPart).shard;
    assert.equal(a.current!.credentials.maps[shard], r.previous!.credentials.maps[shard], 'the shard keeps its generation-1 entries');
    assert.equal(a.current!.parts.get(tamperedName), r.previous!.parts.get(tamperedName), 'the config records the checksum it really holds for that part');
  });

  test('attack 6: an invalid route shard keeps its last good routes while another shard\'s routes and a revocation load', () => {
    const a = assembler();
    const victimKey = newKey();
    const otherKey = newKey();
    const routes = [route('ns/flights', { policies: [policy('api-key', {}, 'ns/key')], tiers: [gold] }), route('ns/hotels', { basePath: '/hotels' })];
    assert.notEqual(routeShardOf('ns/flights', ROUTE_SHARDS), routeShardOf('ns/hotels', ROUTE_SHARDS), 'the two routes sit in different shards');
    const g1 = renderParts({ gateway: GATEWAY, generation: 1, routes, credentials: { [victimKey.hash]: cred('ns/flights'), [otherKey.hash]: cred('ns/flights') } });
    feed(a, g1);
    assert.equal(a.assemble().status, 'loaded');
    // Generation 2: hotels changes (its shard is corrupt on arrival), flights gets a new basePath, one key is revoked.
    const routes2 = [route('ns/flights', { basePath: '/flights2', policies: [policy('api-key', {}, 'ns/key')], tiers: [gold] }), route('ns/hotels', { basePath: '/hotels2' })];
    const g2 = renderParts({ gateway: GATEWAY, generation: 2, routes: routes2, credentials: { [otherKey.hash]: cred('ns/flights') } }, g1);
    const hotels = routeShardName('ns/hotels');
    feed(a, g2.map((p) => (p.name === hotels ? { name: p.name, part: { ...(p.part as RoutesPart), routes: [{ ...(p.part as RoutesPart).routes[0]!, basePath: 42 }] } as unknown as RoutesPart } : p)));
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.keptBack.map((k) => [k.name, k.kind, k.invalid]), [[hotels, 'Routes', true]]);
    assert.match(r.keptBack[0]!.reason, /invalid Routes part: \/routes\/0\/basePath/);
    assert.equal(a.current!.routes.byId.get('ns/hotels')!.basePath, '/hotels', 'the corrupt shard keeps its last good routes');
    assert.equal(a.current!.routes.byId.get('ns/flights')!.basePath, '/flights2', 'the other shard loads');
    assert.equal(a.current!.routes.router.match(undefined, '/flights2/x')?.id, 'ns/flights');
    assert.equal(a.current!.credentials.lookup(victimKey.hash), undefined, 'the revocation reached the gateway');
    assert.ok(a.current!.credentials.lookup(otherKey.hash));
  });

  test('a route shard missing from the first load: its routes are absent, the rest serves', () => {
    const clock = { t: 0 };
    const a = assembler(clock);
    const routes = [route('ns/flights'), route('ns/hotels', { basePath: '/hotels' })];
    const parts = renderParts({ gateway: GATEWAY, generation: 1, routes, credentials: {} });
    feed(a, parts, [routeShardName('ns/hotels')]);
    assert.equal(a.assemble().status, 'pending');
    clock.t = 5000;
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.keptBack.map((k) => k.name), [routeShardName('ns/hotels')]);
    assert.deepEqual(a.current!.routes.routes.map((x) => x.id), ['ns/flights']);
  });

  test('a route in the wrong route shard is refused (that part kept back)', () => {
    const a = assembler();
    const parts = renderParts({ gateway: GATEWAY, generation: 1, routes: [route('ns/flights')], credentials: {} });
    const right = routeShardOf('ns/flights', ROUTE_SHARDS);
    const wrongName = routesName(GATEWAY, (right + 1) % ROUTE_SHARDS);
    const moved = parts.map((p) => {
      if (p.name !== wrongName) return p;
      const routesList = [route('ns/flights')];
      return { name: p.name, part: { ...(p.part as RoutesPart), routes: routesList, checksum: checksumOf(routesList) } };
    });
    const m = moved.find((p) => p.name === manifestName(GATEWAY))!.part as Manifest;
    m.parts = m.parts.map((e) => (e.name === wrongName ? { ...e, checksum: checksumOf([route('ns/flights')]) } : e));
    feed(a, moved);
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.equal(r.keptBack[0]!.reason, `part ${wrongName}: route ns/flights belongs to route shard ${right}, not ${(right + 1) % ROUTE_SHARDS}`);
    assert.equal(a.current!.routes.routes.length, 1, 'the route loads once, from its own shard');
  });

  test('a manifest listing one part twice is refused whole; the last good config stays', () => {
    const a = assembler();
    const parts = renderParts(input(1, keys(10)));
    feed(a, parts);
    assert.equal(a.assemble().status, 'loaded');
    const m = structuredClone(parts.find((p) => p.name === manifestName(GATEWAY))!.part) as Manifest;
    const twice = m.parts[0]!;
    m.generation = 2;
    m.parts = [...m.parts, twice];
    a.set(manifestName(GATEWAY), JSON.stringify(m));
    assert.deepEqual(a.assemble(), { status: 'pending', reason: `manifest generation 2 lists part ${twice.name} twice`, invalid: true });
    assert.equal(a.current!.generation, 1);
  });

  test('two credentials parts for one shard: the second is kept back, "listed twice"', () => {
    const a = assembler();
    const creds = keys(100);
    const parts = renderParts(input(1, creds));
    const three = parts.find((p) => p.name === shardName(GATEWAY, 3))!;
    const copy = `${GATEWAY}-keys-copy`;
    const m = parts.find((p) => p.name === manifestName(GATEWAY))!.part as Manifest;
    m.parts = [...m.parts, { name: copy, kind: 'Credentials', checksum: (three.part as CredentialsPart).checksum }];
    feed(a, parts);
    a.set(copy, JSON.stringify(three.part));
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.keptBack, [{ name: copy, kind: 'Credentials', reason: `part ${copy}: shard 3 listed twice`, invalid: true }]);
    for (const [hash, v] of Object.entries(creds)) assert.equal(a.current!.credentials.lookup(hash)?.client, v.client, 'shard 3 loads once, from its own part');
  });

  test('a route or credentials shard number out of range is refused (that part kept back)', () => {
    const a = assembler();
    const parts = renderParts(input(1, keys(20)));
    const rName = routeShardName('ns/flights');
    const cName = shardName(GATEWAY, 0);
    const out = parts.map((p) => {
      if (p.name === rName) return { name: p.name, part: { ...(p.part as RoutesPart), shard: ROUTE_SHARDS, shards: ROUTE_SHARDS } };
      if (p.name === cName) return { name: p.name, part: { ...(p.part as CredentialsPart), shard: CREDENTIAL_SHARDS, shards: CREDENTIAL_SHARDS } };
      return p;
    });
    feed(a, out);
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.deepEqual(
      r.keptBack.map((k) => [k.name, k.reason, k.invalid]).sort(),
      [
        [cName, `part ${cName}: shard ${CREDENTIAL_SHARDS} out of range (shards ${CREDENTIAL_SHARDS})`, true],
        [rName, `part ${rName}: route shard ${ROUTE_SHARDS} out of range (shards ${ROUTE_SHARDS})`, true],
      ].sort(),
    );
  });

  test('a manifest that leaves out a shard the writer could not write: the shard count comes from the shards, the rest loads', () => {
    const a = assembler();
    const creds = keys(100);
    const parts = renderParts(input(1, creds));
    const left = shardName(GATEWAY, 3);
    const m = parts.find((p) => p.name === manifestName(GATEWAY))!.part as Manifest;
    m.parts = m.parts.filter((e) => e.name !== left);
    feed(a, parts, [left]);
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded');
    assert.deepEqual(r.keptBack, []);
    assert.equal(a.current!.credentials.shards, CREDENTIAL_SHARDS);
    for (const [hash, v] of Object.entries(creds)) assert.equal(a.current!.credentials.lookup(hash)?.client, shardOf(hash, CREDENTIAL_SHARDS) === 3 ? undefined : v.client);
  });

  test('a part newer than the manifest waits for the manifest', () => {
    const a = assembler();
    const g1 = renderParts(input(1, {}));
    feed(a, g1);
    // A part claiming generation 5 with the checksum the generation-1 manifest lists.
    const rName = routeShardName('ns/flights');
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

  test('a key hash in the wrong shard is refused (that shard kept back)', () => {
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
    const r = a.assemble() as Loaded;
    assert.equal(r.status, 'loaded', 'the other parts load');
    assert.match(r.keptBack[0]!.reason, new RegExp(`belongs to shard ${shardOf(k.hash, CREDENTIAL_SHARDS)}, not ${wrong}`));
    assert.equal(a.current!.credentials.lookup(k.hash), undefined);
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
