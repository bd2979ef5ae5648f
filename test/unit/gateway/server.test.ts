// The gateway at its HTTP boundary, in process on 127.0.0.1: readiness,
// routing refusals, forwarding (path, query, forwarded headers, hop-by-hop
// stripping, streaming both ways), upstream failures as problems, CORS in
// front of authentication, atomic swap with in-flight requests, metrics.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { ConfigDir, cred, gold, newKey, policy, route, startDirGateway, startUpstream, waitForGeneration, type Upstream } from './fixtures.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: () => Record<string, unknown>;
}

function http(base: string, path: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Readable } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    // The path goes out as written (URL parsing would resolve %2e%2e).
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

describe('gateway server', () => {
  let cfg: ConfigDir;
  let gw: RunningGateway;
  let up: Upstream;
  let big: Upstream;
  const k = newKey();

  before(async () => {
    up = await startUpstream();
    // Streams 4 MiB back in 64 KiB chunks.
    big = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let n = 0;
      const chunk = Buffer.alloc(65536, 'x');
      const pump = () => {
        while (n < 64) {
          n++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    cfg = await ConfigDir.create();
    // 127.0.0.1:9 (discard, nothing listens) is allowed so that a refused connection is still tested as one.
    gw = await startDirGateway(cfg, { loopbackUpstreams: [up.hostPort, big.hostPort, '127.0.0.1:9'] });
  });

  after(async () => {
    await gw?.stop(1000);
    await up?.close();
    await big?.close();
    await cfg?.remove();
  });

  test('before any config: 503 problem on the data port, /readyz 503', async () => {
    const r = await http(gw.url, '/anything');
    assert.equal(r.status, 503);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.deepEqual(r.json(), { type: 'https://crossgate.dev/problems/not-ready', title: 'Service Unavailable', status: 503, detail: 'The gateway has not loaded a configuration yet.' });
    assert.equal((await http(gw.adminUrl, '/readyz')).status, 503);
    assert.equal((await http(gw.adminUrl, '/healthz')).status, 200);
  });

  test('config written → ready; routing refusals are problems', async () => {
    cfg.routes = [
      route('ns/open', { basePath: '/open', upstream: { url: `${up.url}/v1` }, policies: [policy('header-injection', { request: { set: { 'X-Env': 'test' }, remove: ['X-Remove-Me'] }, response: { set: { 'X-Frame-Options': 'DENY' }, remove: ['X-Upstream'] } })] }),
      route('ns/keyed', {
        basePath: '/keyed',
        upstream: { url: up.url },
        tiers: [gold],
        policies: [
          policy('cors', { allowOrigins: ['https://app.example.com'], allowMethods: ['GET', 'POST'], allowHeaders: ['x-api-key'] }),
          policy('api-key', { queryParameter: 'apikey' }),
        ],
      }),
      route('ns/big', { basePath: '/big', upstream: { url: big.url } }),
      route('ns/slow', { basePath: '/slow', upstream: { url: up.url, timeoutMs: 200 } }),
      route('ns/down', { basePath: '/down', upstream: { url: 'http://127.0.0.1:9' } }),
    ];
    cfg.credentials = { [k.hash]: cred('ns/keyed', { client: 'consumer/app' }) };
    await cfg.write();
    await waitForGeneration(gw, 1);
    assert.equal((await http(gw.adminUrl, '/readyz')).status, 200);
    const nf = await http(gw.url, '/nowhere');
    assert.equal(nf.status, 404);
    assert.equal(nf.json().type, 'https://crossgate.dev/problems/not-found');
    const dots = await http(gw.url, '/open/%2e%2e/keyed');
    assert.equal(dots.status, 400);
    assert.equal(dots.json().type, 'https://crossgate.dev/problems/bad-path');
  });

  test('x-forwarded-for: the incoming chain is kept upstream only when the peer is a trusted proxy', async () => {
    const behindProxy = await startDirGateway(cfg, { trustedProxies: ['127.0.0.1'], loopbackUpstreams: [up.hostPort] });
    try {
      await waitForGeneration(behindProxy, 1);
      const r = await http(behindProxy.url, '/open/x', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      assert.equal(r.status, 200);
      assert.equal((r.json() as { headers: Record<string, string> }).headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    } finally {
      await behindProxy.stop(0);
    }
  });

  test('forwarding: path and query mapped, forwarded headers added, hop-by-hop and spoofed headers stripped, injection applied', async () => {
    const r = await http(gw.url, '/open/flights/42?a=1&b=2', {
      headers: {
        host: 'api.example.com',
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret-hop',
        te: 'trailers',
        'x-forwarded-for': '203.0.113.7',
        'x-crossgate-client': 'spoofed/client',
        'x-remove-me': '1',
        'x-keep': 'kept',
      },
    });
    assert.equal(r.status, 200);
    const seen = r.json() as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/v1/flights/42?a=1&b=2');
    // Issue 13 changed this: the client's own x-forwarded-for is dropped (no trusted proxy), only its peer address is sent.
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'api.example.com');
    assert.equal(seen.headers.host, `127.0.0.1:${up.port}`, 'Host is the upstream');
    assert.equal(seen.headers['x-hop'], undefined, 'listed in Connection: hop-by-hop');
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers['x-crossgate-client'], undefined, 'only the gateway sets x-crossgate-*');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(seen.headers['x-env'], 'test');
    assert.equal(seen.headers['x-keep'], 'kept');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-upstream'], undefined, 'response header removed');
    assert.notEqual(r.headers['keep-alive'], 'timeout=5', "the upstream's Keep-Alive is not passed on");
  });

  test('API key: missing → 401 problem; valid → upstream sees the client id, never the key (header or query)', async () => {
    const missing = await http(gw.url, '/keyed/x');
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['content-type'], 'application/problem+json');
    assert.equal(missing.json().title, 'Unauthorized');
    const viaHeader = await http(gw.url, '/keyed/x', { headers: { 'x-api-key': k.key } });
    assert.equal(viaHeader.status, 200);
    const h = viaHeader.json() as { headers: Record<string, string> };
    assert.equal(h.headers['x-api-key'], undefined);
    assert.equal(h.headers['x-crossgate-client'], 'consumer/app');
    assert.match(String(viaHeader.headers['ratelimit-policy']), /^"gold-60s";q=1000;w=60$/);
    const viaQuery = await http(gw.url, `/keyed/x?apikey=${encodeURIComponent(k.key)}&z=1`);
    assert.equal(viaQuery.status, 200);
    assert.equal((viaQuery.json() as { url: string }).url, '/x?z=1');
    for (const rec of up.received) assert.ok(!JSON.stringify(rec).includes(k.key), 'the raw key never reaches the upstream');
  });

  test('CORS in front of authentication: preflight answered without a key; refusals readable by the browser', async () => {
    const pre = await http(gw.url, '/keyed/x', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-api-key');
    const bad = await http(gw.url, '/keyed/x', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
    assert.equal(bad.status, 403);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
    assert.equal(bad.json().type, 'https://crossgate.dev/problems/cors-preflight-refused');
    const unauth = await http(gw.url, '/keyed/x', { headers: { origin: 'https://app.example.com' } });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers['access-control-allow-origin'], 'https://app.example.com');
    const ok = await http(gw.url, '/keyed/x', { headers: { origin: 'https://app.example.com', 'x-api-key': k.key } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(ok.headers.vary, 'Origin');
    const other = await http(gw.url, '/keyed/x', { headers: { origin: 'https://evil.example.com', 'x-api-key': k.key } });
    assert.equal(other.status, 200, 'a disallowed origin is not blocked, it just gets no CORS headers');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  test('bodies stream both ways: 8 MiB chunked upload, 4 MiB download', async () => {
    let sent = 0;
    const upload = new Readable({
      read() {
        if (sent >= 128) return void this.push(null);
        sent++;
        this.push(Buffer.alloc(65536, 'y'));
      },
    });
    const r = await http(gw.url, '/open/upload', { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: upload });
    assert.equal(r.status, 200);
    const rec = up.received.at(-1)!;
    assert.equal(rec.body.length, 128 * 65536);
    assert.equal(rec.headers['transfer-encoding'], 'chunked');
    const down = await http(gw.url, '/big/file');
    assert.equal(down.status, 200);
    assert.equal(down.body.length, 64 * 65536);
  });

  test('upstream timeout → 504 problem; connection refused → 502 problem; both counted', async () => {
    const slow = await http(gw.url, '/slow/slow?ms=1000');
    assert.equal(slow.status, 504);
    assert.deepEqual(slow.json(), { type: 'https://crossgate.dev/problems/upstream-timeout', title: 'Gateway Timeout', status: 504, detail: 'The upstream did not answer within 200 ms.' });
    const down = await http(gw.url, '/down/x');
    assert.equal(down.status, 502);
    assert.equal(down.json().type, 'https://crossgate.dev/problems/upstream-unavailable');
    const metrics = (await http(gw.adminUrl, '/metrics')).body;
    assert.match(metrics, /crossgate_gateway_upstream_errors_total\{api="ns\/slow",kind="timeout"\} 1/);
    assert.match(metrics, /crossgate_gateway_upstream_errors_total\{api="ns\/down",kind="connect"\} 1/);
  });

  test('a config swap does not disturb an in-flight request; new requests see the new config', async () => {
    const inflight = http(gw.url, '/open/slow?ms=600');
    await new Promise((r) => setTimeout(r, 100));
    const gen = cfg.generation;
    cfg.routes = cfg.routes.filter((r) => r.id !== 'ns/open');
    await cfg.write();
    await waitForGeneration(gw, gen + 1);
    assert.equal((await http(gw.url, '/open/x')).status, 404, 'the route is gone for new requests');
    const r = await inflight;
    assert.equal(r.status, 200, 'the request that started on the old config finished on it');
    assert.equal((r.json() as { url: string }).url, '/v1/slow?ms=600');
  });

  test('metrics per API, client and status class; violations; recent summary; configz without secrets', async () => {
    const metrics = (await http(gw.adminUrl, '/metrics')).body;
    assert.match(metrics, /crossgate_gateway_requests_total\{api="ns\/keyed",client="consumer\/app",code_class="2xx"\} \d+/);
    assert.match(metrics, /crossgate_gateway_requests_total\{api="ns\/keyed",client="-",code_class="4xx"\} \d+/);
    assert.match(metrics, /crossgate_gateway_policy_violations_total\{api="ns\/keyed",policy="api-key"\} \d+/);
    assert.match(metrics, /crossgate_gateway_policy_violations_total\{api="ns\/keyed",policy="cors"\} 1/);
    assert.match(metrics, /crossgate_gateway_request_duration_seconds_bucket\{le="0.005",api="ns\/keyed"\}/);
    assert.match(metrics, /crossgate_gateway_config_generation 2/);
    assert.match(metrics, /crossgate_gateway_credentials 1/);
    const summary = (await http(gw.adminUrl, '/summary')).json() as { windowSeconds: number; apis: Record<string, { requests: number; errorPercent: number }> };
    assert.equal(summary.windowSeconds, 300);
    assert.ok(summary.apis['ns/keyed']!.requests >= 6);
    assert.ok(summary.apis['ns/keyed']!.errorPercent > 0 && summary.apis['ns/keyed']!.errorPercent < 100);
    const configz = await http(gw.adminUrl, '/configz');
    assert.equal(configz.json().generation, 2);
    assert.ok(!configz.body.includes(k.hash), 'no key hashes on the admin port');
  });
});
