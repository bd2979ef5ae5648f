// Never log a raw key or an Authorization header: drive valid, invalid,
// query-string and bearer credentials through a gateway logging at trace
// level and search every line for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createAccessLogger, createGatewayLogger } from '../../../gateway/logger.ts';
import { ConfigDir, cred, gold, newKey, policy, route, startDirGateway, startUpstream, waitForGeneration } from './fixtures.ts';

test('raw keys, bearer tokens and key hashes never appear in the logs, even at trace level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createGatewayLogger({ level: 'trace', destination: sink });
  const up = await startUpstream();
  const cfg = await ConfigDir.create();
  const good = newKey();
  const expired = newKey();
  const unknown = newKey();
  const bearer = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.c2lnbmF0dXJlLXNlY3JldA';
  cfg.routes = [
    route('ns/keyed', { upstream: { url: up.url }, tiers: [gold], policies: [policy('api-key', { queryParameter: 'apikey' })] }),
    route('ns/jwt', { upstream: { url: up.url }, policies: [policy('jwt-validation', { jwksUrl: 'http://127.0.0.1:9/jwks' })] }),
  ];
  cfg.credentials = {
    [good.hash]: cred('ns/keyed'),
    [expired.hash]: cred('ns/keyed', { notAfter: '2020-01-01T00:00:00Z' }),
  };
  await cfg.write();
  const gw = await startDirGateway(cfg, { logger, accessLog: true, accessLogger: createAccessLogger({ destination: sink }), loopbackUpstreams: [up.hostPort, '127.0.0.1:9'] });
  try {
    await waitForGeneration(gw, 1);
    const statuses: number[] = [];
    for (const [path, headers] of [
      ['/keyed/a', { 'x-api-key': good.key, authorization: `Bearer ${bearer}`, cookie: 'session=cookie-secret' }],
      ['/keyed/a', { 'x-api-key': expired.key }],
      ['/keyed/a', { 'x-api-key': unknown.key }],
      [`/keyed/a?apikey=${good.key}`, {}],
      [`/keyed/a?apikey=${unknown.key}`, {}],
      ['/jwt/a', { authorization: `Bearer ${bearer}` }],
    ] as const) {
      const r = await fetch(gw.url + path, { headers: headers as Record<string, string> });
      await r.arrayBuffer();
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [200, 401, 401, 200, 401, 503]);
    // A logger call that carries headers by mistake is censored too.
    logger.info({ req: { headers: { 'x-api-key': good.key, authorization: `Bearer ${bearer}` } }, query: `apikey=${good.key}` }, 'careless');
    await new Promise((r) => setTimeout(r, 50));
    const text = lines.join('\n');
    assert.ok(lines.some((l) => l.includes('"msg":"request"')), 'access log lines were written');
    assert.ok(lines.some((l) => l.includes('"msg":"api key refused"')), 'refusals logged at debug');
    assert.ok(lines.some((l) => l.includes('"msg":"careless"')));
    for (const secret of [good.key, expired.key, unknown.key, bearer, 'cookie-secret', good.hash, expired.hash, unknown.hash]) {
      assert.ok(!text.includes(secret), `found a secret in the logs: ${secret.slice(0, 8)}…`);
    }
    assert.ok(!/cgk_/.test(text), 'no key prefix anywhere');
    assert.ok(text.includes(expired.hash.slice(0, 12)), 'refused keys are identified by their key id');
  } finally {
    await gw.stop(500);
    await up.close();
    await cfg.remove();
  }
});
