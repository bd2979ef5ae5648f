// The attacker is an organization admin whose route forwards to a path of an upstream that never answers, on an
// origin another organization's route also uses (an allowed external host both may reach): its own clients fill the
// connections to that origin. The other organization's route must still be answered at once: pools are per
// namespace and origin (compiled.ts upstreamPoolKey), never shared between organizations.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { ConfigDir, route, startDirGateway, startUpstream, waitForGeneration, type Upstream } from './fixtures.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';
import { poolScope, upstreamPoolKey } from '../../../gateway/compiled.ts';

describe('upstream pools: one organization cannot hold another organization\'s upstream connections', () => {
  let cfg: ConfigDir;
  let gw: RunningGateway;
  let up: Upstream;
  const hung: ServerResponse[] = [];
  let released = false;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url?.startsWith('/hang') && !released) return void hung.push(res); // never answers
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    cfg = await ConfigDir.create();
    gw = await startDirGateway(cfg, { loopbackUpstreams: [up.hostPort], upstreamConnections: 2 });
    cfg.routes = [
      route('attacker/hang', { basePath: '/hang', upstream: { url: `${up.url}/hang`, timeoutMs: 30_000 } }),
      route('victim/api', { basePath: '/api', upstream: { url: up.url } }),
    ];
    await cfg.write();
    await waitForGeneration(gw, 1);
  });

  after(async () => {
    for (const res of hung) res.destroy();
    await gw?.stop(500);
    await up?.close();
    await cfg?.remove();
  });

  test('pool keys: same namespace shares, another namespace does not', () => {
    assert.equal(upstreamPoolKey('a/x', 'http://h:80'), upstreamPoolKey('a/y', 'http://h:80'));
    assert.notEqual(upstreamPoolKey('a/x', 'http://h:80'), upstreamPoolKey('b/x', 'http://h:80'));
    assert.notEqual(upstreamPoolKey('a/x', 'http://h:80'), upstreamPoolKey('a/x', 'http://h:81'));
    // The scope of the pool's name lookups (connect-guard.ts) is its namespace.
    assert.equal(poolScope(upstreamPoolKey('a/x', 'http://h:80')), 'a/');
  });

  test('the attacker fills every connection of its pool with hung requests; the victim is answered at once', async () => {
    const attacks = Array.from({ length: 6 }, () => fetch(`${gw.url}/hang/x`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined));
    // Both of the attacker's connections are held by the upstream; the other four wait in its pool's queue.
    const start = Date.now();
    while (hung.length < 2) {
      if (Date.now() - start > 5000) assert.fail(`the upstream saw ${hung.length} hung requests`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await fetch(`${gw.url}/api/x`, { signal: AbortSignal.timeout(2000) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    released = true;
    for (const r of hung) r.destroy();
    await Promise.all(attacks);
  });
});
