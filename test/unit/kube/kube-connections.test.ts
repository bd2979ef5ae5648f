// shareConnections: every request of every client of one KubeConfig uses one
// connection pool, built once, and a reset makes the next request build a fresh one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { shareConnections } from '../../../kube/client-node.ts';

function kubeConfig(): { kc: KubeConfig; built: () => number } {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false, caData: Buffer.from('not a real CA').toString('base64') }],
    users: [{ name: 'u', token: 'a-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  let n = 0;
  const k = kc as unknown as { createDispatcher: (...a: unknown[]) => unknown };
  const original = k.createDispatcher.bind(kc);
  k.createDispatcher = (...a: unknown[]) => (n++, original(...a));
  return { kc, built: () => n };
}

test('one pool for every request; no Agent is built only to be closed; credentials still applied per request', async () => {
  const { kc, built } = kubeConfig();
  shareConnections(kc);
  const contexts = [0, 1, 2].map(() => new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', 'GET' as never));
  for (const ctx of contexts) await kc.applySecurityAuthentication(ctx);
  const first = contexts[0]!.getDispatcher();
  assert.ok(first, 'a dispatcher is set');
  for (const ctx of contexts) {
    assert.equal(ctx.getDispatcher(), first, 'the same pool');
    assert.equal(ctx.getHeaders()['Authorization'], 'Bearer a-token');
  }
  assert.equal(built(), 1, 'one Agent built for three requests');
  await (first as { close(): Promise<void> }).close();
});

test('a reset (silent watch) makes the next request build a fresh pool', async () => {
  const { kc, built } = kubeConfig();
  shareConnections(kc);
  const a = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
  await kc.applySecurityAuthentication(a);
  const reset = Object.getOwnPropertySymbols(kc).map((s) => (kc as unknown as Record<symbol, unknown>)[s]).find((v) => typeof v === 'function') as () => void;
  reset();
  const b = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
  await kc.applySecurityAuthentication(b);
  assert.notEqual(b.getDispatcher(), a.getDispatcher());
  assert.equal(built(), 2);
  await (b.getDispatcher() as { close(): Promise<void> }).close();
});
