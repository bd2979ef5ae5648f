// A route shard over the part budget (routes.ts, fitShard): the organization
// taking the most of the shard gives up its routes first (closed, then left
// out), so a tenant filling a shard never freezes or closes a neighbour's
// route, and every shard can always be written (an unwritable shard keeps its
// old content at the gateway for everyone in it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderRoutes, ROUTES_PART_OVERHEAD } from '../../../../operator/controllers/gatewayconfig/routes.ts';
import { GATEWAY_CONFIG_API_VERSION, MAX_PART_BYTES, ROUTE_SHARDS } from '../../../../api/gateway/config.ts';
import { checksumOf, routeShardOf } from '../../../../api/gateway/checksum.ts';
import type { ApiInstance, Organization } from '../../../../api/v1alpha1/index.ts';
import { servedRoutes } from '../../../../operator/controllers/gatewayconfig/served-routes.ts';
import { snapshotFrom } from '../../../../model/snapshot.ts';
import type { RouteInput } from '../../../../model/route-entry.ts';

const host = (i: number, j: number) => `${'h'.repeat(50)}-${i}-${j}.${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.rogue.example`.slice(-253);

function instance(ns: string, name: string, hostnames: string[] = [], basePath = `/${name}`): ApiInstance {
  return { metadata: { name, namespace: ns }, spec: { assetRef: { name: 'a' }, basePath, hostnames, upstream: { url: 'http://up:8080' } } } as unknown as ApiInstance;
}

/** `n` names in namespace `ns` whose routes land in route shard `shard`. */
function namesIn(ns: string, shard: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (routeShardOf(`${ns}/${prefix}-${i}`, ROUTE_SHARDS) === shard) out.push(`${prefix}-${i}`);
  return out;
}

const partBytes = (routes: unknown[]) =>
  Buffer.byteLength(JSON.stringify({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Routes', gateway: 'g'.repeat(63), generation: Number.MAX_SAFE_INTEGER, checksum: checksumOf(routes), shard: ROUTE_SHARDS - 1, shards: ROUTE_SHARDS, routes }));

test("the part's own fields take at most ROUTES_PART_OVERHEAD bytes (the longest gateway name, generation and shard numbers)", () => {
  assert.ok(partBytes([]) + 1 <= ROUTES_PART_OVERHEAD, `${partBytes([])} bytes`);
});

test("a tenant filling the victim's route shard with large routes costs its own routes only: the victim's route is served, and the shard fits", () => {
  const victim = { instance: instance('victim-prod', 'rail', [], '/rail/v2'), policies: [], tiers: [] };
  const shard = routeShardOf('victim-prod/rail', ROUTE_SHARDS);
  // 16 hostnames of 253 characters each: ~4.3 KB a route, still ~4.2 KB when closed. 260 of them are over 1 MB.
  const rogue = namesIn('rogue-prod', shard, 260, 'fill').map((name, i) => ({ instance: instance('rogue-prod', name, Array.from({ length: 16 }, (_, j) => host(i, j))), policies: [], tiers: [] }));
  const owners: Record<string, string> = { 'victim-prod': 'victim', 'rogue-prod': 'rogue' };
  const out = renderRoutes([victim, ...rogue], { ownerOf: (i) => owners[i.instance.metadata.namespace!]! });
  const routes = out.shards[shard]!.routes;
  assert.ok(partBytes(routes) <= MAX_PART_BYTES, `the shard is ${partBytes(routes)} bytes`);
  const v = routes.find((r) => r.id === 'victim-prod/rail');
  assert.ok(v, "the victim's route is in its shard");
  assert.equal(v.withheld, undefined, "the victim's route is served");
  assert.equal(v.upstream.url, 'http://up:8080');
  assert.ok(!out.trimmed.includes('victim-prod/rail'));
  assert.ok(out.omitted.length > 0 && out.omitted.every((id) => id.startsWith('rogue-prod/')), 'only rogue routes are left out');
  assert.ok(out.trimmed.every((id) => id.startsWith('rogue-prod/')));
  // Closing these routes would not make them smaller (they are their hostnames): they are left out, and the rest of rogue's stay served.
  assert.ok(routes.filter((r) => r.withheld).length === 0);
  assert.ok(routes.filter((r) => r.id.startsWith('rogue-prod/')).length > 150, 'rogue keeps what fits');
});

test('closing comes before leaving out: a served route that closing makes smaller is held closed (503), with the message', () => {
  const shard = 5;
  const pad = (ns: string, name: string) => ({ metadata: { name: `p-${name}`, namespace: ns }, spec: { type: 'header-injection', order: 1, targetRef: { name }, config: { request: { set: { 'x-pad': 'a'.repeat(3000) } } } } });
  const rogue = namesIn('rogue-prod', shard, 8, 'big').map((name) => ({ instance: instance('rogue-prod', name), policies: [pad('rogue-prod', name)], tiers: [] })) as unknown as RouteInput[];
  const victim = namesIn('victim-prod', shard, 1, 'rail').map((name) => ({ instance: instance('victim-prod', name), policies: [pad('victim-prod', name)], tiers: [] })) as unknown as RouteInput[];
  const owners: Record<string, string> = { 'victim-prod': 'victim', 'rogue-prod': 'rogue' };
  const out = renderRoutes([...victim, ...rogue], { part: 20_000, ownerOf: (i) => owners[i.instance.metadata.namespace!]! });
  const routes = out.shards[shard]!.routes;
  assert.deepEqual(out.omitted, []);
  assert.ok(out.trimmed.length > 0 && out.trimmed.every((id) => id.startsWith('rogue-prod/')));
  assert.equal(routes.find((r) => r.id.startsWith('victim-prod/'))!.withheld, undefined, "the victim's route, as large as each of rogue's, stays served");
  const held = routes.filter((r) => r.withheld);
  assert.equal(held.length, out.trimmed.length);
  assert.match(
    held[0]!.withheld!.message,
    /^the gateway answers 503 on this route: its route shard is over the 20000-byte budget of one config part, and Organization "rogue", which takes the most of it \(\d+ bytes\), gives up its largest routes first\. Make its ApiInstances' routes smaller \(fewer or shorter hostnames, smaller Policy configs\) or fewer$/,
  );
});

test('an organization is one, across its namespaces: spreading routes over namespaces does not shift the cost onto a neighbour', () => {
  const shard = 3;
  const big = (ns: string, name: string, k: number) => ({ instance: instance(ns, name, Array.from({ length: 16 }, (_, j) => host(k, j))), policies: [], tiers: [] });
  // The victim: 4 routes in one namespace. Rogue: 3 routes in each of 3 namespaces, each namespace smaller than the victim's.
  const victim = namesIn('victim-prod', shard, 4, 'v').map((name, i) => big('victim-prod', name, i));
  const spread = ['r-a', 'r-b', 'r-c'].flatMap((ns, k) => namesIn(ns, shard, 3, 'x').map((name, i) => big(ns, name, 100 + k * 10 + i)));
  const org = (i: RouteInput) => (i.instance.metadata.namespace!.startsWith('r-') ? 'rogue' : 'victim');
  const out = renderRoutes([...victim, ...spread], { part: 45_000, ownerOf: org });
  assert.ok(out.trimmed.length > 0);
  assert.deepEqual(out.trimmed.filter((id) => id.startsWith('victim-prod/')), []);
  // By namespace, the victim's would have been the largest share and lost first.
  const byNamespace = renderRoutes([...victim, ...spread], { part: 45_000 });
  assert.ok(byNamespace.trimmed.some((id) => id.startsWith('victim-prod/')));
});

test('property: every shard fits, and an organization taking at most its share of the budget (budget / organizations in the shard) loses nothing', () => {
  const routeArb = fc.record({ owner: fc.constantFrom('a', 'b', 'c', 'd'), hosts: fc.integer({ min: 0, max: 16 }), hostLen: fc.integer({ min: 10, max: 253 }), closed: fc.boolean() });
  fc.assert(
    fc.property(fc.array(routeArb, { maxLength: 40 }), fc.integer({ min: 2_000, max: 60_000 }), (specs, budget) => {
      const inputs: RouteInput[] = specs.map((s, i) => {
        const hostnames = Array.from({ length: s.hosts }, (_, j) => `${'x'.repeat(Math.max(1, s.hostLen - 20))}-${i}-${j}.example`.slice(-s.hostLen));
        return { instance: instance(`ns-${s.owner}`, `r${i}`, hostnames), policies: [], tiers: [], ...(s.closed ? { withheld: { reason: 'InvalidPolicy', message: 'closed' } } : {}) };
      });
      const ownerOf = (i: RouteInput) => i.instance.metadata.namespace!.slice(3);
      const out = renderRoutes(inputs, { part: budget, ownerOf });
      for (const [n, s] of out.shards.entries()) {
        const bytes = Buffer.byteLength(JSON.stringify({ apiVersion: GATEWAY_CONFIG_API_VERSION, kind: 'Routes', gateway: 'default', generation: 1, checksum: s.checksum, shard: n, shards: ROUTE_SHARDS, routes: s.routes }));
        assert.ok(bytes <= budget, `shard ${n}: ${bytes} > ${budget}`);
        // Before fitting: each organization's bytes in this shard.
        const mine = inputs.filter((i) => routeShardOf(`${i.instance.metadata.namespace}/${i.instance.metadata.name}`, ROUTE_SHARDS) === n);
        const byOwner = new Map<string, number>();
        for (const i of mine) {
          const full = renderRoutes([i], { part: Infinity }).shards[n]!.routes[0]!;
          byOwner.set(ownerOf(i), (byOwner.get(ownerOf(i)) ?? 0) + Buffer.byteLength(JSON.stringify(full)) + 1);
        }
        const share = (budget - ROUTES_PART_OVERHEAD) / Math.max(1, byOwner.size);
        for (const [owner, b] of byOwner) {
          if (b > share) continue;
          const touched = out.trimmed.filter((id) => id.startsWith(`ns-${owner}/`) && routeShardOf(id, ROUTE_SHARDS) === n);
          assert.deepEqual(touched, [], `${owner} takes ${b} of ${budget} bytes (share ${share}) yet lost ${touched.join(', ')}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('servedRoutes groups routes by the Organization owning their namespace (model/ownership.ts): a tenant spreading over its environments still pays first', () => {
  const organization = (name: string, envs: string[], hostnames: string[]) =>
    ({
      apiVersion: 'crossgate.dev/v1alpha1',
      kind: 'Organization',
      metadata: { name, creationTimestamp: new Date('2025-01-01T00:00:00Z') },
      spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: envs.map((ns) => ({ name: ns, namespace: ns })), routes: { hostnames } },
    }) as unknown as Organization;
  const victimOrg = organization('victim', ['victim-prod'], ['*.victim.example']);
  const rogueOrg = organization('rogue', ['r-a', 'r-b', 'r-c'], ['*.rogue.example']);
  const hosts = (org: string, k: number) => Array.from({ length: 16 }, (_, j) => `${'h'.repeat(40)}-${k}-${j}.${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(50)}.${org}.example`);
  const shard = 7;
  // Each rogue namespace holds less of the shard than the victim's one namespace; rogue as a whole holds most of it.
  // Own Services (backendRef): every route passes its verdict, only the shard budget is in play.
  const own = (i: ApiInstance) => ({ ...i, spec: { ...i.spec, upstream: { backendRef: { name: 'up', port: 8080 } } } }) as ApiInstance;
  const victims = namesIn('victim-prod', shard, 70, 'v').map((name, i) => own(instance('victim-prod', name, hosts('victim', i))));
  const rogues = ['r-a', 'r-b', 'r-c'].flatMap((ns, k) => namesIn(ns, shard, 60, 'x').map((name, i) => own(instance(ns, name, hosts('rogue', 1000 * k + i)))));
  const snapshot = snapshotFrom({ organizations: [victimOrg, rogueOrg] });
  const served = servedRoutes('default', { instances: [...victims, ...rogues], policies: [], tiers: [], snapshot }, { warn: () => undefined });
  const routes = served.rendered.shards[shard]!.routes;
  assert.ok(partBytes(routes) <= MAX_PART_BYTES, `${partBytes(routes)}`);
  assert.ok(served.rendered.trimmed.length > 0, `${served.ids.size} served, ${partBytes(routes)} bytes`);
  assert.deepEqual(served.rendered.trimmed.filter((id) => id.startsWith('victim-prod/')), [], "the victim's routes are all served");
  for (const v of victims) assert.ok(served.ids.has(`victim-prod/${v.metadata.name}`));
  for (const id of served.rendered.trimmed) assert.ok(!served.ids.has(id), 'keys never reach a route given up');
});
