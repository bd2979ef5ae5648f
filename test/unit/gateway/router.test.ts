import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Router, hostOf, segments, type CompiledRoute } from '../../../gateway/compiled.ts';
import { remainderAfter, upstreamPath } from '../../../gateway/proxy.ts';
import { hasDotSegments } from '../../../gateway/server.ts';

function r(id: string, basePath: string, hostnames: string[] = []): CompiledRoute {
  return {
    id,
    hostnames,
    basePath,
    baseSegments: segments(basePath),
    upstream: { origin: 'http://127.0.0.1:1', basePath: '', timeoutMs: 1000 },
    policies: [],
    cors: undefined,
    tiers: new Map(),
    withheld: undefined,
    source: undefined as never,
  };
}

describe('Router', () => {
  const router = new Router([
    r('any/root', '/'),
    r('any/flights', '/flights'),
    r('any/flights-v2', '/flights/v2'),
    r('exact/flights', '/flights', ['api.example.com']),
    r('wild/flights', '/flights', ['*.example.com']),
    r('wild-deeper/x', '/x', ['*.eu.example.com']),
  ]);

  test('longest basePath, segment-wise', () => {
    assert.equal(router.match(undefined, '/flights')?.id, 'any/flights');
    assert.equal(router.match(undefined, '/flights/')?.id, 'any/flights');
    assert.equal(router.match(undefined, '/flights/123')?.id, 'any/flights');
    assert.equal(router.match(undefined, '/flights/v2/123')?.id, 'any/flights-v2');
    assert.equal(router.match(undefined, '/flights/v2')?.id, 'any/flights-v2');
    assert.equal(router.match(undefined, '/flightsX')?.id, 'any/root', 'not a prefix match on characters');
    assert.equal(router.match(undefined, '/flights/v20')?.id, 'any/flights');
    assert.equal(router.match(undefined, '//flights//v2')?.id, 'any/flights-v2', 'empty segments ignored');
    assert.equal(router.match(undefined, '/')?.id, 'any/root');
  });

  // Issue 13 changed the last case: a named host's requests never fall through to the shared host's routes.
  test('host precedence: exact, then the longest wildcard; the shared host only for hosts no route names', () => {
    assert.equal(router.match('api.example.com', '/flights/1')?.id, 'exact/flights');
    assert.equal(router.match('other.example.com', '/flights/1')?.id, 'wild/flights');
    assert.equal(router.match('example.com', '/flights/1')?.id, 'any/flights', 'a wildcard needs a label before the suffix');
    assert.equal(router.match('a.eu.example.com', '/x')?.id, 'wild-deeper/x');
    assert.equal(router.match('a.eu.example.com', '/flights')?.id, 'wild/flights', 'falls back to a shorter wildcard');
    assert.equal(router.match('api.example.com', '/hotels'), undefined, "a named host's unserved path is not the shared host's");
    assert.equal(router.match('unnamed.example.org', '/hotels')?.id, 'any/root', 'a host no route names is the shared host');
  });

  test('no route → undefined; conflicts reported, first wins', () => {
    const only = new Router([r('a/one', '/one'), r('b/one', '/one/')]);
    assert.equal(only.match(undefined, '/two'), undefined);
    assert.equal(only.match(undefined, '/one/x')?.id, 'a/one');
    assert.equal(only.conflicts.length, 1);
    assert.match(only.conflicts[0]!, /b\/one has the same host and basePath as a\/one/);
  });

  test('hostOf strips the port, lower-cases, keeps IPv6 brackets', () => {
    assert.equal(hostOf('API.Example.com:8080'), 'api.example.com');
    assert.equal(hostOf('[::1]:8080'), '[::1]');
    assert.equal(hostOf('example.com.'), 'example.com');
    assert.equal(hostOf(undefined), undefined);
  });

  test('upstream path: upstream base + what follows the basePath, query kept minus stripped parameters', () => {
    assert.equal(remainderAfter('/flights/123', ['flights']), '/123');
    assert.equal(remainderAfter('//flights//123', ['flights']), '//123');
    assert.equal(remainderAfter('/flights', ['flights']), '');
    assert.equal(remainderAfter('/a/b/c', []), '/a/b/c');
    assert.equal(upstreamPath('/v1', '/123', '', undefined), '/v1/123');
    assert.equal(upstreamPath('', '', '', undefined), '/');
    assert.equal(upstreamPath('/v1', '', 'a=1', undefined), '/v1?a=1');
    assert.equal(upstreamPath('', '/x', 'a=1&api_key=s3cret&b=2', ['api_key']), '/x?a=1&b=2');
    assert.equal(upstreamPath('', '/x', 'api%5Fkey=s3cret', ['api_key']), '/x', 'encoded names are matched decoded');
  });

  test('dot segments are detected, also percent-encoded', () => {
    assert.equal(hasDotSegments('/flights/../admin'), true);
    assert.equal(hasDotSegments('/flights/%2e%2E/admin'), true);
    assert.equal(hasDotSegments('/flights/./x'), true);
    assert.equal(hasDotSegments('/flights/v1.2/file.json'), false);
    assert.equal(hasDotSegments('/flights/...'), false);
  });
});
