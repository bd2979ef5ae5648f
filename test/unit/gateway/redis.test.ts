// The shared counter store against a real redis-server (Debian's package)
// started on 127.0.0.1 by the test. Skipped, with the reason, when
// redis-server is not installed: it is optional for CI (see docs/gateway.md).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { RedisCounterStore } from '../../../gateway/counters/redis.ts';
import { ConfigDir, cred, newKey, policy, route, startDirGateway, startUpstream, waitForGeneration } from './fixtures.ts';

function which(cmd: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const REDIS = which('redis-server');
const skip = REDIS ? false : 'redis-server is not installed (apt-get install redis-server); the shared store is optional';

describe('RedisCounterStore', { skip }, () => {
  let proc: ChildProcess | undefined;
  let url = '';
  let port = 0;

  async function startRedis(): Promise<void> {
    proc = spawn(REDIS!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000);
      proc!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve();
        }
      });
      proc!.once('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
    });
  }

  async function stopRedis(): Promise<void> {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    proc = undefined;
  }

  before(async () => {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    await startRedis();
  });

  after(stopRedis);

  test('two replicas count against one number, all-or-nothing across windows', async () => {
    const prefix = `t${Date.now()}:`;
    const a = new RedisCounterStore({ url, prefix });
    const b = new RedisCounterStore({ url, prefix });
    try {
      await Promise.all([a.ready(), b.ready()]);
      const windows = [
        { name: 'm', limit: 5, windowMs: 60_000 },
        { name: 'h', limit: 100, windowMs: 3_600_000 },
      ];
      const now = Date.now();
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await (i % 2 ? b : a).consume('contract-1', windows, now));
      assert.deepEqual(results.map((r) => r.allowed), [true, true, true, true, true, false]);
      const last = results[5]!;
      assert.deepEqual(last.windows.map((w) => [w.name, w.exceeded, w.remaining]), [
        ['m', true, 0],
        ['h', false, 95],
      ]);
      assert.ok(last.windows[0]!.resetMs > 0 && last.windows[0]!.resetMs <= 60_000);
      // The refused request did not touch the hourly window.
      const keys = await a.redis.keys(`${prefix}*`);
      assert.equal(keys.length, 2);
      assert.ok(keys.every((k) => k.includes('{contract-1}')), 'one hash tag per counter (Redis Cluster slot)');
      const hourKey = keys.find((k) => k.includes(':3600000:'))!;
      assert.equal(await a.redis.get(hourKey), '5');
      const ttl = await a.redis.pttl(hourKey);
      assert.ok(ttl > 0 && ttl <= 3_601_000, `expiry set (${ttl})`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('redis down: requests are counted locally (fallback), errors reported; back when redis returns', async () => {
    let errors = 0;
    const s = new RedisCounterStore({ url, prefix: `f${Date.now()}:`, onError: () => errors++ });
    try {
      await s.ready();
      const windows = [{ name: 'm', limit: 2, windowMs: 60_000 }];
      assert.equal((await s.consume('k', windows, Date.now())).allowed, true);
      await stopRedis();
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      const r1 = await s.consume('k', windows, Date.now());
      assert.ok(Date.now() - t0 < 1000, 'fails fast while disconnected');
      assert.equal(r1.allowed, true, 'local fallback starts from zero');
      assert.equal((await s.consume('k', windows, Date.now())).allowed, true);
      assert.equal((await s.consume('k', windows, Date.now())).allowed, false, 'and still enforces the limit per replica');
      assert.ok(errors >= 3);
      await startRedis();
      await s.ready(10_000);
      // A fresh redis-server (no persistence): counting starts over there.
      const before = errors;
      assert.equal((await s.consume('k', windows, Date.now())).allowed, true);
      assert.equal((await s.consume('k', windows, Date.now())).allowed, true);
      assert.equal((await s.consume('k', windows, Date.now())).allowed, false);
      assert.equal(errors, before, 'answered by redis again');
      assert.equal(await s.redis.get((await s.redis.keys('f*'))[0]!), '2');
    } finally {
      await s.close();
    }
  });

  test('two gateways with GATEWAY_REDIS_URL share a tier: the fifth request across both → 429', async () => {
    const up = await startUpstream();
    const cfg = await ConfigDir.create(`redis-${Date.now()}`);
    const k = newKey();
    cfg.routes = [route('ns/flights', { upstream: { url: up.url }, tiers: [{ name: 'bronze', limits: [{ requests: 4, periodSeconds: 86_400 }] }], policies: [policy('api-key')] })];
    cfg.credentials = { [k.hash]: cred('ns/flights', { tier: 'bronze' }) };
    await cfg.write();
    const g1 = await startDirGateway(cfg, { redisUrl: url, loopbackUpstreams: [up.hostPort] });
    const g2 = await startDirGateway(cfg, { redisUrl: url, loopbackUpstreams: [up.hostPort] });
    try {
      await waitForGeneration(g1, 1);
      await waitForGeneration(g2, 1);
      assert.equal(g1.counters.kind, 'redis');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${(i % 2 ? g2 : g1).url}/flights/x`, { headers: { 'x-api-key': k.key } });
        await r.arrayBuffer();
        statuses.push(r.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    } finally {
      await g1.stop(500);
      await g2.stop(500);
      await up.close();
      await cfg.remove();
    }
  });
});
