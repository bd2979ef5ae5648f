import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CredentialIndex, KEYS_PER_SHARD, credentialShardsFor, render } from '../../../operator/controllers/gatewayconfig-render.ts';
import { CREDENTIAL_SHARDS, manifestName, type Credential } from '../../../api/gateway/v1.ts';
import { checksumOf, shardOf } from '../../../api/gateway/checksum.ts';
import { ConfigAssembler } from '../../../gateway/config-source/assembler.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { silent } from '../gateway/fixtures.ts';
import type { ApiInstance, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';

const instance = { metadata: { name: 'flights', namespace: 'prod' }, spec: { assetRef: { name: 'a' }, basePath: '/flights/v1', upstream: { url: 'http://up:8080' } } } as ApiInstance;
const policy = (name: string, order: number) => ({ metadata: { name, namespace: 'prod' }, spec: { type: 'cors', order, targetRef: { name: 'flights' }, config: { allowOrigins: ['*'] } } }) as unknown as Policy;
const tier = { metadata: { name: 'gold', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 1000, period: 'minute' }], approval: 'automatic' } } as SlaTier;

function credentials(n: number): Array<[string, Credential]> {
  return Array.from({ length: n }, (_, i) => [
    randomBytes(32).toString('hex'),
    { route: 'max-airlines-prod/flights', contract: `max-airlines-prod/mule-united-prod.client-${i}`, client: `mule-united-prod/client-${i}`, tier: 'gold', notAfter: '2027-01-01T00:00:00Z' },
  ]);
}

test('routes carry ordered policies and tiers in seconds; checksums match content', () => {
  const out = render('default', [{ instance, policies: [policy('a', 1), policy('b', 2)], tiers: [tier] }], [], undefined);
  const routes = out.parts.find((p) => p.kind === 'Routes')!.body;
  assert.equal(routes.kind, 'Routes');
  if (routes.kind !== 'Routes') return;
  assert.deepEqual(routes.routes[0]!.tiers, [{ name: 'gold', limits: [{ requests: 1000, periodSeconds: 60 }] }]);
  assert.deepEqual(routes.routes[0]!.upstream, { url: 'http://up:8080', timeoutMs: 30000 });
  assert.equal(routes.checksum, checksumOf(routes.routes));
  assert.equal(out.manifest.generation, 1);
  assert.equal(out.parts.length, 1 + CREDENTIAL_SHARDS);
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
  const index = CredentialIndex.from(creds);
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
  const index = CredentialIndex.from(creds);
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
  assert.throws(() => new CredentialIndex(0), /shard count must be an integer from 1 to 256, got 0/);
  assert.throws(() => new CredentialIndex(257), /from 1 to 256, got 257/);
});
