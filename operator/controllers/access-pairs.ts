// Consumers by access pair (model/trust.ts accessPair: the consumer's
// namespace and its target's), so that an OrgTrust event reaches only the
// ApiKeys, Applications and Contracts between the two organizations it is
// about (trustPairs), never every one of them. One index per informer,
// however many reconcilers ask.
import type { Informer } from '../../kube/informer.ts';
import { indexBy, indexByAll } from '../../kube/index-by.ts';
import type { ApiKey, Application, Contract } from '../../api/v1alpha1/index.ts';
import { accessPair, trustPairs } from '../../model/trust.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { entryNamespace } from './application-desired.ts';

const indexes = new WeakMap<object, (value: string) => string[]>();

function cached<T>(informer: Informer<T & { metadata: { namespace?: string; name?: string } }>, make: () => (value: string) => string[]): (value: string) => string[] {
  let lookup = indexes.get(informer);
  if (!lookup) indexes.set(informer, (lookup = make()));
  return lookup;
}

/** "ns/name" of the ApiKeys whose access the OrgTrust `trust` can change. */
export function keysOfTrust<K extends ApiKey & { kind: string }>(keys: Informer<K>, snapshot: () => Snapshot): (trust: unknown) => string[] {
  const byPair = cached(keys, () => indexBy(keys, (k) => accessPair(k.metadata.namespace, k.spec.apiInstanceRef.namespace ?? k.metadata.namespace)));
  return (trust) => trustPairs(snapshot(), trust as Parameters<typeof trustPairs>[1]).flatMap(byPair);
}

/** "ns/name" of the Applications with an entry whose access the OrgTrust `trust` can change. */
export function appsOfTrust<A extends Application & { kind: string }>(apps: Informer<A>, snapshot: () => Snapshot): (trust: unknown) => string[] {
  const byPair = cached(apps, () => indexByAll(apps, (a) => (a.spec.access ?? []).map((e) => accessPair(a.metadata.namespace, entryNamespace(a, e)))));
  return (trust) => [...new Set(trustPairs(snapshot(), trust as Parameters<typeof trustPairs>[1]).flatMap(byPair))];
}

/** "ns/name" of the Contracts whose consumer's access the OrgTrust `trust` can change (a Contract lives in its target's namespace). */
export function contractsOfTrust<C extends Contract & { kind: string }>(contracts: Informer<C>, snapshot: () => Snapshot): (trust: unknown) => string[] {
  const byPair = cached(contracts, () => indexBy(contracts, (c) => accessPair(c.spec.consumer.namespace, c.metadata.namespace)));
  return (trust) => trustPairs(snapshot(), trust as Parameters<typeof trustPairs>[1]).flatMap(byPair);
}
