// Route conflicts per Gateway API listener (model/route-conflicts.ts): which
// parents share a listener, and that the rule per listener keeps the
// properties of the rule per crossgate gateway (an older instance is never
// displaced; two instances never both lose to each other; no shared listener,
// no conflict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parentRouteConflictOf, sharedListener, type InstanceLike, type ParentListener } from '../../../model/route-conflicts.ts';

const gatewayArb = fc.constantFrom('gw/a', 'gw/b');
const listenerArb: fc.Arbitrary<ParentListener> = fc.record(
  { gateway: gatewayArb, sectionName: fc.constantFrom('http', 'https'), port: fc.constantFrom(80, 443) },
  { requiredKeys: ['gateway'] },
);
const instanceArb = (name: string): fc.Arbitrary<InstanceLike> =>
  fc.record({
    day: fc.integer({ min: 1, max: 3 }),
    basePath: fc.constantFrom('/a', '/b'),
    hostnames: fc.option(fc.subarray(['x.example', '*.example', 'y.example'], { minLength: 1 }), { nil: undefined }),
    parents: fc.array(listenerArb, { maxLength: 3 }),
  }).map(({ day, basePath, hostnames, parents }) => ({
    metadata: { name, namespace: 'ns', creationTimestamp: `2025-01-0${day}T00:00:00Z` },
    spec: { basePath, hostnames, parentRefs: parents.map((p) => ({ name: p.gateway.split('/')[1]!, namespace: 'gw', ...(p.sectionName ? { sectionName: p.sectionName } : {}), ...(p.port ? { port: p.port } : {}) })) },
  }));

test('sharing a listener is symmetric; an open sectionName or port reaches every listener of the same Gateway only', () => {
  fc.assert(fc.property(listenerArb, listenerArb, (a, b) => (sharedListener(a, b) === undefined) === (sharedListener(b, a) === undefined)));
  assert.equal(sharedListener({ gateway: 'gw/a' }, { gateway: 'gw/a', sectionName: 'http' }), 'Gateway "gw/a" listener "http"');
  assert.equal(sharedListener({ gateway: 'gw/a', port: 443 }, { gateway: 'gw/a', sectionName: 'https' }), 'Gateway "gw/a" listener "https" port 443');
  assert.equal(sharedListener({ gateway: 'gw/a' }, { gateway: 'gw/a' }), 'Gateway "gw/a" (every listener)');
  assert.equal(sharedListener({ gateway: 'gw/a', sectionName: 'http' }, { gateway: 'gw/a', sectionName: 'https' }), undefined);
  assert.equal(sharedListener({ gateway: 'gw/a', port: 80 }, { gateway: 'gw/a', port: 443 }), undefined);
  assert.equal(sharedListener({ gateway: 'gw/a' }, { gateway: 'gw/b' }), undefined);
});

test('of two instances at most one loses, always to an older one sharing a listener, with the same basePath', () => {
  fc.assert(
    fc.property(instanceArb('one'), instanceArb('two'), (a, b) => {
      const ab = parentRouteConflictOf(a, [a, b]);
      const ba = parentRouteConflictOf(b, [a, b]);
      if (ab && ba) return false;
      for (const [c, loser, winner] of [[ab, a, b], [ba, b, a]] as const) {
        if (!c) continue;
        if (c.heldBy !== `ns/${winner.metadata!.name}` || loser.spec.basePath !== winner.spec.basePath) return false;
        if (!c.listener) return false;
      }
      return true;
    }),
  );
});

test('without a parent in common no conflict, whatever the hosts and paths', () => {
  fc.assert(
    fc.property(instanceArb('one'), instanceArb('two'), (a, b) => {
      const only = (i: InstanceLike, gw: string) => ({ ...i, spec: { ...i.spec, parentRefs: (i.spec.parentRefs ?? []).map((r) => ({ ...r, name: gw })) } });
      return parentRouteConflictOf(only(a, 'a'), [only(a, 'a'), only(b, 'b')]) === undefined && parentRouteConflictOf(only(b, 'b'), [only(a, 'a'), only(b, 'b')]) === undefined;
    }),
  );
});
