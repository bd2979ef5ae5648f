// The route size check (model/route-size.ts): what the ApiInstance's Ready
// says and what the renderer emits come from the same estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ROUTE_BYTES, routeSize, routeWithinBudget } from '../../../model/route-size.ts';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { renderRoutes } from '../../../operator/controllers/gatewayconfig-render.ts';
import type { ApiInstance, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';

const instance = { metadata: { name: 'flights', namespace: 'prod' }, spec: { assetRef: { name: 'a' }, basePath: '/flights', upstream: { url: 'http://up:8080' } } } as ApiInstance;
// A valid cors config of about n bytes: origins of 100 characters each.
const padded = (name: string, n: number) =>
  ({ metadata: { name, namespace: 'prod' }, spec: { type: 'cors', order: 1, targetRef: { name: 'flights' }, config: { allowOrigins: Array.from({ length: Math.max(1, Math.ceil(n / 100)) }, (_, i) => `https://${String(i).padStart(80, 'a')}.example`) } } }) as unknown as Policy;
const tier = { metadata: { name: 'gold', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 10, period: 'minute' }] } } as SlaTier;

test('the estimate is never below the JSON the renderer writes for the route', () => {
  for (const n of [0, 100, 5000, 50_000]) {
    const policies = [padded('a', n), padded('b', n / 2)];
    const rendered = renderRoutes([{ instance, policies, tiers: [tier] }], { route: Number.MAX_SAFE_INTEGER }).shards.flatMap((s) => s.routes)[0]!;
    const actual = Buffer.byteLength(JSON.stringify(rendered));
    const estimate = routeSize(instance, policies, [tier]).total;
    assert.ok(estimate >= actual, `${n}: estimate ${estimate} < actual ${actual}`);
    assert.ok(estimate < actual + 600, `${n}: estimate ${estimate} far above actual ${actual}`);
  }
});

test('attack 6: a route over the budget is withheld with a message naming the largest policy', () => {
  const snapshot = snapshotFrom({});
  assert.equal(routeVerdict({ snapshot, instance, policies: [padded('small', 10)], tiers: [tier] }), undefined);
  const p = routeVerdict({ snapshot, instance, policies: [padded('small', 10), padded('huge', MAX_ROUTE_BYTES * 1.1)], tiers: [tier] });
  assert.equal(p?.action, 'withhold');
  assert.equal(p?.reason, 'RouteTooLarge');
  assert.match(
    p!.message,
    new RegExp(`^the gateway answers 503 on this route: its configuration is about \\d+ bytes, over the ${MAX_ROUTE_BYTES}-byte budget of one route; the largest part is the config of Policy "huge" \\(about \\d+ bytes\\): make it smaller or split it$`),
  );
  const noPolicies = routeWithinBudget({ snapshot, instance: { ...instance, spec: { ...instance.spec, hostnames: Array.from({ length: 40 }, (_, i) => `h${i}.example`) } } as ApiInstance, policies: [] }, 500);
  assert.match(noPolicies!.message, /over the 500-byte budget of one route; shorten its hostnames or tiers$/);
});
