// indexBy: the keys of cached objects by a value, kept from informer events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexBy } from '../../../kube/index-by.ts';
import type { EventHandlers, Informer } from '../../../kube/informer.ts';
import type { KubernetesObject } from '../../../kube/keys.ts';

type Obj = KubernetesObject & { spec: { tier: string } };
const obj = (name: string, tier: string): Obj => ({ metadata: { name, namespace: 'ns' }, spec: { tier } });

function fakeInformer(): { informer: Informer<Obj>; h: () => EventHandlers<Obj> } {
  let handlers: EventHandlers<Obj> | undefined;
  const informer = { addHandler: (h: EventHandlers<Obj>) => ((handlers = h), () => undefined) } as unknown as Informer<Obj>;
  return { informer, h: () => handlers! };
}

test('adds, moves and removes keys as objects are added, change value and are deleted', () => {
  const { informer, h } = fakeInformer();
  const byTier = indexBy(informer, (o) => o.spec.tier);
  assert.deepEqual(byTier('gold'), []);
  h().onAdd!(obj('a', 'gold'));
  assert.deepEqual(byTier('gold'), ['ns/a']);
  h().onAdd!(obj('b', 'gold'));
  h().onAdd!(obj('c', 'gold'));
  assert.deepEqual(byTier('gold').sort(), ['ns/a', 'ns/b', 'ns/c']);
  h().onUpdate!(obj('b', 'gold'), obj('b', 'silver'));
  assert.deepEqual(byTier('gold').sort(), ['ns/a', 'ns/c']);
  assert.deepEqual(byTier('silver'), ['ns/b']);
  h().onDelete!(obj('a', 'gold'));
  assert.deepEqual(byTier('gold'), ['ns/c'], 'back to one key');
  h().onDelete!(obj('c', 'gold'));
  assert.deepEqual(byTier('gold'), []);
  h().onDelete!(obj('c', 'gold'));
  assert.deepEqual(byTier('gold'), [], 'a second delete is harmless');
});

test('an update that keeps the value, or a repeated add, keeps one entry', () => {
  const { informer, h } = fakeInformer();
  const byTier = indexBy(informer, (o) => o.spec.tier);
  h().onAdd!(obj('a', 'gold'));
  h().onUpdate!(obj('a', 'gold'), obj('a', 'gold'));
  h().onAdd!(obj('a', 'gold'));
  assert.deepEqual(byTier('gold'), ['ns/a']);
  h().onAdd!(obj('b', 'gold'));
  h().onAdd!(obj('b', 'gold'));
  assert.deepEqual(byTier('gold').sort(), ['ns/a', 'ns/b']);
});

test('the lookup returns a copy: changing it does not change the index', () => {
  const { informer, h } = fakeInformer();
  const byTier = indexBy(informer, (o) => o.spec.tier);
  h().onAdd!(obj('a', 'gold'));
  h().onAdd!(obj('b', 'gold'));
  byTier('gold').pop();
  assert.equal(byTier('gold').length, 2);
});
