// What an Application's access entry names once resolved: an ApiInstance or an
// ApiGroup, by kind, namespace and name. Two entries may be written apart
// ({name: flights} and {name: flights, namespace: <own namespace>}) and still
// name one target; the CRD's uniqueness rule compares refs as written, so the
// webhook (which refuses the later entry) and the operator (which marks it
// Duplicate and opens nothing for it) compare targets here.
import type { AccessEntry } from '../api/v1alpha1/index.ts';

export interface EntryTarget {
  kind: 'ApiInstance' | 'ApiGroup';
  namespace: string;
  name: string;
}

type EntryLike = Partial<Pick<AccessEntry, 'apiInstanceRef' | 'apiGroupRef'>> | null | undefined;

/** The target of `entry` of a consumer in `consumerNamespace` (an instance's namespace defaults to the consumer's); undefined when it names none. */
export function entryTarget(consumerNamespace: string, entry: EntryLike): EntryTarget | undefined {
  if (entry?.apiGroupRef?.name) return { kind: 'ApiGroup', namespace: entry.apiGroupRef.namespace ?? '', name: entry.apiGroupRef.name };
  if (entry?.apiInstanceRef?.name) return { kind: 'ApiInstance', namespace: entry.apiInstanceRef.namespace ?? consumerNamespace, name: entry.apiInstanceRef.name };
  return undefined;
}

/** "Kind ns/name": equal for two entries exactly when they name one target. */
export const targetKey = (t: EntryTarget): string => `${t.kind} ${t.namespace}/${t.name}`;

/** "ns/name" of a target, as statuses show it. */
export const targetId = (t: EntryTarget): string => `${t.namespace}/${t.name}`;

/** For each entry that names the target of an earlier one: its index, mapped to the earlier entry's index. */
export function duplicateEntries(consumerNamespace: string, entries: readonly EntryLike[]): Map<number, number> {
  const first = new Map<string, number>();
  const dup = new Map<number, number>();
  entries.forEach((e, i) => {
    const t = entryTarget(consumerNamespace, e);
    if (!t) return;
    const k = targetKey(t);
    const at = first.get(k);
    if (at === undefined) first.set(k, i);
    else dup.set(i, at);
  });
  return dup;
}

/** Why entry `index` is a duplicate of entry `of`: the message users read (webhook refusal, entry status). */
export function duplicateMessage(consumerNamespace: string, entries: readonly EntryLike[], index: number, of: number): string {
  const t = entryTarget(consumerNamespace, entries[index])!;
  return `spec.access[${index}] names ${t.kind} "${t.name}" in namespace "${t.namespace}", as spec.access[${of}] does: each ApiInstance and each ApiGroup may appear once in access (an ApiInstance's namespace defaults to the Application's)`;
}
