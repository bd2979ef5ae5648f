// Which clients an ApiInstance's status may name. The status is read by the
// owner and by every organization the instance is shared with (an AssetShare
// of kind ApiInstance grants view on the object, status included), so naming
// a client of organization C there would show C's use of the API (its key
// names, volume, errors, latency) to the other peers. A client is named only
// when no organization but the owner and the client's own can read the
// instance; otherwise it is counted in "_other". The operator decides this
// (apianalytics.ts); nothing is admitted, so no webhook rule calls it.
import type { ApiInstance } from '../api/v1alpha1/index.ts';
import { ANONYMOUS, OTHER_CLIENTS } from '../api/analytics.ts';
import { orgName, ownerOfNamespace } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';

/**
 * Domains of the organizations other than the owner that may read `instance`: every peer of every AssetShare of the
 * owner's organization naming it, whatever the share's state (an over-estimate hides more, never less). A share written
 * by another organization grants nothing, so it counts for nothing: it cannot make the owner's figures fold.
 */
export function instanceReaders(snapshot: Snapshot, instance: Pick<ApiInstance, 'metadata'>): Set<string> {
  const ns = instance.metadata?.namespace ?? '';
  const owner = ownerOfNamespace(snapshot, ns);
  const readers = new Set<string>();
  if (!owner) return readers;
  const me = orgName(owner.organization);
  for (const share of snapshot.assetShares()) {
    const t = share.spec?.targetRef;
    if (t?.kind !== 'ApiInstance' || t.name !== instance.metadata?.name || t.namespace !== ns) continue;
    const by = ownerOfNamespace(snapshot, share.metadata?.namespace ?? '');
    if (!by || orgName(by.organization) !== me) continue;
    for (const p of share.spec?.peers ?? []) if (p?.domain && p.domain !== owner.organization.spec?.domain) readers.add(p.domain);
  }
  return readers;
}

/**
 * Whether the status of `instance` may name `client` ("namespace/name" of an ApiKey or Application): a client of the
 * owner's organization always; one of another organization only while no third organization can read the instance;
 * one of no known organization only while nobody but the owner can. "-" and "_other" name nobody.
 */
export function clientNameable(snapshot: Snapshot, instance: Pick<ApiInstance, 'metadata'>, readers: ReadonlySet<string>): (client: string) => boolean {
  const owner = ownerOfNamespace(snapshot, instance.metadata?.namespace ?? '');
  const ownerName = owner ? orgName(owner.organization) : undefined;
  return (client) => {
    if (client === ANONYMOUS || client === OTHER_CLIENTS) return true;
    const of = ownerOfNamespace(snapshot, client.split('/')[0] ?? '');
    if (of && ownerName !== undefined && orgName(of.organization) === ownerName) return true;
    const domain = of?.organization.spec?.domain;
    for (const r of readers) if (r !== domain) return false;
    return true;
  };
}
