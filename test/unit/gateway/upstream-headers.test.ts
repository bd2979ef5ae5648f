// What reaches the upstream (issue 13, attack 4 and the consumed credentials):
// the gateway's identity and forwarding headers are written after every
// policy op, so even a hand-built op (bypassing the schema) cannot forge
// them; the API key is never forwarded, in any spelling it was sent.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { CredentialIndex } from '../../../gateway/compiled.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { compileApiKey, queryParam } from '../../../gateway/policies/api-key.ts';
import { queryPair } from '../../../gateway/query.ts';
import { compileHeaderInjection } from '../../../gateway/policies/header-injection.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import { newContext, type PolicyContext } from '../../../gateway/policies/types.ts';
import { upstreamPath, upstreamRequestHeaders } from '../../../gateway/proxy.ts';

function ctx(headers: IncomingHttpHeaders, query = ''): PolicyContext {
  return newContext({ method: 'GET', headers, path: '/a', query, remoteAddress: '198.51.100.4', now: Date.now(), routeId: 'ns/r', credentials: CredentialIndex.empty() });
}

const req = (headers: IncomingHttpHeaders) => ({ headers }) as unknown as IncomingMessage;

describe('headers sent upstream', () => {
  test('forwarding headers a client sends are dropped unless its peer is a trusted proxy', () => {
    const sent = { host: 'api.example.com', forwarded: 'for=10.0.0.1;proto=https', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.com', 'x-forwarded-prefix': '/admin', 'x-forwarded-port': '443' };
    const h = upstreamRequestHeaders(req(sent), ctx(sent), false);
    assert.equal(h['forwarded'], undefined);
    assert.equal(h['x-forwarded-prefix'], undefined);
    assert.equal(h['x-forwarded-port'], undefined);
    assert.equal(h['x-forwarded-proto'], 'http', 'the gateway speaks plain http to its clients');
    assert.equal(h['x-forwarded-host'], 'api.example.com', 'the Host the client reached, not the one it claims');
    assert.equal(h['x-forwarded-for'], '198.51.100.4');
    const behindProxy = newContext({ method: 'GET', headers: sent, path: '/a', query: '', remoteAddress: '10.0.0.2', now: Date.now(), routeId: 'ns/r', credentials: CredentialIndex.empty(), peerTrusted: true });
    const t = upstreamRequestHeaders(req(sent), behindProxy, false);
    assert.equal(t['forwarded'], 'for=10.0.0.1;proto=https');
    assert.equal(t['x-forwarded-prefix'], '/admin');
    assert.equal(t['x-forwarded-proto'], 'https');
    assert.equal(t['x-forwarded-host'], 'evil.example.com');
  });

  test("policy request ops cannot overwrite the gateway's identity or forwarding headers, even built by hand", () => {
    const c = ctx({ host: 'api.example.com' });
    c.client = 'consumer/app';
    // What a schema-bypassing op would try: forge the identity, erase the client's address.
    c.requestOps = [
      {
        set: [
          ['x-crossgate-client', 'victim/app'],
          ['x-forwarded-for', '10.0.0.1'],
          ['x-forwarded-host', 'evil.example.com'],
          ['x-env', 'prod'],
        ],
        remove: [],
      },
      { set: [], remove: ['x-forwarded-proto'] },
    ];
    const h = upstreamRequestHeaders(req({ host: 'api.example.com' }), c, false);
    assert.equal(h['x-crossgate-client'], 'consumer/app');
    assert.equal(h['x-forwarded-for'], '198.51.100.4');
    assert.equal(h['x-forwarded-host'], 'api.example.com');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-env'], 'prod', 'ordinary ops still apply');
  });

  test('compiled header-injection drops reserved names in any letter case', async () => {
    const p = compileHeaderInjection('ns/h', { request: { set: { 'X-CrossGate-Client': 'victim/app', Forwarded: 'for=1.2.3.4', 'x-ok': '1' }, remove: ['X-Forwarded-For', 'Connection'] } });
    const c = ctx({});
    await p.onRequest(c);
    assert.deepEqual(c.requestOps, [{ set: [['x-ok', '1']], remove: [] }]);
  });

  test('the API key is consumed: its header (repeated too) and its query parameter (plain, encoded, repeated) never go upstream', async () => {
    const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger: pino({ level: 'silent' }) };
    const p = compileApiKey('ns/key', { header: 'X-Key', queryParameter: 'apikey' }, new Map(), deps);
    const query = 'apikey=k1&z=1&api%6Bey=k2&apikey=k3&apikey&x=apikey';
    const c = ctx({ 'x-key': 'secret-1', accept: '*/*' }, query);
    await p.onRequest(c); // refused (no such key): the strip lists are set whatever the verdict
    const h = upstreamRequestHeaders(req({ 'x-key': ['secret-1', 'secret-2'] as unknown as string, accept: '*/*' }), c, false);
    assert.equal(h['x-key'], undefined);
    assert.equal(h.accept, '*/*');
    assert.equal(upstreamPath('/v1', '/a', query, c.stripQuery), '/v1/a?z=1&x=apikey');
    const noQuery = ctx({ 'x-key': 'k' });
    await compileApiKey('ns/key', {}, new Map(), deps).onRequest(noQuery);
    assert.deepEqual(noQuery.stripHeaders, ['x-api-key'], 'the default header is consumed too');
  });

  test('property: whatever the query, a pair the api-key policy could read as its parameter never reaches the upstream', () => {
    const piece = fc.constantFrom('apikey', 'api%6Bey', 'api+key', 'api key', '%61pikey', 'x', '=', '&', '%', '%ZZ', '+', 'k1', '%26', '%3D', '');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((a) => a.join('')), fc.constantFrom('apikey', 'api key'), (query, name) => {
        const forwarded = upstreamPath('', '/a', query, [name]).split('?')[1] ?? '';
        for (const pair of forwarded ? forwarded.split('&') : []) assert.notEqual(queryPair(pair).name, name, `${query} → ${forwarded}`);
        if (queryParam(query, name) !== undefined) assert.ok(query.split('&').some((pair) => queryPair(pair).name === name));
      }),
      { numRuns: 2000 },
    );
  });
});
