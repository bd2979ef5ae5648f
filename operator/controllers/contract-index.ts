// Contracts by the consumer they serve (kind, namespace and name). Both the
// ApiKey and the Contract reconciler look Contracts up this way on every key
// and key-Secret event; one index per informer, however many ask.
import type { Informer } from '../../kube/informer.ts';
import { indexBy } from '../../kube/index-by.ts';
import type { ConsumerKind, Contract } from '../../api/v1alpha1/index.ts';

type C = Contract & { kind: string };

const indexes = new WeakMap<object, (value: string) => string[]>();

/** The index key of a consumer: "Kind ns/name". */
export const consumerKey = (kind: ConsumerKind, namespace: string | undefined, name: string | undefined): string => `${kind} ${namespace}/${name}`;

/** "ns/name" of the Contracts whose spec.consumer is the `kind` `ns/name`. */
export function contractsByConsumer<T extends C>(contracts: Informer<T>, kind: ConsumerKind): (namespace: string | undefined, name: string | undefined) => string[] {
  let lookup = indexes.get(contracts);
  if (!lookup) {
    lookup = indexBy(contracts, (c) => consumerKey(c.spec.consumer.kind, c.spec.consumer.namespace, c.spec.consumer.name));
    indexes.set(contracts, lookup);
  }
  const found = lookup;
  return (namespace, name) => found(consumerKey(kind, namespace, name));
}
