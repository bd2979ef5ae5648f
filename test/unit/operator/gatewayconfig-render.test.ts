import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { render } from '../../../operator/controllers/gatewayconfig-render.ts';
import { CREDENTIAL_SHARDS, type Credential } from '../../../api/gateway/v1.ts';
import { checksumOf } from '../../../api/gateway/checksum.ts';
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
  const previous = { generation: first.manifest.generation, parts: new Map(first.parts.map((p) => [p.name, { checksum: p.checksum, generation: p.body.generation }])) };
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
