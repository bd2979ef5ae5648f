// GatewayStats.read (operator/controllers/gateway-stats.ts): Alert periods the
// gateway answers alike share one read of every replica, so a tenant's Alerts
// with every period from 10 to 300 s cannot multiply the reads of the shared
// gateway's admin port (security-model row 39).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { GatewayStats } from '../../../operator/controllers/gateway-stats.ts';
import { RecentWindow } from '../../../gateway/metrics.ts';
import { recentWindowKey } from '../../../api/analytics.ts';

describe('GatewayStats: one read per window the gateway distinguishes', () => {
  let server: Server;
  let url: string;
  const asked: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apis: { 'max-prod/flights': { requests: 1 } } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  test('Alerts of every period from 10 to 300 s make 30 reads of a replica, not 291', async () => {
    const stats = new GatewayStats([url], 60_000, async (h) => [h]);
    for (let p = 10; p <= 300; p++) assert.equal((await stats.read(p)).get('max-prod/flights')?.requests, 1);
    assert.equal(asked.length, 30);
    assert.deepEqual(asked.slice(0, 3), ['/summary?windowSeconds=10', '/summary?windowSeconds=20', '/summary?windowSeconds=30']);
  });

  test('property: the gateway answers the snapped window exactly as the one asked for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 400_000 }), fc.integer({ min: 100, max: 599 })), { maxLength: 40 }), (w, hits) => {
        const win = new RecentWindow();
        const now = 1_000_000_000;
        for (const [ago, status] of hits) win.record('ns/api', status, 0.01, now - ago);
        assert.deepEqual(win.summary(now, recentWindowKey(w)), win.summary(now, w));
      }),
    );
  });
});
