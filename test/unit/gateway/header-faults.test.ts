// One request's bad header never takes the gateway down (issue 13, attack 5):
// routes compiled by hand with header operations the schema would refuse
// (bypassing it, as a stale or skipped webhook could), and a raw upstream
// that answers with a header Node will not parse. Each such request gets a
// 502 problem and an error line; the process and the other routes keep serving.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CredentialIndex, Router, type CompiledConfig, type CompiledRoute } from '../../../gateway/compiled.ts';
import { MemoryCounterStore } from '../../../gateway/counters/memory.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { compileRoutes } from '../../../gateway/policies/index.ts';
import { JwksCache } from '../../../gateway/policies/jwt-validation.ts';
import type { PolicyHandler } from '../../../gateway/policies/types.ts';
import { Upstreams } from '../../../gateway/proxy.ts';
import { startGatewayServer, type GatewayServer } from '../../../gateway/server.ts';
import { route, startUpstream, type Upstream } from './fixtures.ts';

/** A policy handler the schema could never produce: it records raw header operations. */
function rawOps(name: string, side: 'request' | 'response', set: Array<[string, string]>): PolicyHandler {
  return {
    type: 'header-injection',
    name,
    preflight: false,
    onRequest(ctx) {
      const ops = { set, remove: [] };
      if (side === 'request') (ctx.requestOps ??= []).push(ops);
      else (ctx.responseOps ??= []).push(ops);
      return undefined;
    },
  };
}

describe('gateway: header faults answer 502 for that request only', () => {
  let up: Upstream;
  let raw: TcpServer;
  let gw: GatewayServer;
  let upstreams: Upstreams;
  const lines: Array<{ msg: string; route?: string; kind?: string }> = [];

  before(async () => {
    up = await startUpstream();
    // Answers every request with a header value carrying a control character (U+0001).
    raw = createTcpServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(Buffer.from('HTTP/1.1 200 OK\r\nx-bad: a\x01b\r\ncontent-length: 2\r\n\r\nok', 'latin1')));
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', () => r()));
    const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as { msg: string });
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const deps = { counters: new MemoryCounterStore({ sweepMs: 0 }), jwks: new JwksCache(), logger };
    const compiled = compileRoutes(
      {
        checksum: 'test',
        routes: [
          route('ns/ok', { upstream: { url: up.url } }),
          route('ns/crlf-response', { upstream: { url: up.url } }),
          route('ns/latin-response', { upstream: { url: up.url } }),
          route('ns/crlf-request-name', { upstream: { url: up.url } }),
          route('ns/ctl-request-value', { upstream: { url: up.url } }),
          route('ns/bad-refusal', { upstream: { url: up.url } }),
          route('ns/raw', { upstream: { url: rawUrl } }),
        ],
      } as Parameters<typeof compileRoutes>[0],
      deps,
    );
    const handBuilt: Record<string, PolicyHandler[]> = {
      'ns/crlf-response': [rawOps('ns/h', 'response', [['x-split', 'a\r\nset-cookie: session=stolen']])],
      'ns/latin-response': [rawOps('ns/h', 'response', [['x-wide', 'caf\u0100']])],
      'ns/crlf-request-name': [rawOps('ns/h', 'request', [['x-a\r\nx-crossgate-client', 'forged']])],
      'ns/ctl-request-value': [rawOps('ns/h', 'request', [['x-a', 'a\x00b']])],
      'ns/bad-refusal': [
        {
          type: 'cors',
          name: 'ns/c',
          preflight: false,
          onRequest(ctx) {
            // A CORS header Node refuses, then a refusal that carries it.
            ctx.corsHeaders = { 'access-control-allow-origin': 'https://a.test\nx: y' };
            return { status: 401, slug: 'missing-api-key', title: 'Unauthorized', detail: 'key', policy: 'api-key' };
          },
        },
      ],
    };
    const routes: CompiledRoute[] = compiled.routes.map((r) => (handBuilt[r.id] ? { ...r, policies: handBuilt[r.id]! } : r));
    const config: CompiledConfig = {
      gateway: 'test-gw',
      generation: 1,
      parts: new Map(),
      routes: { checksum: 'test', routes, byId: new Map(routes.map((r) => [r.id, r])), router: new Router(routes) },
      credentials: CredentialIndex.empty(),
      loadedAt: Date.now(),
    };
    upstreams = new Upstreams();
    gw = await startGatewayServer({ config: { current: config }, upstreams, metrics: new GatewayMetrics({ defaultMetrics: false }), logger, host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await gw?.close(100);
    await upstreams?.close();
    await up?.close();
    await new Promise<void>((r) => (raw ? raw.close(() => r()) : r()));
  });

  const get = async (path: string) => {
    const r = await fetch(`${gw.url}${path}`);
    return { status: r.status, type: r.headers.get('content-type'), body: (await r.json()) as { type: string; status: number; detail: string }, headers: r.headers };
  };

  test('a response header op with CR/LF or a character above U+00FF: 502 invalid-header, nothing injected', async () => {
    for (const path of ['/crlf-response', '/latin-response']) {
      const r = await get(path);
      assert.equal(r.status, 502, path);
      assert.equal(r.type, 'application/problem+json');
      assert.equal(r.body.type, 'https://crossgate.dev/problems/invalid-header');
      assert.equal(r.body.detail, 'A header of this exchange is not valid HTTP (set by a policy of this API or by its upstream); the gateway did not send it.');
      assert.equal(r.headers.get('set-cookie'), null);
    }
    assert.ok(lines.some((l) => l.msg === 'upstream failed' && l.route === 'ns/crlf-response' && l.kind === 'header'), 'an error line names the route');
  });

  test('a request header op undici refuses (CR/LF in a name, NUL in a value): 502 invalid-header, the upstream never sees it', async () => {
    const before = up.received.length;
    for (const path of ['/crlf-request-name', '/ctl-request-value']) {
      const r = await get(path);
      assert.equal(r.status, 502, path);
      assert.equal(r.body.type, 'https://crossgate.dev/problems/invalid-header');
    }
    assert.equal(up.received.length, before);
  });

  test('a refusal whose CORS header cannot be written: 502 invalid-header without it', async () => {
    const r = await get('/bad-refusal');
    assert.equal(r.status, 502);
    assert.equal(r.body.type, 'https://crossgate.dev/problems/invalid-header');
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.ok(lines.some((l) => l.msg === 'header could not be sent; answered 502' && l.route === 'ns/bad-refusal'));
  });

  test('an upstream answering with a control character in a header: 502 upstream-invalid-response', async () => {
    const r = await get('/raw');
    assert.equal(r.status, 502);
    assert.equal(r.body.type, 'https://crossgate.dev/problems/upstream-invalid-response');
    assert.equal(r.body.detail, "The upstream's response is not valid HTTP.");
    assert.ok(lines.some((l) => l.msg === 'upstream failed' && l.route === 'ns/raw' && l.kind === 'protocol'));
  });

  test('after all of them the process still serves the other routes', async () => {
    await Promise.all(['/crlf-response', '/crlf-request-name', '/raw', '/bad-refusal'].map((p) => get(p)));
    const r = await fetch(`${gw.url}/ok/x`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { url: string }).url, '/x');
  });
});
