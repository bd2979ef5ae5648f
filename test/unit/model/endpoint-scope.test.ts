// The endpoint-scope matcher (model/endpoint-scope.ts): examples, then
// properties over generated patterns and paths.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileEndpointScope, matchesEndpoint, requestSegments } from '../../../model/endpoint-scope.ts';
import { ENDPOINT_PATH_PATTERN } from '../../../api/v1alpha1/common.ts';

const m = (path: string, methods?: string[]) => (method: string, p: string) => matchesEndpoint([{ path, ...(methods ? { methods } : {}) }], method, p);

describe('endpoint scope: examples', () => {
  test('literal segments match exactly; "*" one segment; "**" any rest, none included', () => {
    assert.equal(m('/flights/*')('GET', '/flights/1'), true);
    assert.equal(m('/flights/*')('GET', '/flights'), false);
    assert.equal(m('/flights/*')('GET', '/flights/1/seats'), false);
    assert.equal(m('/flights/*')('GET', '/flightsX/1'), false);
    assert.equal(m('/flights/*')('GET', '/Flights/1'), false, 'case matters');
    assert.equal(m('/flights/**')('GET', '/flights'), true);
    assert.equal(m('/flights/**')('GET', '/flights/1/seats/2'), true);
    assert.equal(m('/flights/**')('GET', '/hotels/1'), false);
    assert.equal(m('/**')('DELETE', '/anything/at/all'), true);
    assert.equal(m('/')('GET', '/'), true);
    assert.equal(m('/')('GET', '/a'), false);
    assert.equal(m('/v1/*/seats')('GET', '/v1/42/seats'), true);
    assert.equal(m('/v1/*/seats')('GET', '/v1/seats'), false);
  });

  test('methods: absent = every method; listed = only those (any case of the request method)', () => {
    assert.equal(m('/flights/*', ['GET'])('GET', '/flights/1'), true);
    assert.equal(m('/flights/*', ['GET'])('get', '/flights/1'), true);
    assert.equal(m('/flights/*', ['GET'])('POST', '/flights/1'), false);
    assert.equal(m('/flights/*', ['GET', 'POST'])('POST', '/flights/1'), true);
    assert.equal(m('/flights/*')('PATCH', '/flights/1'), true);
  });

  test('segments as the router splits them (empty ones skipped), percent-decoded', () => {
    assert.equal(m('/flights/*')('GET', '/flights//1'), true);
    assert.equal(m('/flights/*')('GET', '/flights/1/'), true);
    assert.equal(m('/flights/*')('GET', '/%66lights/1'), true, 'the upstream reads /flights/1');
    assert.deepEqual(requestSegments('/a//b/'), ['a', 'b']);
  });

  test('fail closed: encoded separators, dot segments, undecodable segments, backslashes', () => {
    for (const p of ['/flights/a%2Fb', '/flights/a%2f..%2fadmin', '/flights/%2e%2e', '/flights/..', '/flights/.', '/flights/%ZZ', '/flights/a%5Cb', '/flights/a\\b']) {
      assert.equal(m('/flights/*')('GET', p), false, p);
      assert.equal(m('/flights/**')('GET', p), false, p);
      assert.equal(m('/**')('GET', p), false, p);
    }
  });

  test('fail closed: a segment empty, "." or ".." before ";" parameters (Tomcat and Jetty drop them, so "..;" climbs, ";x" vanishes)', () => {
    for (const p of ['/flights/..;', '/flights/public/..;/admin', '/flights/%2e%2e;x=1', '/flights/..%3Bx', '/flights/.;x', '/flights/;x', '/flights/%3Bx']) {
      assert.equal(m('/flights/*')('GET', p), false, p);
      assert.equal(m('/flights/**')('GET', p), false, p);
      assert.equal(m('/**')('GET', p), false, p);
    }
    assert.equal(m('/flights/*')('GET', '/flights/FL1;v=2'), true, 'a parameter on a real segment keeps it one segment');
  });

  test('malformed patterns allow nothing: "**" not last, partial wildcards, relative, an empty scope', () => {
    assert.equal(m('/**/x')('GET', '/a/x'), false);
    assert.equal(m('/fl*')('GET', '/flights'), false);
    assert.equal(m('flights/*')('GET', '/flights/1'), false);
    assert.equal(compileEndpointScope([])('GET', '/'), false);
  });

  test('any endpoint of the scope may allow', () => {
    const scope = compileEndpointScope([{ methods: ['GET'], path: '/flights/*' }, { methods: ['POST'], path: '/bookings' }]);
    assert.equal(scope('GET', '/flights/1'), true);
    assert.equal(scope('POST', '/bookings'), true);
    assert.equal(scope('POST', '/flights/1'), false);
    assert.equal(scope('GET', '/bookings'), false);
  });
});

describe('endpoint scope: properties', () => {
  const literal = fc.stringMatching(/^[A-Za-z0-9._~!&+,=:@-]{1,8}$/).filter((s) => s !== '.' && s !== '..');
  const patSeg = fc.oneof(literal, fc.constant('*'));
  const pattern = fc.record({ segs: fc.array(patSeg, { maxLength: 5 }), rest: fc.boolean() }).map(({ segs, rest }) => '/' + [...segs, ...(rest ? ['**'] : [])].join('/'));
  // Request segments: plain, or with characters an attacker would try.
  const reqSeg = fc.oneof(literal, fc.constantFrom('..', '.', '%2e%2e', '%2F', 'a%2Fb', '%5c', '*', '**', '%2A'));
  const reqPath = fc.array(reqSeg, { maxLength: 7 }).map((s) => '/' + s.join('/'));

  test('generated patterns are the ones admission accepts', () => {
    const re = new RegExp(ENDPOINT_PATH_PATTERN);
    fc.assert(fc.property(pattern, (p) => re.test(p)));
  });

  test('"*" never crosses "/": a pattern without "**" matches only paths with as many segments', () => {
    fc.assert(
      fc.property(pattern.filter((p) => !p.endsWith('**')), reqPath, (p, path) => {
        const segs = requestSegments(path);
        if (matchesEndpoint([{ path: p }], 'GET', path)) {
          assert.ok(segs);
          assert.equal(segs.length, p === '/' ? 0 : p.split('/').length - 1);
        }
      }),
    );
  });

  test('a match means: every literal segment equal, every segment plain (no dot segment, no separator)', () => {
    fc.assert(
      fc.property(pattern, reqPath, (p, path) => {
        if (!matchesEndpoint([{ path: p }], 'GET', path)) return;
        const segs = requestSegments(path)!;
        for (const s of segs) assert.ok(s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\\'), s);
        const ps = p === '/' ? [] : p.slice(1).split('/');
        ps.forEach((x, i) => {
          if (x !== '*' && x !== '**') assert.equal(segs[i], x);
        });
      }),
    );
  });

  test('"**" is only a suffix: a pattern with "**" elsewhere matches nothing', () => {
    fc.assert(
      fc.property(fc.array(patSeg, { minLength: 1, maxLength: 4 }), reqPath, (segs, path) => {
        assert.equal(matchesEndpoint([{ path: '/**/' + segs.join('/') }], 'GET', path), false);
      }),
    );
  });

  test('a path made from a pattern (wildcards filled with plain segments) matches it; changing a literal does not', () => {
    fc.assert(
      fc.property(pattern, fc.array(literal, { minLength: 8, maxLength: 8 }), fc.array(literal, { maxLength: 3 }), (p, fill, tail) => {
        const ps = p === '/' ? [] : p.slice(1).split('/');
        const out: string[] = [];
        ps.forEach((x, i) => {
          if (x === '*') out.push(fill[i]!);
          else if (x === '**') out.push(...tail);
          else out.push(x);
        });
        assert.equal(matchesEndpoint([{ path: p }], 'GET', '/' + out.join('/')), true);
        const li = ps.findIndex((x) => x !== '*' && x !== '**');
        if (li >= 0) {
          const changed = [...out];
          changed[li] = ps[li] + 'x';
          assert.equal(matchesEndpoint([{ path: p }], 'GET', '/' + changed.join('/')), false);
        }
      }),
    );
  });
});
