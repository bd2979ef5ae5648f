// One organization rewriting its Policies, SlaTiers or ApiInstances every
// 100 ms re-renders the routes at every write. Each render used to decide
// every organization's route again (and scan every Policy per instance):
// with 10,000 instances a render took 1.6-2.5 s, and another organization's
// revocation waits for the render in progress and then its own. A render now
// decides again only the instances whose inputs changed (RouteDecisions in
// served-routes.ts): ~0.1 s for the same 10,000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteDecisions, servedRoutes } from '../../../../operator/controllers/gatewayconfig/served-routes.ts';
import { snapshotFrom } from '../../../../model/snapshot.ts';
import type { ApiInstance, Organization, Policy, SlaTier } from '../../../../api/v1alpha1/index.ts';
import type { Route } from '../../../../api/gateway/config.ts';

const organization = (name: string, hosts: string[] = ['up.example']) =>
  ({
    metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { domain: name, displayName: name, homeNamespace: `${name}-home`, environments: [{ name: 'prod', namespace: `${name}-prod` }], routes: { pathPrefixes: [`/${name}`] }, upstreams: { allowedHosts: hosts } },
  }) as unknown as Organization;
const instance = (org: string, name: string) =>
  ({ metadata: { name, namespace: `${org}-prod` }, spec: { assetRef: { name: 'a', namespace: `${org}-home` }, basePath: `/${org}/${name}`, upstream: { url: 'http://up.example:8080' } } }) as unknown as ApiInstance;
const policy = (org: string, name: string, target: string, order = 1) =>
  ({ metadata: { name, namespace: `${org}-prod` }, spec: { type: 'api-key', order, targetRef: { name: target }, config: {} } }) as unknown as Policy;
const tier = (org: string, name: string, target: string, requests = 100) =>
  ({ metadata: { name, namespace: `${org}-prod` }, spec: { apiInstanceRef: { name: target }, limits: [{ requests, period: 'minute' }] } }) as unknown as SlaTier;

const silent = { warn: () => undefined };
const routesOf = (out: ReturnType<typeof servedRoutes>) => new Map<string, Route>(out.rendered.shards.flatMap((s) => s.routes).map((r) => [r.id, r]));

test("an organization's churn decides again only its own instance: the victim's routes and shards are not rebuilt", () => {
  const orgs = [organization('victim'), organization('evil')];
  const instances = [...Array.from({ length: 20 }, (_, i) => instance('victim', `v${i}`)), instance('evil', 'e')];
  const victimPolicies = Array.from({ length: 20 }, (_, i) => policy('victim', `key-${i}`, `v${i}`));
  const tiers = [tier('victim', 'gold', 'v0'), tier('evil', 'gold', 'e')];
  const snapshot = snapshotFrom({ organizations: orgs });
  const decisions = new RouteDecisions();
  const first = servedRoutes('default', { instances, policies: [...victimPolicies, policy('evil', 'p', 'e', 1)], tiers, snapshot }, silent, decisions);
  assert.equal(first.ids.size, 21);
  const before = routesOf(first);
  // The attacker rewrites its Policy, its SlaTier and its ApiInstance (informers hand over new objects).
  let out = first;
  for (let round = 2; round < 6; round++) {
    const evilTier = tier('evil', 'gold', 'e', round);
    const evil = { ...instance('evil', 'e'), metadata: { name: 'e', namespace: 'evil-prod', annotations: { round: String(round) } } } as unknown as ApiInstance;
    out = servedRoutes('default', { instances: [...instances.slice(0, 20), evil], policies: [...victimPolicies, policy('evil', 'p', 'e', round)], tiers: [tiers[0]!, evilTier], snapshot }, silent, decisions);
    assert.equal(out.ids.size, 21);
  }
  const after = routesOf(out);
  for (let i = 0; i < 20; i++) assert.equal(after.get(`victim-prod/v${i}`), before.get(`victim-prod/v${i}`), `victim route v${i} is the route decided before, not decided again`);
  assert.notEqual(after.get('evil-prod/e'), before.get('evil-prod/e'));
  assert.equal(after.get('evil-prod/e')!.policies[0]!.order, 5, "the attacker's own route follows its writes");
  assert.equal(after.get('evil-prod/e')!.tiers[0]!.limits[0]!.requests, 5);
  const evilShard = first.rendered.shards.findIndex((s) => s.routes.some((r) => r.id === 'evil-prod/e'));
  first.rendered.shards.forEach((s, i) => {
    if (i !== evilShard) assert.equal(out.rendered.shards[i], s, `shard ${i}, without the attacker's route, is not hashed again`);
  });
});

test("a reused decision still follows the victim's own writes, its tiers, the Organizations and a deleted Policy", () => {
  const orgs = [organization('victim'), organization('evil')];
  const instances = [instance('victim', 'v'), instance('evil', 'e')];
  const decisions = new RouteDecisions();
  const render = (o: Organization[], policies: Policy[], tiers: SlaTier[] = []) => routesOf(servedRoutes('default', { instances, policies, tiers, snapshot: snapshotFrom({ organizations: o }) }, silent, decisions));
  const key = policy('victim', 'key', 'v');
  assert.equal(render(orgs, [key]).get('victim-prod/v')!.policies.length, 1);
  assert.equal(render(orgs, [key, { ...key, metadata: { ...key.metadata, name: 'key2' } } as Policy]).get('victim-prod/v')!.policies.length, 2, 'a second Policy of its own');
  assert.equal(render(orgs, [key]).get('victim-prod/v')!.policies.length, 1, 'the second Policy deleted');
  assert.equal(render(orgs, [key], [tier('victim', 'gold', 'v')]).get('victim-prod/v')!.tiers.length, 1, 'a tier of its own');
  // A platform admin takes an upstream host away: every decision is made again (the same objects otherwise).
  const narrowed = [organization('victim', ['elsewhere.example']), orgs[1]!];
  const v = render(narrowed, [key], [tier('victim', 'gold', 'v')]).get('victim-prod/v')!;
  assert.equal(v.withheld?.reason, 'UpstreamNotAllowed', 'an Organization change is seen at once');
});

test("a gateway's render reads only its own instances: another gateway's churn costs what that gateway serves", () => {
  const orgs = [organization('victim'), organization('evil')];
  const onDefault = Array.from({ length: 200 }, (_, i) => instance('victim', `v${i}`));
  const edge = { ...instance('evil', 'e'), spec: { ...instance('evil', 'e').spec, gateway: 'edge' } } as ApiInstance;
  const base = snapshotFrom({ organizations: orgs });
  // Counts the reads of the Organizations: each instance's route space check reads them.
  let reads = 0;
  const snapshot = new Proxy(base, { get: (t, p, r) => (p === 'organizations' ? () => (reads++, t.organizations()) : Reflect.get(t, p, r)) });
  const out = servedRoutes('edge', { instances: [...onDefault, edge], policies: [], tiers: [], snapshot }, silent, new RouteDecisions());
  assert.deepEqual([...out.ids], ['evil-prod/e']);
  assert.ok(reads < 50, `${reads} reads of the Organizations for one instance of the gateway`);
});
