// The credential Secret step shared by the ApiKey and Application reconcilers:
// issue, rotate, drop the previous hash after its grace period, or delete on
// revocation, as credentialSecretAction (consumer-desired.ts) decides. What
// differs per kind (the raw credential, its data keys, the words of the Events)
// comes in a CredentialSecretSpec. The raw value is written once into the
// Secret and never logged, cached or returned: only its hash leaves here.
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../kube/controller.ts';
import { isAlreadyExists, type KubeHttp } from '../../kube/kube.ts';
import { deleteIfExists } from '../../kube/effects.ts';
import { API_VERSION, type ConsumerKind } from '../../api/v1alpha1/index.ts';
import {
  ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_VALID_UNTIL,
  LABEL_MANAGED_BY, MANAGED_BY,
} from '../../api/labels.ts';
import { hashApiKey, keyIdOf } from '../../api/credential-format.ts';
import { rfc3339 } from '../../api/time.ts';
import { MERGE_PATCH, objectPath } from '../resources.ts';
import { secretBelongsTo, type SecretAction } from './consumer-desired.ts';

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };

/** Something a reconcile did, told in its Event. */
export interface Done {
  reason: string;
  message: string;
}

export interface SecretOutcome {
  /** Why the Secret of the owner's name is not the owner's: nothing is issued and no Contract opened. */
  conflict?: string;
  /** The conflicting Secret is outside the credential-Secret cache (unlabelled): no event will tell when it goes. */
  unwatchedConflict?: boolean;
  /**
   * The Secret's annotations as just written (hashes only): the cache has not seen them yet, and reading it would
   * report the owner without its hash, then write the status a second time when the Secret's event arrives.
   */
  written?: V1Secret;
}

/** A new raw credential: the value whose hash goes to the gateway, the Secret's data, extra annotations. */
export interface Issued {
  raw: string;
  data: Record<string, string>;
  annotations?: Record<string, string>;
  /** Non-secret fields for the log line (e.g. the client ID). */
  log?: Record<string, string>;
}

export interface CredentialSecretSpec {
  http: Pick<KubeHttp, 'request'>;
  now: Date;
  owner: { kind: ConsumerKind; name: string; namespace: string; uid: string; rotationGeneration: number };
  /** Label naming the owner on its Secret (the operator watches those Secrets by it). */
  ownerLabel: string;
  secretName: string;
  existing: V1Secret | undefined;
  /** A new credential; `existing` is the Secret being rotated, if any. */
  issue(existing: V1Secret | undefined): Issued;
  /** Why `live`, a Secret of the owner's Secret name, is not the owner's. */
  conflictMessage(live: V1Secret): string;
  /** The words of the Events and log lines. */
  words: {
    noun: string;
    issued(written: V1Secret): Done;
    rotated(validUntil: string): Done;
    revoked: Done;
  };
}

/** How soon to look again at a Secret held by someone else that no event will report gone (it has no owner label). */
const UNWATCHED_CONFLICT_RECHECK_MS = 60_000;

/**
 * When the owner's reconcile must run again without an event: at expiry, at the end of the previous hash's grace
 * period, or to look again at an unwatched conflicting Secret. Undefined when nothing is due.
 */
export function nextDeadline(expiresAt: string | undefined, hashes: { previous?: string; previousValidUntil?: string }, secret: SecretOutcome, now: Date): { requeueAfterMs: number } | undefined {
  const deadlines = [expiresAt, hashes.previous ? hashes.previousValidUntil : undefined]
    .filter((d): d is string => Boolean(d))
    .map((d) => new Date(d).getTime() - now.getTime())
    .filter((ms) => ms > 0);
  if (secret.unwatchedConflict) deadlines.push(UNWATCHED_CONFLICT_RECHECK_MS);
  return deadlines.length > 0 ? { requeueAfterMs: Math.min(...deadlines) + 100 } : undefined;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const withoutNulls = (a: Record<string, string | null | undefined>) => Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));
export const base64Data = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));

/** The part of a CredentialSecretSpec that comes from the owner itself and the caches. */
export function ownerSecret(
  env: { deps: { http: Pick<KubeHttp, 'request'> }; secrets: { get(id: string): V1Secret | undefined }; now(): Date },
  kind: ConsumerKind,
  owner: { metadata: { name?: string; namespace?: string; uid?: string }; spec: { rotation?: { generation?: number } } },
  ownerLabel: string,
  secretName: string,
): Pick<CredentialSecretSpec, 'http' | 'now' | 'owner' | 'ownerLabel' | 'secretName' | 'existing'> {
  const { name, namespace, uid } = owner.metadata;
  return {
    http: env.deps.http,
    now: env.now(),
    owner: { kind, name: name!, namespace: namespace!, uid: uid!, rotationGeneration: owner.spec.rotation?.generation ?? 0 },
    ownerLabel,
    secretName,
    existing: env.secrets.get(`${namespace}/${secretName}`),
  };
}

/** Carries out `action` on the owner's credential Secret; what it did goes into `did`. */
export async function applySecretAction(spec: CredentialSecretSpec, action: SecretAction, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const path = objectPath(SECRETS, spec.owner.namespace, spec.secretName);
  switch (action.action) {
    case 'create': {
      const result = await writeNewCredential(spec, undefined, ctx);
      if ('conflict' in result) return { conflict: result.conflict, unwatchedConflict: true };
      if (action.malformed) did.push({ reason: 'CredentialReissued', message: action.malformed });
      did.push(spec.words.issued(result));
      return { written: result };
    }
    case 'rotate': {
      const written = (await writeNewCredential(spec, { previous: action.previous, validUntil: action.previousValidUntil }, ctx)) as V1Secret;
      did.push(spec.words.rotated(action.previousValidUntil));
      return { written };
    }
    case 'drop-previous':
      await spec.http.request('PATCH', path, {
        contentType: MERGE_PATCH,
        body: { metadata: { annotations: { [ANNOTATION_PREVIOUS_KEY_SHA256]: null, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: null } } },
      });
      ctx.log.info(`grace period of the previous ${spec.words.noun} is over`);
      return {};
    case 'delete':
      await deleteIfExists(spec.http, path);
      did.push(spec.words.revoked);
      return {};
    case 'conflict':
      return { conflict: action.message };
    case 'none':
      return {};
  }
}

/**
 * Writes a new credential into the Secret; returns the Secret's annotations as written (hashes only, never the
 * raw value), or why a Secret of that name outside the cache (no owner label) is not the owner's.
 */
async function writeNewCredential(
  spec: CredentialSecretSpec,
  rotation: { previous: string; validUntil: string } | undefined,
  ctx: ReconcileContext,
): Promise<V1Secret | { conflict: string }> {
  const { http, owner, existing, secretName: name } = spec;
  const issued = spec.issue(existing);
  const hash = hashApiKey(issued.raw);
  const annotations: Record<string, string | null> = {
    ...issued.annotations,
    [ANNOTATION_KEY_SHA256]: hash,
    [ANNOTATION_KEY_GENERATION]: String(owner.rotationGeneration),
    [ANNOTATION_KEY_ISSUED_AT]: rfc3339(spec.now),
    [ANNOTATION_PREVIOUS_KEY_SHA256]: rotation?.previous ?? null,
    [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: rotation?.validUntil ?? null,
  };
  const data = base64Data(issued.data);
  const logged = { secret: name, ...issued.log, keyId: keyIdOf(hash) };
  if (!existing) {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: owner.namespace,
        labels: { [spec.ownerLabel]: owner.name, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: withoutNulls(annotations),
        ownerReferences: [{ apiVersion: API_VERSION, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
      },
      data,
    };
    try {
      await http.request('POST', objectPath(SECRETS, owner.namespace), { body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Not in the cache: unlabelled (someone else's), or ours and the cache trails. Only the first is a conflict.
      const live = await http.request<V1Secret>('GET', objectPath(SECRETS, owner.namespace, name));
      if (!secretBelongsTo(owner.uid, live)) return { conflict: spec.conflictMessage(live) };
      throw new Error(`Secret ${name} appeared meanwhile; will look again`);
    }
    ctx.log.info(logged, `issued ${spec.words.noun}`);
    return { metadata: { annotations: body.metadata.annotations } };
  }
  // Optimistic lock: two workers must never both rotate (one credential would be lost).
  await http.request('PATCH', objectPath(SECRETS, owner.namespace, name), {
    contentType: MERGE_PATCH,
    body: { metadata: { resourceVersion: existing.metadata?.resourceVersion, annotations }, data },
  });
  ctx.log.info(logged, `${rotation ? 'rotated' : 'reissued'} ${spec.words.noun}`);
  return { metadata: { annotations: withoutNulls({ ...existing.metadata?.annotations, ...annotations }) } };
}
