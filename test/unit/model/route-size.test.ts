// The route size check (model/route-size.ts): what the ApiInstance's Ready
// says and what the renderer emits come from one decision over the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ROUTE_BYTES, routeWithinBudget } from '../../../model/route-size.ts';
import { routeVerdict } from '../../../model/route-verdict.ts';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { renderRoutes } from '../../../operator/controllers/gatewayconfig/routes.ts';
import type { ApiInstance, Organization, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';

const instance = { metadata: { name: 'flights', namespace: 'prod' }, spec: { assetRef: { name: 'a' }, basePath: '/flights', upstream: { backendRef: { name: 'up', port: 8080 } } } } as ApiInstance;
// The organization that owns "prod" and was assigned /flights, so only the size can keep the route closed.
const owner = {
  metadata: { name: 'max', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { domain: 'max', displayName: 'Max', homeNamespace: 'max-home', environments: [{ name: 'prod', namespace: 'prod' }], routes: { pathPrefixes: ['/flights'] } },
} as unknown as Organization;
// A valid cors config of about n bytes: origins of 100 characters each.
const padded = (name: string, n: number) =>
  ({ metadata: { name, namespace: 'prod' }, spec: { type: 'cors', order: 1, targetRef: { name: 'flights' }, config: { allowOrigins: Array.from({ length: Math.max(1, Math.ceil(n / 100)) }, (_, i) => `https://${String(i).padStart(80, 'a')}.example`) } } }) as unknown as Policy;
const tier = { metadata: { name: 'gold', namespace: 'prod' }, spec: { apiInstanceRef: { name: 'flights' }, limits: [{ requests: 10, period: 'minute' }] } } as SlaTier;

test('one decision: at every budget the route verdict withholds exactly the routes the renderer withholds, measured on the bytes it writes', () => {
  const snapshot = snapshotFrom({ organizations: [owner] });
  for (const n of [0, 100, 5000, 50_000]) {
    const policies = [padded('a', n), padded('b', n / 2)];
    const rendered = renderRoutes([{ instance, policies, tiers: [tier] }], { route: Number.MAX_SAFE_INTEGER }).shards.flatMap((s) => s.routes)[0]!;
    const actual = Buffer.byteLength(JSON.stringify(rendered));
    for (const budget of [actual - 1, actual, actual + 1]) {
      const verdict = routeWithinBudget({ snapshot, instance, policies, tiers: [tier] }, budget);
      const renderer = renderRoutes([{ instance, policies, tiers: [tier] }], { route: budget });
      assert.equal(verdict !== undefined, budget < actual, `${n} at ${budget}: the verdict measures ${actual} bytes`);
      assert.equal(renderer.trimmed.includes('prod/flights'), budget < actual, `${n} at ${budget}: the renderer agrees`);
      if (verdict) assert.equal(renderer.shards.flatMap((s) => s.routes)[0]!.withheld?.message, verdict.message, 'and says the same');
    }
  }
});

test('attack 6: a route over the budget is withheld with a message naming the largest policy', () => {
  const snapshot = snapshotFrom({ organizations: [owner] });
  assert.equal(routeVerdict({ snapshot, instance, policies: [padded('small', 10)], tiers: [tier] }), undefined);
  // Every policy valid (a cors config holds at most 64 origins of 512 characters): only their number makes the route too large.
  const wide = (name: string) => {
    const p = padded(name, 6400) as unknown as { spec: { config: { allowOrigins: string[] } } };
    p.spec.config.allowOrigins = p.spec.config.allowOrigins.map((_o, i) => `https://${String(i).padStart(490, 'w')}.example`);
    return p as unknown as Policy;
  };
  const many = Array.from({ length: Math.ceil(MAX_ROUTE_BYTES / 6400) }, (_, i) => padded(`p${i}`, 6400));
  const p = routeVerdict({ snapshot, instance, policies: [padded('small', 10), ...many, wide('huge')], tiers: [tier] });
  assert.equal(p?.action, 'withhold');
  assert.equal(p?.reason, 'RouteTooLarge');
  assert.match(
    p!.message,
    new RegExp(`^the gateway answers 503 on this route: its configuration is \\d+ bytes, over the ${MAX_ROUTE_BYTES}-byte budget of one route; the largest part is the config of Policy "huge" \\(\\d+ bytes\\): make it smaller or split it$`),
  );
  const noPolicies = routeWithinBudget({ snapshot, instance: { ...instance, spec: { ...instance.spec, hostnames: Array.from({ length: 40 }, (_, i) => `h${i}.example`) } } as ApiInstance, policies: [] }, 500);
  assert.match(noPolicies!.message, /over the 500-byte budget of one route; shorten its hostnames or tiers$/);
});
