// A secondary index over an informer's cache, as client-go's Indexer: the keys
// ("ns/name") of the cached objects by a value computed from each, kept from
// the informer's events. A watch that maps one event to the objects it concerns
// (the ApiKeys of an instance, the Contracts of a key or a tier) then costs a
// lookup instead of a scan of the whole cache.
import type { Informer } from './informer.ts';
import { objectKey, type KubernetesObject } from './keys.ts';

export function indexBy<T extends KubernetesObject>(informer: Informer<T>, valueOf: (obj: T) => string): (value: string) => string[] {
  // One key is held as the string itself, a Set only from the second: most
  // values index one object (a key's Contract), and a Set is a few hundred bytes.
  const index = new Map<string, string | Set<string>>();
  const add = (value: string, key: string) => {
    const held = index.get(value);
    if (held === undefined) index.set(value, key);
    else if (typeof held === 'string') {
      if (held !== key) index.set(value, new Set([held, key]));
    } else held.add(key);
  };
  const remove = (value: string, key: string) => {
    const held = index.get(value);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === key) index.delete(value);
      return;
    }
    held.delete(key);
    if (held.size === 1) index.set(value, held.values().next().value!);
  };
  informer.addHandler({
    onAdd: (obj) => add(valueOf(obj), objectKey(obj)),
    onUpdate: (old, obj) => {
      const [was, is] = [valueOf(old), valueOf(obj)];
      if (was === is) return add(is, objectKey(obj));
      remove(was, objectKey(old));
      add(is, objectKey(obj));
    },
    onDelete: (obj) => remove(valueOf(obj), objectKey(obj)),
  });
  return (value) => {
    const held = index.get(value);
    return held === undefined ? [] : typeof held === 'string' ? [held] : [...held];
  };
}

/** As indexBy, for objects indexed under several values each (an Application under every ApiInstance it lists). */
export function indexByAll<T extends KubernetesObject>(informer: Informer<T>, valuesOf: (obj: T) => string[]): (value: string) => string[] {
  const index = new Map<string, Set<string>>();
  const change = (obj: T, add: boolean) => {
    const key = objectKey(obj);
    for (const value of new Set(valuesOf(obj))) {
      const held = index.get(value) ?? new Set<string>();
      if (add) held.add(key);
      else held.delete(key);
      if (held.size > 0) index.set(value, held);
      else index.delete(value);
    }
  };
  informer.addHandler({
    onAdd: (obj) => change(obj, true),
    onUpdate: (old, obj) => { change(old, false); change(obj, true); },
    onDelete: (obj) => change(obj, false),
  });
  return (value) => [...(index.get(value) ?? [])];
}
