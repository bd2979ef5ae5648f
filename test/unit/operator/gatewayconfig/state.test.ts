import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Credential } from '../../../../api/gateway/config.ts';
import { FULL_PASS_MS, GatewayStates, requeueAfterMs, setEntries, settleDeadlines } from '../../../../operator/controllers/gatewayconfig/state.ts';
import { recomputeKeys } from '../../../../operator/controllers/gatewayconfig/credentials.ts';
import type { ApiKey } from '../../../../api/v1alpha1/index.ts';

const KEYS: Record<string, string[]> = { 'prod/flights': ['c/k1', 'c/k2'], 'prod/hotels': ['c/k3'] };
const states = () => new GatewayStates((instance) => KEYS[instance] ?? []);
const routes = (...ids: string[]) => new Set(ids);
const cred = (notAfter?: string): Credential => ({ kind: 'api-key', client: 'c/k', grants: [{ routes: ['prod/flights'], contract: 'prod/c.k', tier: 'gold' }], ...(notAfter ? { notAfter } : {}) });
const sorted = (work: Set<string> | 'all') => (work === 'all' ? 'all' : [...work].sort());

test('a gateway is recomputed whole the first time, then only the keys events marked', () => {
  const s = states();
  s.markKey('c/k1'); // before the gateway's state exists: its first pass covers it
  assert.equal(s.take('default', routes('prod/flights'), 1000).work, 'all');
  assert.deepEqual(sorted(s.take('default', routes('prod/flights'), 1001).work), []);
  s.markKey('c/k1');
  s.markInstance('prod/hotels');
  assert.deepEqual(sorted(s.take('default', routes('prod/flights'), 1002).work), ['c/k1', 'c/k3']);
  s.markAll();
  assert.equal(s.take('default', routes('prod/flights'), 1003).work, 'all');
});

test('the keys of a route that appears or goes away are recomputed', () => {
  const s = states();
  s.take('default', routes('prod/flights'), 0);
  assert.deepEqual(sorted(s.take('default', routes('prod/flights', 'prod/hotels'), 1).work), ['c/k3']);
  assert.deepEqual(sorted(s.take('default', routes('prod/hotels'), 2).work), ['c/k1', 'c/k2']);
});

test('every key is recomputed at least every FULL_PASS_MS, and the requeue says when', () => {
  const s = states();
  const { state } = s.take('default', routes(), 5000);
  settleDeadlines(state);
  assert.equal(requeueAfterMs(state, 5000), FULL_PASS_MS);
  assert.deepEqual(sorted(s.take('default', routes(), 5000 + FULL_PASS_MS - 1).work), []);
  assert.equal(s.take('default', routes(), 5000 + FULL_PASS_MS).work, 'all');
  assert.equal(state.fullPassAt, 5000 + FULL_PASS_MS);
});

test('a key whose entry reaches its notAfter is recomputed then, and the requeue aims just past it', () => {
  const s = states();
  const { state } = s.take('default', routes('prod/flights'), 0);
  setEntries(state, 'c/k1', [['aa', cred('1970-01-01T00:00:10Z')], ['bb', cred('1970-01-01T00:00:20Z')]]);
  setEntries(state, 'c/k2', [['cc', cred()]]);
  settleDeadlines(state);
  assert.equal(state.nextDeadline, 10_000, 'the earliest notAfter of all keys');
  assert.equal(requeueAfterMs(state, 4000), 6100);
  assert.deepEqual(sorted(s.take('default', routes('prod/flights'), 9999).work), []);
  assert.deepEqual(sorted(s.take('default', routes('prod/flights'), 10_000).work), ['c/k1']);
  setEntries(state, 'c/k1', []);
  settleDeadlines(state);
  assert.equal(state.deadlines.has('c/k1'), false, 'a key without entries has no deadline');
  assert.equal(state.nextDeadline, Infinity);
});

test('the routes are rendered again only after an input of the routes changed', () => {
  const s = states();
  let renders = 0;
  const render = () => ({ ids: routes(`r${++renders}`), rendered: { shards: [], trimmed: [], omitted: [] } });
  const first = s.routes('default', render);
  assert.equal(s.routes('default', render), first);
  assert.equal(renders, 1);
  s.routesChanged();
  assert.deepEqual([...s.routes('default', render).ids], ['r2']);
  assert.deepEqual([...s.routes('other', render).ids], ['r3'], 'each gateway has its own routes');
});

test('a recompute that fails leaves every key dirty, a failing snapshot included; a full pass drops the keys gone', async () => {
  const key = (name: string) => ({ metadata: { namespace: 'c', name } }) as ApiKey;
  const all = [key('k1'), key('k2')];
  const keys = { get: (id: string) => all.find((k) => `c/${k.metadata.name}` === id), list: () => all };
  const s = states();
  const { state, work } = s.take('default', routes('prod/flights'), 0);
  setEntries(state, 'c/gone', [['ff'.repeat(32), cred()]]);
  await recomputeKeys(state, work, keys, () => (k) => [[`b${k.metadata.name!.slice(1)}`.padEnd(64, '0'), cred()]]);
  assert.deepEqual([...state.credentials.owners()].sort(), ['c/k1', 'c/k2']);
  assert.equal(state.credentials.size, 2);

  s.markKey('c/k1');
  const next = s.take('default', routes('prod/flights'), 1);
  await assert.rejects(recomputeKeys(next.state, next.work, keys, () => () => { throw new Error('boom'); }), /boom/);
  assert.equal(next.state.dirty, 'all');
  const again = s.take('default', routes('prod/flights'), 2);
  await assert.rejects(recomputeKeys(again.state, again.work, keys, () => { throw new Error('no snapshot'); }), /no snapshot/);
  assert.equal(again.state.dirty, 'all');
});
