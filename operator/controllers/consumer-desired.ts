// Pure decisions both kinds of consumer share (an ApiKey, and an
// Application's credential and access entries): the Contract a consumer asks
// for and how it follows the consumer, the credential Secret's hashes and
// whether it is the consumer's own, what to do with that Secret now (issue,
// rotate, drop the previous hash, delete), and the credential entries of its
// hashes. No I/O, no clock reads: `now` is passed in.
import type { V1Secret } from '@kubernetes/client-node';
import type { ConsumerKind, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import {
  ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_VALID_UNTIL,
  LABEL_CONSUMER_DOMAIN, LABEL_CONSUMER_NAMESPACE, LABEL_CONSUMER_UID, LABEL_MANAGED_BY, MANAGED_BY,
} from '../../api/labels.ts';
import type { Access } from '../../model/access.ts';
import type { Credential } from '../../api/gateway/config.ts';
import { rfc3339 } from '../../api/time.ts';
import { isCredentialHash } from '../../api/credential-format.ts';
import { scopeWidens } from '../../model/endpoint-scope.ts';
import { isDeepStrictEqual } from 'node:util';

/** "24h", "90s", "1h30m", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

/** The Contract a consumer (an ApiKey, or an Application's access entry) asks for, in the target's namespace. */
export function consumerContract(
  consumer: { metadata: { name?: string; namespace?: string; uid?: string } },
  kind: ConsumerKind,
  name: string,
  access: Access,
  target: Pick<Contract['spec'], 'apiInstanceRef' | 'apiGroupRef'>,
  asked: { tier: string; endpoints?: Contract['spec']['endpoints'] },
  clientName: string | undefined,
  tier: SlaTier,
): Contract {
  return {
    apiVersion: API_VERSION,
    kind: 'Contract',
    metadata: {
      name,
      namespace: access.instanceNamespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_CONSUMER_NAMESPACE]: consumer.metadata.namespace!,
        [LABEL_CONSUMER_DOMAIN]: access.consumer!.spec.domain,
        ...(consumer.metadata.uid ? { [LABEL_CONSUMER_UID]: consumer.metadata.uid } : {}),
      },
    },
    spec: {
      ...target,
      tier: asked.tier,
      consumer: {
        organization: access.consumer!.spec.domain,
        namespace: consumer.metadata.namespace!,
        kind,
        name: consumer.metadata.name!,
        ...(clientName ? { clientName } : {}),
      },
      ...(asked.endpoints ? { endpoints: asked.endpoints } : {}),
      decision: tier.spec.approval === 'automatic' ? 'Approved' : 'Pending',
    },
  } as Contract;
}

/**
 * The merge patch that brings an open Contract to what its consumer asks now (tier, endpoint scope), or undefined
 * when it already does or is closed for good (Rejected, Revoked). A new tier is a new request: Approved at once only
 * if that tier is automatic. A wider scope (model/endpoint-scope.ts) on a manual tier goes back to Pending; a
 * narrower one keeps the owner's decision.
 */
export function contractSpecPatch(
  found: Contract,
  wanted: { tier: string; endpoints?: Contract['spec']['endpoints'] },
  automatic: boolean,
): { spec: Record<string, unknown> } | undefined {
  const decision = found.spec.decision;
  if (decision === 'Revoked' || decision === 'Rejected') return undefined;
  const tierChanged = found.spec.tier !== wanted.tier;
  const scopeChanged = !isDeepStrictEqual(found.spec.endpoints ?? null, wanted.endpoints ?? null);
  if (!tierChanged && !scopeChanged) return undefined;
  const spec: Record<string, unknown> = {};
  if (tierChanged) {
    spec.tier = wanted.tier;
    spec.decision = automatic ? 'Approved' : 'Pending';
  }
  if (scopeChanged) {
    spec.endpoints = wanted.endpoints ?? null;
    if (!tierChanged && !automatic && scopeWidens(found.spec.endpoints, wanted.endpoints)) spec.decision = 'Pending';
  }
  return { spec };
}

export interface KeyHashes {
  current?: string;
  generation: number;
  issuedAt?: string;
  previous?: string;
  previousValidUntil?: string;
}

/** `text` as RFC 3339 when it is a time, else undefined. */
function timeOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? undefined : rfc3339(t);
}

/**
 * The hashes a credential Secret's annotations hold. Those annotations are editable by the organization's admins
 * (they read their keys from the Secret): only a well-formed hash (isCredentialHash) and real times are taken, so
 * nothing else ever reaches the credential shards every organization shares.
 */
export function hashesOf(secret: V1Secret | undefined): KeyHashes {
  const a = secret?.metadata?.annotations ?? {};
  const current = a[ANNOTATION_KEY_SHA256];
  const previous = a[ANNOTATION_PREVIOUS_KEY_SHA256];
  const previousValidUntil = timeOf(a[ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]);
  const generation = Number(a[ANNOTATION_KEY_GENERATION] ?? 0);
  const issuedAt = timeOf(a[ANNOTATION_KEY_ISSUED_AT]);
  return {
    ...(current && isCredentialHash(current) ? { current } : {}),
    generation: Number.isSafeInteger(generation) && generation > 0 ? generation : 0,
    ...(issuedAt ? { issuedAt } : {}),
    ...(previous && isCredentialHash(previous) && previousValidUntil ? { previous, previousValidUntil } : {}),
  };
}

/** Why a Secret of the owner's holds a hash annotation that is not one (changed by hand), or undefined. */
export function malformedHash(secret: V1Secret, noun: string): string | undefined {
  const name = secret.metadata?.name;
  const h = secret.metadata?.annotations?.[ANNOTATION_KEY_SHA256];
  if (h === undefined || isCredentialHash(h)) return undefined;
  return (
    `Secret "${name}" held no valid ${noun} hash (annotation ${ANNOTATION_KEY_SHA256} is not 64 lower-case hex digits; it was changed by hand): ` +
    `a new ${noun} was issued into it and the one it held no longer works`
  );
}

/** Whether the object of `uid` (an ApiKey or an Application) is the Secret's controlling owner. */
export function secretBelongsTo(uid: string | undefined, secret: V1Secret): boolean {
  return uid !== undefined && (secret.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

/** Why `secret`, of the Secret name an ApiKey or Application uses, is not its own (never its content). */
export function credentialSecretConflict(holder: { kind: string; namespace: string; secretName: string; named: boolean; noun: string }, secret: V1Secret): string {
  const name = holder.secretName;
  const field = holder.named ? `spec.secretName "${name}"` : `the default Secret name "${name}"`;
  const owner = (secret.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  const whose = owner
    ? `belongs to ${owner.kind} "${owner.name}" (its controlling owner), not to this ${holder.kind}`
    : `was not made for this ${holder.kind} (it has no ownerReference to it)`;
  return (
    `${field}: Secret "${name}" in namespace "${holder.namespace}" already exists and ${whose}; crossgate never reads or overwrites it, ` +
    `so no ${holder.noun} is issued and no Contract is opened. Set spec.secretName to a name no other Secret uses` +
    (owner ? '.' : `, or delete Secret "${name}".`)
  );
}

export type SecretAction =
  | { action: 'none' }
  | { action: 'create'; malformed?: string }
  | { action: 'rotate'; previous: string; previousValidUntil: string }
  | { action: 'drop-previous' }
  | { action: 'delete' }
  | { action: 'conflict'; message: string };

/** What the Secret step reads of its owner (an ApiKey or an Application). */
export interface SecretHolder {
  uid: string | undefined;
  revoked?: boolean;
  rotation?: { generation?: number; gracePeriod?: string };
}

/** What to do with the credential Secret of an ApiKey or an Application now: the same issue, rotation, grace and revocation rules for both. */
export function credentialSecretAction(
  holder: SecretHolder, secret: V1Secret | undefined, now: Date, conflict: (secret: V1Secret) => string, noun = 'key',
): SecretAction {
  if (holder.revoked) return secret && secretBelongsTo(holder.uid, secret) ? { action: 'delete' } : { action: 'none' };
  if (!secret) return { action: 'create' };
  if (!secretBelongsTo(holder.uid, secret)) return { action: 'conflict', message: conflict(secret) };
  const h = hashesOf(secret);
  const wanted = holder.rotation?.generation ?? 0;
  if (!h.current) {
    const malformed = malformedHash(secret, noun);
    return malformed ? { action: 'create', malformed } : { action: 'create' };
  }
  if (wanted > h.generation) {
    const grace = parseDuration(holder.rotation?.gracePeriod ?? '24h');
    return { action: 'rotate', previous: h.current, previousValidUntil: rfc3339(new Date(now.getTime() + grace)) };
  }
  if (h.previous && h.previousValidUntil && new Date(h.previousValidUntil) <= now) return { action: 'drop-previous' };
  return { action: 'none' };
}

/**
 * The index entries of one credential (a key's or an application's): the current hash until expiry, and the
 * previous one until the end of its grace period (or expiry, if sooner).
 */
export function hashEntries(base: Credential, expiresAt: string | undefined, hashes: KeyHashes, now: Date): Array<[string, Credential]> {
  const expires = expiresAt ? rfc3339(new Date(expiresAt)) : undefined;
  const out: Array<[string, Credential]> = [];
  if (hashes.current) out.push([hashes.current, { ...base, ...(expires ? { notAfter: expires } : {}) }]);
  if (hashes.previous && hashes.previousValidUntil && new Date(hashes.previousValidUntil) > now) {
    const until = expires && new Date(expires) < new Date(hashes.previousValidUntil) ? expires : hashes.previousValidUntil;
    out.push([hashes.previous, { ...base, notAfter: until }]);
  }
  return out;
}
