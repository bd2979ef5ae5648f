// A secondary index over an informer's cache, as client-go's Indexer: the keys
// ("ns/name") of the cached objects by a value computed from each, kept from
// the informer's events. A watch that maps one event to the objects it concerns
// (the ApiKeys of an instance, the Contracts of a key or a tier) then costs a
// lookup instead of a scan of the cache, which at 10,000 keys was O(keys) per event.
import type { Informer } from './informer.ts';
import { objectKey, type KubernetesObject } from './keys.ts';

export function indexBy<T extends KubernetesObject>(informer: Informer<T>, valueOf: (obj: T) => string): (value: string) => string[] {
  const index = new Map<string, Set<string>>();
  const put = (obj: T, add: boolean) => {
    const value = valueOf(obj);
    const key = objectKey(obj);
    let set = index.get(value);
    if (add) {
      if (!set) index.set(value, (set = new Set()));
      set.add(key);
    } else if (set) {
      set.delete(key);
      if (set.size === 0) index.delete(value);
    }
  };
  informer.addHandler({
    onAdd: (obj) => put(obj, true),
    onUpdate: (old, obj) => {
      if (old !== obj) put(old, false);
      put(obj, true);
    },
    onDelete: (obj) => put(obj, false),
  });
  return (value) => [...(index.get(value) ?? [])];
}
