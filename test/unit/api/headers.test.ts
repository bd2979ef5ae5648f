// Header rules of the policy config schema (issue 13, attacks 4, 5 and 6):
// the messages a user reads for each refusal, the bounds of every policy
// config, and properties over the whole character range: whatever the schema
// admits Node can write (so no admitted header can crash the gateway), and
// whatever it must refuse it refuses.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { RESERVED_HEADER_PREFIXES, isReservedHeader } from '../../../api/headers.ts';
import { RESERVED_HEADERS, validatePolicyConfig } from '../../../api/policies.ts';
import type { ApiInstance, Policy } from '../../../api/v1alpha1/index.ts';
import { policiesValid } from '../../../model/route-verdict.ts';
import type { Snapshot } from '../../../model/snapshot.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { pino } from 'pino';

const setOn = (side: 'request' | 'response', name: string, value: string) => validatePolicyConfig('header-injection', { [side]: { set: { [name]: value } } });
const removeOn = (side: 'request' | 'response', name: string) => validatePolicyConfig('header-injection', { [side]: { remove: [name] } });

describe('header-injection refusals name the header and the rule', () => {
  test('reserved names cannot be set or removed, in any case', () => {
    assert.deepEqual(setOn('request', 'X-Crossgate-Client', 'victim/app'), [
      { path: '/spec/config/request/set/X-Crossgate-Client', message: 'header "X-Crossgate-Client" is reserved: the gateway sets it' },
    ]);
    assert.deepEqual(removeOn('request', 'x-forwarded-for'), [
      { path: '/spec/config/request/remove/0', message: 'header "x-forwarded-for" is reserved: the gateway sets the forwarding headers' },
    ]);
    assert.deepEqual(setOn('request', 'Forwarded', 'for=10.0.0.1'), [
      { path: '/spec/config/request/set/Forwarded', message: 'header "Forwarded" is reserved: the gateway sets the forwarding headers' },
    ]);
    assert.deepEqual(setOn('response', 'Content-Length', '0'), [
      { path: '/spec/config/response/set/Content-Length', message: 'header "Content-Length" is reserved: it frames or addresses the message, the gateway computes it' },
    ]);
    assert.deepEqual(removeOn('response', 'Transfer-Encoding'), [
      { path: '/spec/config/response/remove/0', message: 'header "Transfer-Encoding" is reserved: it is hop-by-hop: it describes one connection, not the message' },
    ]);
    assert.deepEqual(setOn('request', 'Proxy-Authorization', 'Basic x'), [
      { path: '/spec/config/request/set/Proxy-Authorization', message: 'header "Proxy-Authorization" is reserved: it is hop-by-hop: it describes one connection, not the message' },
    ]);
  });

  test('names must be RFC 9110 tokens; the message names the character and its position', () => {
    assert.deepEqual(setOn('request', 'x-a\r\nx-b', '1'), [
      { path: '/spec/config/request/set/x-a\r\nx-b', message: 'header name "x-a\\r\\nx-b" has U+000D at position 3: use letters, digits and !#$%&\'*+.^_`|~- only (RFC 9110 token)' },
    ]);
    assert.deepEqual(removeOn('response', 'x y'), [
      { path: '/spec/config/response/remove/0', message: 'header name "x y" has U+0020 at position 1: use letters, digits and !#$%&\'*+.^_`|~- only (RFC 9110 token)' },
    ]);
    assert.deepEqual(removeOn('response', ''), [{ path: '/spec/config/response/remove/0', message: 'a header name cannot be empty' }]);
    const long = 'x'.repeat(257);
    assert.deepEqual(setOn('request', long, '1'), [{ path: `/spec/config/request/set/${long}`, message: `header name "${'x'.repeat(64)}…" is 257 characters long: at most 256` }]);
  });

  test('values: visible ASCII, space and tab, at most 4096; the message never quotes the value', () => {
    assert.deepEqual(setOn('response', 'x-note', 'ok\r\nset-cookie: a=b'), [
      { path: '/spec/config/response/set/x-note', message: 'header "x-note" has U+000D at position 2 of its value: use visible ASCII, space and tab only' },
    ]);
    assert.deepEqual(setOn('response', 'x-note', 'caf\u00e9'), [
      { path: '/spec/config/response/set/x-note', message: 'header "x-note" has U+00E9 at position 3 of its value: use visible ASCII, space and tab only' },
    ]);
    assert.deepEqual(setOn('request', 'authorization', `Bearer secret\u007f`), [
      { path: '/spec/config/request/set/authorization', message: 'header "authorization" has U+007F at position 13 of its value: use visible ASCII, space and tab only' },
    ]);
    assert.deepEqual(setOn('request', 'x-big', 'v'.repeat(4097)), [{ path: '/spec/config/request/set/x-big', message: 'header "x-big" has a value of 4097 characters: at most 4096' }]);
    assert.deepEqual(setOn('request', 'x-tab', 'a\tb c'), []);
    assert.deepEqual(setOn('request', 'x-empty', ''), []);
  });

  test('at most 32 entries per set map and remove list; one header named twice is refused', () => {
    const names = Array.from({ length: 33 }, (_, i) => `x-h${i}`);
    assert.deepEqual(validatePolicyConfig('header-injection', { request: { set: Object.fromEntries(names.map((n) => [n, 'v'])) } }), [
      { path: '/spec/config/request/set', message: 'must NOT have more than 32 properties' },
    ]);
    assert.deepEqual(validatePolicyConfig('header-injection', { response: { remove: names } }), [{ path: '/spec/config/response/remove', message: 'must NOT have more than 32 items' }]);
    assert.deepEqual(validatePolicyConfig('header-injection', { request: { set: Object.fromEntries(names.slice(0, 32).map((n) => [n, 'v'])) } }), []);
    assert.deepEqual(validatePolicyConfig('header-injection', { request: { set: { 'X-Env': 'a', 'x-env': 'b' } } }), [
      { path: '/spec/config/request/set/x-env', message: 'header "x-env" is listed twice in request.set (also as "X-Env"): header names are case-insensitive' },
    ]);
  });

  test('the ~1.2 MB policy of attack 6 (1,300 set entries) is refused', () => {
    const set = Object.fromEntries(Array.from({ length: 1300 }, (_, i) => [`x-filler-${i}`, 'v'.repeat(950)]));
    assert.ok(JSON.stringify(set).length > 1_200_000);
    assert.deepEqual(validatePolicyConfig('header-injection', { request: { set } }), [{ path: '/spec/config/request/set', message: 'must NOT have more than 32 properties' }]);
  });
});

describe('with the webhook out of the way, a forging policy is still contained', () => {
  const forging = { request: { set: { 'x-crossgate-client': 'victim/app' } } };

  test("the operator's route verdict withholds the route (503, never served without its policies)", () => {
    const p = { apiVersion: 'crossgate.dev/v1alpha1', kind: 'Policy', metadata: { name: 'forge', namespace: 'b-prod' }, spec: { type: 'header-injection', targetRef: { name: 'x' }, config: forging } } as unknown as Policy;
    const problem = policiesValid({ snapshot: {} as Snapshot, instance: {} as ApiInstance, policies: [p] });
    assert.equal(problem?.action, 'withhold');
    assert.equal(problem?.reason, 'InvalidPolicy');
  });

  test("the gateway's compile holds the route closed and says why in its log, not to clients", () => {
    const logger = pino({ level: 'silent' });
    const compiled = compileRoutes(
      {
        checksum: 'c',
        routes: [{ id: 'b/x', hostnames: [], basePath: '/x', upstream: { url: 'http://127.0.0.1:9', timeoutMs: 1000 }, tiers: [], policies: [{ name: 'b/forge', type: 'header-injection', order: 1, config: forging }] }],
      } as unknown as Parameters<typeof compileRoutes>[0],
      { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger },
    );
    assert.equal(compiled.routes[0]?.withheld?.reason, 'InvalidRoute');
    assert.match(compiled.routes[0]!.withheld!.message, /header "x-crossgate-client" is reserved: the gateway sets it/);
  });
});

describe('every policy config string and list is bounded', () => {
  const cases: Array<[string, Record<string, unknown>, { path: string; message: string }]> = [
    ['cors', { allowOrigins: Array.from({ length: 65 }, (_, i) => `https://o${i}.test`) }, { path: '/spec/config/allowOrigins', message: 'must NOT have more than 64 items' }],
    ['cors', { allowOrigins: ['https://a.test\r\nx: y'] }, { path: '/spec/config/allowOrigins/0', message: 'must be visible ASCII without spaces (U+0021 to U+007E)' }],
    ['cors', { allowOrigins: ['*'], allowMethods: Array.from({ length: 17 }, () => 'GET') }, { path: '/spec/config/allowMethods', message: 'must NOT have more than 16 items' }],
    ['cors', { allowOrigins: ['*'], allowMethods: ['get'] }, { path: '/spec/config/allowMethods/0', message: 'must be an HTTP method in capitals, e.g. GET' }],
    ['cors', { allowOrigins: ['*'], allowMethods: ['G'.repeat(33)] }, { path: '/spec/config/allowMethods/0', message: 'must NOT have more than 32 characters' }],
    ['cors', { allowOrigins: ['*'], allowHeaders: Array.from({ length: 65 }, (_, i) => `x-${i}`) }, { path: '/spec/config/allowHeaders', message: 'must NOT have more than 64 items' }],
    [
      'cors',
      { allowOrigins: ['*'], exposeHeaders: ['x\ny'] },
      { path: '/spec/config/exposeHeaders/0', message: 'header name "x\\ny" has U+000A at position 1: use letters, digits and !#$%&\'*+.^_`|~- only (RFC 9110 token)' },
    ],
    ['jwt-validation', { jwksUrl: `https://idp.test/${'a'.repeat(2048)}` }, { path: '/spec/config/jwksUrl', message: 'must NOT have more than 2048 characters' }],
    ['jwt-validation', { jwksUrl: 'https://idp.test/jwks', issuer: 'i'.repeat(1025) }, { path: '/spec/config/issuer', message: 'must NOT have more than 1024 characters' }],
    ['jwt-validation', { jwksUrl: 'https://idp.test/jwks', audiences: Array.from({ length: 17 }, (_, i) => `a${i}`) }, { path: '/spec/config/audiences', message: 'must NOT have more than 16 items' }],
    ['jwt-validation', { jwksUrl: 'https://idp.test/jwks', audiences: ['a'.repeat(1025)] }, { path: '/spec/config/audiences/0', message: 'must NOT have more than 1024 characters' }],
    ['jwt-validation', { jwksUrl: 'https://idp.test/jwks', forwardToken: 'yes' }, { path: '/spec/config/forwardToken', message: 'must be boolean' }],
    ['api-key', { queryParameter: 'k'.repeat(129) }, { path: '/spec/config/queryParameter', message: 'must NOT have more than 128 characters' }],
    ['api-key', { queryParameter: 'api key' }, { path: '/spec/config/queryParameter', message: 'must be visible ASCII without spaces (U+0021 to U+007E)' }],
    ['rate-limit', { limits: [{ requests: 2_000_000_000, period: 'second' }] }, { path: '/spec/config/limits/0/requests', message: 'must be <= 1000000000' }],
  ];
  for (const [type, config, error] of cases) {
    test(`${type} ${error.path}: ${error.message}`, () => assert.deepEqual(validatePolicyConfig(type, config), [error]));
  }

  test('forwardToken is a documented boolean', () => {
    assert.deepEqual(validatePolicyConfig('jwt-validation', { jwksUrl: 'https://idp.test/jwks', forwardToken: true }), []);
  });
});

// Every character a header could carry: the whole BMP and astral planes, biased toward ASCII and its edges.
const anyChar = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0x00, max: 0x7f }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x100, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff) },
).map((c) => String.fromCodePoint(c));
const anyString = (maxLength: number) => fc.array(anyChar, { maxLength }).map((a) => a.join(''));
const isToken = (s: string) => /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(s);
const badValueChar = fc
  .oneof(fc.integer({ min: 0x00, max: 0x08 }), fc.integer({ min: 0x0a, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0xffff }).filter((c) => c < 0xd800 || c > 0xdfff))
  .map((c) => String.fromCharCode(c));
const randomCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

describe('header rules over the whole character range (fast-check)', () => {
  test('every name and value the schema admits, Node accepts: no admitted header can make writeHead throw', () => {
    fc.assert(
      fc.property(fc.oneof(anyString(12), fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)), fc.oneof(anyString(24), fc.stringMatching(/^[\t\x20-\x7e]{0,24}$/)), fc.constantFrom('request', 'response'), (name, value, side) => {
        if (setOn(side as 'request', name, value).length > 0) return;
        validateHeaderName(name);
        validateHeaderValue(name, value);
      }),
      { numRuns: 3000 },
    );
  });

  test('a name is admitted exactly when it is a token, not reserved and at most 256 characters', () => {
    fc.assert(
      fc.property(fc.oneof(anyString(12), fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)), (name) => {
        const admitted = removeOn('response', name).length === 0;
        assert.equal(admitted, isToken(name) && !isReservedHeader(name) && name.length <= 256, JSON.stringify(name));
      }),
      { numRuns: 3000 },
    );
  });

  test('a value with a control character, DEL or anything above U+007E is refused, wherever it sits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\t\x20-\x7e]{0,20}$/), badValueChar, fc.stringMatching(/^[\t\x20-\x7e]{0,20}$/), (before, bad, after) => {
        const errors = setOn('response', 'x-v', before + bad + after);
        assert.equal(errors.length, 1);
        assert.match(errors[0]!.message, /^header "x-v" has U\+[0-9A-F]{4} at position \d+ of its value: use visible ASCII, space and tab only$/);
      }),
      { numRuns: 2000 },
    );
  });

  test('reserved names are refused in any letter case, on both sides, set or removed', () => {
    const reserved = fc.oneof(
      fc.constantFrom(...RESERVED_HEADERS),
      fc.tuple(fc.constantFrom(...RESERVED_HEADER_PREFIXES), fc.stringMatching(/^[a-z0-9-]{0,16}$/)).map(([p, s]) => p + s),
    );
    fc.assert(
      fc.property(reserved.chain(randomCase), fc.constantFrom('request', 'response'), fc.boolean(), (name, side, set) => {
        const errors = set ? setOn(side as 'request', name, 'v') : removeOn(side as 'request', name);
        assert.equal(errors.length, 1, name);
        assert.match(errors[0]!.message, new RegExp(`^header ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is reserved: `));
      }),
      { numRuns: 1000 },
    );
  });
});
