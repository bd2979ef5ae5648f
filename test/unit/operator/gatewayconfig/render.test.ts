import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CredentialShards, KEYS_PER_SHARD, credentialShardsFor } from '../../../../operator/controllers/gatewayconfig/credential-shards.ts';
import { render } from '../../../../operator/controllers/gatewayconfig/render.ts';
import { renderRoutes } from '../../../../operator/controllers/gatewayconfig/routes.ts';
import { writeRendered } from '../../../../operator/controllers/gatewayconfig/write.ts';
import type { RenderedPart } from '../../../../operator/controllers/gatewayconfig/render.ts';
import { CREDENTIAL_SHARDS, MAX_PART_BYTES, ROUTE_SHARDS, manifestName, routesName, shardName, type Credential, type Manifest } from '../../../../api/gateway/config.ts';
import { checksumOf, routeShardOf, shardOf } from '../../../../api/gateway/checksum.ts';
import { ConfigAssembler } from '../../../../gateway/config-source/assembler.ts';
import { MemoryCounterStore } from '../../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../../gateway/policies/index.ts';
import { JwksCache } from '../../../../gateway/policies/jwt-validation.ts';
import { silent } from '../../gateway/fixtures.ts';
import type { ApiInstance, Policy, SlaTier } from '../../../../api/v1alpha1/index.ts';

const instance = { metadata: { name: 'flights', namespace: 'prod' }, spec: { assetRef: { name: 'a' }, basePath: '/flights/v1', upstream: { url: 'http://up:8080' } } } as ApiInstance;
const policy = (name: string, order: number) => ({ metadata: { name, namespace: 'prod' }, spec: { type: 'cors', order, targetRef: { name: 'flights' }, config: { allowOrigins: ['*'] } } }) as unknown as Policy;
const tier = { metadata: { name: 'gold', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 1000, period: 'minute' }], approval: 'automatic' } } as SlaTier;

function credentials(n: number): Array<[string, Credential]> {
  return Array.from({ length: n }, (_, i) => [
    randomBytes(32).toString('hex'),
    { kind: 'api-key', client: `mule-united-prod/client-${i}`, notAfter: '2027-01-01T00:00:00Z', grants: [{ routes: ['max-airlines-prod/flights'], contract: `max-airlines-prod/mule-united-prod.key.client-${i}`, tier: 'gold' }] },
  ]);
}

test('routes carry ordered policies and tiers in seconds; checksums match content', () => {
  const out = render('default', [{ instance, policies: [policy('a', 1), policy('b', 2)], tiers: [tier] }], [], undefined);
  const routes = out.parts.find((p) => p.name === routesName('default', routeShardOf('prod/flights', ROUTE_SHARDS)))!.body;
  assert.equal(routes.kind, 'Routes');
  if (routes.kind !== 'Routes') return;
  assert.deepEqual(routes.routes[0]!.tiers, [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }]);
  assert.deepEqual(routes.routes[0]!.upstream, { url: 'http://up:8080', timeoutMs: 30000 });
  assert.equal(routes.checksum, checksumOf(routes.routes));
  assert.equal(out.manifest.generation, 1);
  assert.equal(out.parts.length, ROUTE_SHARDS + CREDENTIAL_SHARDS);
});

const instanceNamed = (name: string, basePath = `/${name}`) => ({ ...instance, metadata: { name, namespace: 'prod' }, spec: { ...instance.spec, basePath } }) as ApiInstance;

test('routes are written in ROUTE_SHARDS shards by a hash of their id; one route change rewrites one route shard', () => {
  const inputs = Array.from({ length: 40 }, (_, i) => ({ instance: instanceNamed(`api-${i}`), policies: [], tiers: [tier] }));
  const first = render('default', inputs, [], undefined);
  const routeParts = first.parts.filter((p) => p.kind === 'Routes');
  assert.equal(routeParts.length, ROUTE_SHARDS);
  let total = 0;
  for (const p of routeParts) {
    if (p.body.kind !== 'Routes') continue;
    assert.equal(p.name, routesName('default', p.body.shard));
    assert.equal(p.body.shards, ROUTE_SHARDS);
    for (const r of p.body.routes) assert.equal(routeShardOf(r.id, ROUTE_SHARDS), p.body.shard);
    total += p.body.routes.length;
  }
  assert.equal(total, 40);
  assert.deepEqual(first.manifest.parts.filter((p) => p.kind === 'Routes').map((p) => p.name), routeParts.map((p) => p.name), 'the manifest lists every route shard');
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { stamp: p.stamp, generation: p.body.generation }])) };
  const moved = inputs.map((r, i) => (i === 7 ? { ...r, instance: instanceNamed('api-7', '/moved') } : r));
  const second = render('default', moved, [], previous);
  assert.deepEqual(second.changed.map((p) => p.name), [routesName('default', routeShardOf('prod/api-7', ROUTE_SHARDS))]);
});

test('a route over its size budget is emitted withheld (RouteTooLarge) and says why; the others of its shard are untouched', () => {
  const huge = { metadata: { name: 'huge', namespace: 'prod' }, spec: { type: 'header-injection', order: 1, targetRef: { name: 'big' }, config: { request: { set: { 'x-pad': 'a'.repeat(4000) } } } } } as unknown as Policy;
  const out = renderRoutes([{ instance: instanceNamed('big'), policies: [huge], tiers: [] }, { instance: instanceNamed('small'), policies: [], tiers: [] }], { route: 2000 });
  const all = out.shards.flatMap((s) => s.routes);
  const big = all.find((r) => r.id === 'prod/big')!;
  assert.equal(big.withheld?.reason, 'RouteTooLarge');
  assert.match(big.withheld!.message, /^the gateway answers 503 on this route: its configuration is \d+ bytes, over the 2000-byte budget of one route; the largest part is the config of Policy "huge" \(\d+ bytes\): make it smaller or split it$/);
  assert.deepEqual(big.policies, [], 'nothing of the oversized route is written');
  assert.equal(big.upstream.url, '');
  assert.equal(all.find((r) => r.id === 'prod/small')!.withheld, undefined);
  assert.deepEqual(out.trimmed, ['prod/big']);
});

test('a route shard over the part budget has its largest routes withheld until it fits', () => {
  // Routes of one shard only, each with a ~3 KB policy config; a 10 KB part budget holds about three of them.
  const ids: string[] = [];
  for (let i = 0; ids.length < 6; i++) if (routeShardOf(`prod/r-${i}`, ROUTE_SHARDS) === 0) ids.push(`r-${i}`);
  const padded = (name: string, n: number) => ({ metadata: { name: `p-${name}`, namespace: 'prod' }, spec: { type: 'header-injection', order: 1, targetRef: { name }, config: { request: { set: { 'x-pad': 'a'.repeat(n) } } } } }) as unknown as Policy;
  const inputs = ids.map((name, i) => ({ instance: instanceNamed(name), policies: [padded(name, 2500 + i * 10)], tiers: [] }));
  const out = renderRoutes(inputs, { part: 10_000 });
  const shard = out.shards[0]!;
  const bytes = Buffer.byteLength(JSON.stringify({ apiVersion: 'gateway.crossgate.dev/v1', kind: 'Routes', gateway: 'default', generation: 1, checksum: shard.checksum, shard: 0, shards: ROUTE_SHARDS, routes: shard.routes }));
  assert.ok(bytes <= 10_000, `shard is ${bytes} bytes`);
  const held = shard.routes.filter((r) => r.withheld).map((r) => r.id);
  assert.ok(held.length >= 2 && held.length < 6, `withheld ${held.join(', ')}`);
  // The largest go first: every withheld route's config was at least as large as every served one's.
  const sizeOf = (id: string) => inputs.findIndex((x) => `prod/${x.instance.metadata.name}` === id);
  const minHeld = Math.min(...held.map(sizeOf));
  for (const r of shard.routes.filter((x) => !x.withheld)) assert.ok(sizeOf(r.id) < minHeld);
  assert.match(shard.routes.find((r) => r.withheld)!.withheld!.message, /^the gateway answers 503 on this route: its route shard is over the 10000-byte budget of one config part, and Organization "prod", which takes the most of it \(\d+ bytes\), gives up its largest routes first/);
  assert.deepEqual([...out.trimmed].sort(), [...held].sort());
});

test('100,000 keys: every part stays far below 1 MiB, and every hash lands in its shard', () => {
  const creds = credentials(100_000);
  const out = render('default', [{ instance, policies: [], tiers: [tier] }], creds, undefined);
  let total = 0;
  let max = 0;
  for (const p of out.parts) {
    const bytes = Buffer.byteLength(JSON.stringify(p.body));
    max = Math.max(max, bytes);
    if (p.body.kind === 'Credentials') total += Object.keys(p.body.entries).length;
  }
  assert.equal(total, 100_000);
  assert.ok(max < 900 * 1024, `largest part ${max} bytes`);
});

/** Client-secret credentials of Applications, each with two contracts, each scoped to two endpoints (issue 16). */
function clientSecrets(n: number): Array<[string, Credential]> {
  const endpoints = (base: string) => [
    { methods: ['GET'], path: `${base}/flights/*` },
    { methods: ['GET', 'POST'], path: `${base}/bookings/**` },
  ];
  return Array.from({ length: n }, (_, i) => [
    randomBytes(32).toString('hex'),
    {
      kind: 'client-secret',
      client: `mule-united-prod/booking-app-${i}`,
      clientId: `cgc_${randomBytes(16).toString('base64url')}`,
      notAfter: '2027-01-01T00:00:00Z',
      grants: [
        { routes: ['max-airlines-prod/flights'], contract: `max-airlines-prod/mule-united-prod.app.booking-app-${i}.${randomBytes(4).toString('hex')}`, tier: 'gold', endpoints: endpoints('/flights/v1') },
        { routes: ['max-airlines-prod/hotels', 'max-airlines-prod/hotels-eu'], contract: `max-airlines-prod/mule-united-prod.app.booking-app-${i}.${randomBytes(4).toString('hex')}`, tier: 'silver', endpoints: endpoints('/hotels/v1') },
      ],
    },
  ]);
}

test('100,000 client secrets with 2 scoped grants each: 256 shards, every part below the part budget', () => {
  const creds = clientSecrets(100_000);
  // The shard count the writer picks for that many entries (credentialShardsFor): the most, 256.
  const out = render('default', [{ instance, policies: [], tiers: [tier] }], CredentialShards.from(creds, credentialShardsFor(creds.length, CREDENTIAL_SHARDS)), undefined);
  const shards = out.parts.filter((p) => p.body.kind === 'Credentials');
  assert.equal(shards.length, 256);
  let total = 0;
  let max = 0;
  for (const p of shards) {
    max = Math.max(max, Buffer.byteLength(JSON.stringify(p.body)));
    if (p.body.kind === 'Credentials') total += Object.keys(p.body.entries).length;
  }
  assert.equal(total, 100_000);
  // About 770 bytes per credential, ~390 (at most ~450) per shard: ~335 KiB for the largest, under MAX_PART_BYTES (900 KiB);
  // at 64 shards the largest would be ~1.2 MiB, which is why the count grows with the entries.
  assert.ok(max < MAX_PART_BYTES, `largest part ${max} bytes`);
});

test('one key change rewrites one shard and bumps the manifest generation; no change writes nothing', () => {
  const creds = credentials(1000);
  const first = render('default', [{ instance, policies: [], tiers: [tier] }], creds, undefined);
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { stamp: p.stamp, generation: p.body.generation }])) };
  const same = render('default', [{ instance, policies: [], tiers: [tier] }], creds, previous);
  assert.equal(same.changed.length, 0);
  assert.equal(same.manifest.generation, first.manifest.generation);
  const more = render('default', [{ instance, policies: [], tiers: [tier] }], [...creds, ...credentials(1)], previous);
  assert.equal(more.changed.length, 1);
  assert.equal(more.changed[0]!.kind, 'Credentials');
  assert.equal(more.manifest.generation, first.manifest.generation + 1);
  const untouched = more.parts.find((p) => p.kind === 'Routes')!;
  assert.equal(untouched.body.generation, first.manifest.generation, 'an unchanged part keeps the generation it was written at');
});

test('the shard count doubles as keys grow, up to 256, and halves only well below the threshold', () => {
  const cases: Array<[entries: number, current: number, expected: number]> = [
    [0, 64, 64],
    [64 * KEYS_PER_SHARD, 64, 64],
    [64 * KEYS_PER_SHARD + 1, 64, 128],
    [128 * KEYS_PER_SHARD + 1, 64, 256],
    [10_000_000, 64, 256],
    [128 * KEYS_PER_SHARD, 128, 128],
    [32 * KEYS_PER_SHARD, 128, 128], // half of the halved count: not yet
    [32 * KEYS_PER_SHARD - 1, 128, 64],
    [64 * KEYS_PER_SHARD - 1, 256, 128],
    [0, 256, 64],
    [50_000, 1000, 256], // an out-of-range count is brought into range first
  ];
  for (const [entries, current, expected] of cases) assert.equal(credentialShardsFor(entries, current), expected, `${entries} entries at ${current} shards`);
  // No flapping: a count chosen for n keys is kept for n keys.
  for (const n of [0, 10_000, 16_385, 20_000, 32_769, 50_000, 100_000]) {
    const s = credentialShardsFor(n, CREDENTIAL_SHARDS);
    assert.equal(credentialShardsFor(n, s), s, `${n} keys`);
  }
});

test('resharding keeps every entry, puts each in the shard its hash names, and rewrites every shard, empty ones included', () => {
  // Shard 5 is empty at 64 shards and at 128, so its checksum is the same at both counts.
  const creds = credentials(600).filter(([hash]) => shardOf(hash, 64) !== 5);
  const index = CredentialShards.from(creds);
  const routes = [{ instance, policies: [], tiers: [tier] }];
  const first = render('default', routes, index, undefined);
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { stamp: p.stamp, generation: p.body.generation }])) };

  index.reshard(128);
  assert.equal(index.shardCount, 128);
  assert.equal(index.size, creds.length);
  const out = render('default', routes, index, previous);
  const shards = out.parts.filter((p) => p.kind === 'Credentials');
  assert.equal(shards.length, 128);
  assert.equal(out.changed.length, 128, 'every shard says the new count, so every shard is written');
  const empty = shards.find((p) => p.body.kind === 'Credentials' && p.body.shard === 5)!;
  assert.equal(empty.checksum, first.parts.find((p) => p.name === empty.name)!.checksum, 'same checksum as at 64 shards');
  assert.ok(out.changed.includes(empty), 'and still rewritten, to say 128');
  let total = 0;
  for (const p of shards) {
    assert.equal(p.body.kind, 'Credentials');
    if (p.body.kind !== 'Credentials') continue;
    assert.equal(p.body.shards, 128);
    assert.equal(p.checksum, checksumOf(p.body.entries));
    for (const hash of Object.keys(p.body.entries)) assert.equal(shardOf(hash, 128), p.body.shard);
    total += Object.keys(p.body.entries).length;
  }
  assert.equal(total, creds.length);
  assert.equal(out.manifest.generation, first.manifest.generation + 1);
  assert.deepEqual(out.manifest.parts.map((p) => p.name), out.parts.map((p) => p.name));

  // Changes after the reshard land in the new shards.
  const [hash] = creds[0]!;
  index.delete(hash);
  assert.equal(index.size, creds.length - 1);
  assert.ok(!(hash in index.shard(shardOf(hash, 128)).entries));
});

test('a config resharded from 64 to 256 shards loads in the gateway, every key findable', () => {
  const creds = credentials(500);
  const index = CredentialShards.from(creds);
  const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: silent() };
  const a = new ConfigAssembler({ gateway: 'default', compileRoutes: (p) => compileRoutes(p, deps) });
  const feed = (parts: readonly { name: string; body: unknown }[]) => parts.forEach((p) => a.set(p.name, JSON.stringify(p.body)));
  const routes = [{ instance, policies: [], tiers: [tier] }];
  const first = render('default', routes, index, undefined);
  feed([...first.parts, { name: manifestName('default'), body: first.manifest }]);
  assert.equal(a.assemble().status, 'loaded');
  assert.equal(a.current!.credentials.shards, 64);

  index.reshard(256);
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { stamp: p.stamp, generation: p.body.generation }])) };
  const out = render('default', routes, index, previous);
  feed([...out.changed, { name: manifestName('default'), body: out.manifest }]);
  assert.equal(a.assemble().status, 'loaded');
  const c = a.current!;
  assert.equal(c.credentials.shards, 256);
  assert.equal(c.credentials.size, 500);
  for (const [hash, cred] of creds) assert.equal(c.credentials.lookup(hash)?.client, cred.client);
});

test('a shard count out of range is refused', () => {
  assert.throws(() => new CredentialShards(0), /shard count must be an integer from 1 to 256, got 0/);
  assert.throws(() => new CredentialShards(257), /from 1 to 256, got 257/);
});

test('attack 6, writer: a part that cannot be written stops neither the other parts nor the manifest; the manifest keeps what the failed part still holds', async () => {
  const creds = credentials(300);
  const routes = [{ instance, policies: [], tiers: [tier] }, { instance: instanceNamed('hotels'), policies: [], tiers: [] }];
  const first = render('default', routes, creds, undefined);
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { stamp: p.stamp, generation: p.body.generation }])) };
  // Generation 2: hotels moves (its route shard cannot be written) and one key is revoked (its shard can).
  const [revoked] = creds[0]!;
  const next = render('default', [routes[0]!, { instance: instanceNamed('hotels', '/hotels2'), policies: [], tiers: [] }], creds.slice(1), previous);
  const hotelsShard = routesName('default', routeShardOf('prod/hotels', ROUTE_SHARDS));
  const keyShard = shardName('default', shardOf(revoked, CREDENTIAL_SHARDS));
  assert.deepEqual(next.changed.map((p) => p.name).sort(), [hotelsShard, keyShard].sort());
  const written: string[] = [];
  let manifest: Manifest | undefined;
  const result = await writeRendered(
    next,
    previous,
    async (part: RenderedPart) => {
      if (part.name === hotelsShard) throw new Error('ConfigMap "crossgate-gw-default-routes-xx" is invalid: too long');
      written.push(part.name);
    },
    async (m) => {
      manifest = m;
    },
  );
  assert.deepEqual(written, [keyShard], 'the revocation is written');
  assert.ok(manifest, 'and the manifest');
  assert.equal(manifest!.generation, first.manifest.generation + 1);
  assert.equal(manifest!.parts.find((p) => p.name === keyShard)!.checksum, next.parts.find((p) => p.name === keyShard)!.checksum);
  assert.equal(manifest!.parts.find((p) => p.name === hotelsShard)!.checksum, first.parts.find((p) => p.name === hotelsShard)!.checksum, 'the failed part is listed as it still is');
  assert.deepEqual([...result.failed.keys()], [hotelsShard]);
  assert.match(result.failed.get(hotelsShard)!, /too long/);
  // What the writer records makes the failed part "changed" again at the next render: it is retried.
  const retry = render('default', [routes[0]!, { instance: instanceNamed('hotels', '/hotels2'), policies: [], tiers: [] }], creds.slice(1), {
    generation: result.manifest.generation,
    parts: new Map(result.listed.map((p) => [p.name, { stamp: p.stamp, generation: p.generation }])),
  });
  assert.deepEqual(retry.changed.map((p) => p.name), [hotelsShard]);

  // A part that never existed and cannot be written is left out of the manifest.
  const fresh = render('default', routes, creds, undefined);
  const out = await writeRendered(fresh, undefined, async (part) => { if (part.name === keyShard) throw new Error('refused'); }, async () => {});
  assert.equal(out.manifest.parts.some((p) => p.name === keyShard), false);
  assert.equal(out.manifest.parts.length, fresh.parts.length - 1);
});

test('a hash another key already holds stays that key\'s: a copy never takes over its route, contract and tier', () => {
  const shards = new CredentialShards();
  const hash = randomBytes(32).toString('hex');
  const victim: Credential = { kind: 'api-key', client: 'victim-prod/ops', grants: [{ routes: ['victim-prod/rail'], contract: 'victim-prod/c', tier: 'gold' }] };
  const copy: Credential = { kind: 'api-key', client: 'rogue-prod/copy', grants: [{ routes: ['rogue-prod/api'], contract: 'rogue-prod/c', tier: 'gold' }] };
  shards.set('victim-prod/ops', [[hash, victim]]);
  shards.set('rogue-prod/copy', [[hash, copy]]);
  assert.deepEqual(shards.shard(shardOf(hash, CREDENTIAL_SHARDS)).entries[hash], victim);
  shards.delete('rogue-prod/copy');
  assert.deepEqual(shards.shard(shardOf(hash, CREDENTIAL_SHARDS)).entries[hash], victim, 'the copy going away takes nothing with it');
});
