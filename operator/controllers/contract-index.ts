// Contracts by the ApiKey they serve ("consumer namespace/apikey"), kept from
// the Contract informer's events. Both the ApiKey and the Contract reconciler
// look Contracts up this way on every key and key-Secret event; a scan of all
// Contracts each time was O(keys × contracts), seconds on a resync at 10,000.
import type { Informer } from '../lib/informer.ts';
import type { Contract } from '../../api/v1alpha1/index.ts';

type C = Contract & { kind: string };

const indexes = new WeakMap<object, Map<string, Set<string>>>();

/** "ns/name" of the Contracts whose spec.consumer is the ApiKey `ns/name`; one index per informer, however many ask. */
export function contractsByConsumer<T extends C>(contracts: Informer<T>): (namespace: string | undefined, name: string | undefined) => string[] {
  let byConsumer = indexes.get(contracts);
  if (!byConsumer) {
    const map = new Map<string, Set<string>>();
    byConsumer = map;
    indexes.set(contracts, map);
    const consumerOf = (c: T) => `${c.spec.consumer.namespace}/${c.spec.consumer.apiKey}`;
    const index = (c: T, add: boolean) => {
      const k = consumerOf(c);
      let set = map.get(k);
      if (add) {
        if (!set) map.set(k, (set = new Set()));
        set.add(`${c.metadata.namespace}/${c.metadata.name}`);
      } else if (set) {
        set.delete(`${c.metadata.namespace}/${c.metadata.name}`);
        if (set.size === 0) map.delete(k);
      }
    };
    contracts.addHandler({ onAdd: (c) => index(c, true), onUpdate: (a, b) => { if (a !== b) index(a, false); index(b, true); }, onDelete: (c) => index(c, false) });
  }
  const map = byConsumer;
  return (namespace, name) => [...(map.get(`${namespace}/${name}`) ?? [])];
}
