// model/endpoint-scope.ts: a scope is wider unless provably within the old one;
// property: a request the new scope allows and the old one refused always
// counts as wider (never a silent widening past the owner's approval).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HTTP_METHODS, type Endpoint } from '../../../api/v1alpha1/index.ts';
import { pathCovers, scopeWidens } from '../../../model/endpoint-scope.ts';

/** A reference matcher of one request against an endpoint, written from the schema's description. */
function matches(e: Endpoint, method: string, path: string[]): boolean {
  if (e.methods && !(e.methods as string[]).includes(method)) return false;
  const p = e.path === '/' ? [] : e.path.slice(1).split('/');
  if (p[p.length - 1] === '**') {
    const fixed = p.slice(0, -1);
    return path.length >= fixed.length && fixed.every((s, i) => s === '*' || s === path[i]);
  }
  return p.length === path.length && p.every((s, i) => s === '*' || s === path[i]);
}
const allows = (scope: Endpoint[] | undefined, method: string, path: string[]) => !scope || scope.some((e) => matches(e, method, path));

test('examples: narrower keeps, wider or unprovable counts as wider', () => {
  const e = (path: string, methods?: string[]) => ({ path, ...(methods ? { methods } : {}) }) as Endpoint;
  assert.equal(scopeWidens(undefined, [e('/a')]), false, 'the whole API narrowed');
  assert.equal(scopeWidens([e('/a')], undefined), true, 'to the whole API');
  assert.equal(scopeWidens([e('/a/*')], [e('/a/b')]), false);
  assert.equal(scopeWidens([e('/a/b')], [e('/a/*')]), true);
  assert.equal(scopeWidens([e('/a/**')], [e('/a/b/c'), e('/a/*/**')]), false);
  assert.equal(scopeWidens([e('/a/*')], [e('/a/**')]), true);
  assert.equal(scopeWidens([e('/a', ['GET'])], [e('/a')]), true, 'every method is wider than GET');
  assert.equal(scopeWidens([e('/a', ['GET', 'POST'])], [e('/a', ['GET'])]), false);
  assert.equal(scopeWidens([e('/a'), e('/b')], [e('/b')]), false);
  assert.equal(pathCovers('/**', '/'), false, 'conservative: "**" matching nothing is not assumed');
});

const seg = fc.constantFrom('a', 'b', 'c');
const pattern = fc
  .tuple(fc.array(fc.oneof(seg, fc.constant('*')), { maxLength: 3 }), fc.boolean())
  .map(([s, rest]) => '/' + [...s, ...(rest ? ['**'] : [])].join('/'))
  .map((p) => (p === '/' ? '/' : p.replace(/^\/\//, '/')));
const endpoint = fc.record({ path: pattern, methods: fc.option(fc.subarray([...HTTP_METHODS], { minLength: 1 }), { nil: undefined }) }).map((e) => {
  const out: Endpoint = { path: e.path };
  if (e.methods) out.methods = e.methods as Endpoint['methods'];
  return out;
});
const scope = fc.option(fc.array(endpoint, { minLength: 1, maxLength: 3 }), { nil: undefined });

test('property: a request allowed by the new scope and not the old is always a widening', () => {
  fc.assert(
    fc.property(scope, scope, fc.constantFrom(...HTTP_METHODS), fc.array(seg, { maxLength: 5 }), (old, next, method, path) => {
      if (allows(next, method, path) && !allows(old, method, path)) assert.equal(scopeWidens(old, next), true);
    }),
    { numRuns: 5000 },
  );
});

test('property: a scope never widens itself, and nothing widens the whole API', () => {
  fc.assert(fc.property(scope, (s) => { assert.equal(scopeWidens(s, s), false); assert.equal(scopeWidens(undefined, s), false); }));
});
