// The Snapshot over informer caches: synced only when all are, lists read lazily.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Namespace } from '@kubernetes/client-node';
import { informerSnapshotSource, type ListSource, type SnapshotSources } from '../../../model/snapshot.ts';
import { maxAirlines, orgTrust } from './fixtures.ts';

function source<T>(items: T[], synced = true, get?: (key: string) => T | undefined): ListSource<T> & { reads: number } {
  const s = {
    reads: 0,
    list() {
      s.reads++;
      return items;
    },
    hasSynced: () => synced,
    ...(get ? { get } : {}),
  };
  return s;
}

test('synced when every informer is; reads only the lists a rule touches; namespaces by key', () => {
  const ns: V1Namespace = { metadata: { name: 'max-airlines-home', labels: { a: 'b' } } };
  const sources = {
    organizations: source([maxAirlines]),
    namespaces: source<V1Namespace>([], true, (key) => (key === 'max-airlines-home' ? ns : undefined)),
    orgTrusts: source([orgTrust('max-airlines-home', 'mule-united'), orgTrust('mule-united-home', 'max-airlines')]),
    assets: source([]),
    apiInstances: source([]),
    assetShares: source([], false),
  };
  const src = informerSnapshotSource(sources as unknown as SnapshotSources, ['crossgate-system']);
  assert.equal(src.hasSynced(), false);
  const snap = src.current();
  assert.deepEqual(snap.namespace('max-airlines-home'), { name: 'max-airlines-home', labels: { a: 'b' } });
  assert.equal(snap.namespace('nope'), undefined);
  assert.equal(snap.orgTrusts('max-airlines-home').length, 1);
  assert.equal(snap.orgTrusts().length, 2);
  snap.organizations();
  snap.organizations();
  assert.equal(sources.organizations.reads, 1, 'read once per snapshot');
  assert.equal(sources.orgTrusts.reads, 1);
  assert.equal(sources.assets.reads, 0, 'untouched lists are not read');
  assert.equal(sources.namespaces.reads, 0, 'namespaces looked up by key, not listed');
  assert.ok(snap.reservedNamespaces.has('crossgate-system') && snap.reservedNamespaces.has('kube-system'));
});

test('with change notifications, one snapshot serves until a cache changes', () => {
  const handlers: Array<{ onUpdate?: () => void }> = [];
  const notifying = <T>(items: T[]) => Object.assign(source(items), { addHandler: (h: { onUpdate?: () => void }) => handlers.push(h) });
  const sources = {
    organizations: notifying([maxAirlines]),
    namespaces: notifying<V1Namespace>([]),
    orgTrusts: notifying([orgTrust('max-airlines-home', 'mule-united')]),
    assets: notifying([]),
    apiInstances: notifying([]),
    assetShares: notifying([]),
  };
  const src = informerSnapshotSource(sources as unknown as SnapshotSources);
  const first = src.current();
  first.orgTrusts('max-airlines-home');
  assert.equal(src.current(), first, 'the same snapshot while nothing changed');
  src.current().orgTrusts('max-airlines-home');
  assert.equal(sources.orgTrusts.reads, 1, 'its lists and indexes are built once');
  handlers[2]!.onUpdate!();
  const second = src.current();
  assert.notEqual(second, first, 'a change makes the next request read the caches again');
  second.orgTrusts('max-airlines-home');
  assert.equal(sources.orgTrusts.reads, 2);
});

test('without change notifications, every request reads the caches afresh', () => {
  const sources = { organizations: source([maxAirlines]), namespaces: source<V1Namespace>([]), orgTrusts: source([]), assets: source([]), apiInstances: source([]), assetShares: source([]) };
  const src = informerSnapshotSource(sources as unknown as SnapshotSources);
  assert.notEqual(src.current(), src.current());
});
