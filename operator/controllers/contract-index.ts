// Contracts by the ApiKey they serve ("consumer namespace/apikey"). Both the
// ApiKey and the Contract reconciler look Contracts up this way on every key
// and key-Secret event; one index per informer, however many ask.
import type { Informer } from '../../kube/informer.ts';
import { indexBy } from '../../kube/index-by.ts';
import type { Contract } from '../../api/v1alpha1/index.ts';

type C = Contract & { kind: string };

const indexes = new WeakMap<object, (value: string) => string[]>();

/** "ns/name" of the Contracts whose spec.consumer is the ApiKey `ns/name`. */
export function contractsByConsumer<T extends C>(contracts: Informer<T>): (namespace: string | undefined, name: string | undefined) => string[] {
  let lookup = indexes.get(contracts);
  if (!lookup) {
    lookup = indexBy(contracts, (c) => `${c.spec.consumer.namespace}/${c.spec.consumer.apiKey}`);
    indexes.set(contracts, lookup);
  }
  const found = lookup;
  return (namespace, name) => found(`${namespace}/${name}`);
}
