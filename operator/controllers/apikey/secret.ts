// Step 1 of an ApiKey reconcile: the key Secret in the consumer's namespace.
// Issue, rotate, drop the previous key after its grace period, or delete on
// revocation (apikey-desired.ts secretAction decides). The raw key is written
// once into the Secret and never logged, cached or returned.
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../../kube/controller.ts';
import { isAlreadyExists } from '../../../kube/kube.ts';
import { deleteIfExists } from '../../../kube/effects.ts';
import { API_VERSION } from '../../../api/v1alpha1/index.ts';
import {
  ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_VALID_UNTIL,
  LABEL_APIKEY, LABEL_MANAGED_BY, MANAGED_BY, SECRET_KEY_FIELD,
} from '../../../api/labels.ts';
import { generateApiKey, hashApiKey, keyIdOf } from '../../../api/apikey-format.ts';
import { MERGE_PATCH, objectPath } from '../../resources.ts';
import { hashesOf, secretAction, secretBelongsToKey, secretConflictMessage, secretNameOf } from '../apikey-desired.ts';
import { rfc3339 } from '../../../api/time.ts';
import type { Done, Key, KeyEnv } from './env.ts';

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };

export interface SecretOutcome {
  /** Why the Secret of the key's name is not the key's: nothing is issued and no Contract opened. */
  conflict?: string;
  /** The conflicting Secret is outside the key-Secret cache (unlabelled): no event will tell when it goes. */
  unwatchedConflict?: boolean;
  /**
   * The Secret's annotations as just written (hashes only): the cache has not seen them yet, and reading it would
   * report the key without keyId/issuedAt, then write the status a second time when the Secret's event arrives.
   */
  written?: V1Secret;
}

/** Brings the key Secret where the key's spec wants it; what it did goes into `did`. */
export async function reconcileSecret(env: KeyEnv, key: Key, t: Date, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const ns = key.metadata.namespace!;
  const name = secretNameOf(key);
  const secret = env.secrets.get(`${ns}/${name}`);
  const action = secretAction(key, secret, t);
  switch (action.action) {
    case 'create': {
      const result = await writeNewKey(env, key, secret, undefined, ctx);
      if ('conflict' in result) return { conflict: result.conflict, unwatchedConflict: true };
      did.push({ reason: 'KeyIssued', message: `key ${keyIdOf(hashesOf(result).current ?? '')} written to Secret ${name}` });
      return { written: result };
    }
    case 'rotate': {
      const written = (await writeNewKey(env, key, secret, { previous: action.previous, validUntil: action.previousValidUntil }, ctx)) as V1Secret;
      did.push({ reason: 'KeyRotated', message: `a new key was issued into Secret ${name}; the previous key works until ${action.previousValidUntil}` });
      return { written };
    }
    case 'drop-previous':
      await env.deps.http.request('PATCH', objectPath(SECRETS, ns, name), {
        contentType: MERGE_PATCH,
        body: { metadata: { annotations: { [ANNOTATION_PREVIOUS_KEY_SHA256]: null, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: null } } },
      });
      ctx.log.info('grace period of the previous key is over');
      return {};
    case 'delete':
      await deleteIfExists(env.deps.http, objectPath(SECRETS, ns, name));
      did.push({ reason: 'KeyRevoked', message: `the key was revoked and Secret ${name} deleted` });
      return {};
    case 'conflict':
      return { conflict: action.message };
    case 'none':
      return {};
  }
}

const withoutNulls = (a: Record<string, string | null | undefined>) => Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));

/**
 * Writes a new key into the Secret; returns the Secret's annotations as written (hashes only, never the key), or
 * why a Secret of that name outside the cache (no key label) is not this key's.
 */
async function writeNewKey(
  env: KeyEnv,
  key: Key,
  existing: V1Secret | undefined,
  rotation: { previous: string; validUntil: string } | undefined,
  ctx: ReconcileContext,
): Promise<V1Secret | { conflict: string }> {
  const { http } = env.deps;
  const ns = key.metadata.namespace!;
  const name = secretNameOf(key);
  const raw = generateApiKey();
  const hash = hashApiKey(raw);
  const annotations: Record<string, string | null> = {
    [ANNOTATION_KEY_SHA256]: hash,
    [ANNOTATION_KEY_GENERATION]: String(key.spec.rotation?.generation ?? 0),
    [ANNOTATION_KEY_ISSUED_AT]: rfc3339(env.now()),
    [ANNOTATION_PREVIOUS_KEY_SHA256]: rotation?.previous ?? null,
    [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: rotation?.validUntil ?? null,
  };
  const data = { [SECRET_KEY_FIELD]: Buffer.from(raw, 'utf8').toString('base64') };
  if (!existing) {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_APIKEY]: key.metadata.name!, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: withoutNulls(annotations),
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'ApiKey', name: key.metadata.name!, uid: key.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      data,
    };
    try {
      await http.request('POST', objectPath(SECRETS, ns), { body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Not in the cache: unlabelled (someone else's), or ours and the cache trails. Only the first is a conflict.
      const live = await http.request<V1Secret>('GET', objectPath(SECRETS, ns, name));
      if (!secretBelongsToKey(key, live)) return { conflict: secretConflictMessage(key, live) };
      throw new Error(`Secret ${name} appeared meanwhile; will look again`);
    }
    ctx.log.info({ secret: name, keyId: keyIdOf(hash) }, 'issued key');
    return { metadata: { annotations: body.metadata.annotations } };
  }
  // Optimistic lock: two workers must never both rotate (one key would be lost).
  await http.request('PATCH', objectPath(SECRETS, ns, name), {
    contentType: MERGE_PATCH,
    body: { metadata: { resourceVersion: existing.metadata?.resourceVersion, annotations }, data },
  });
  ctx.log.info({ secret: name, keyId: keyIdOf(hash) }, rotation ? 'rotated key' : 'reissued key');
  return { metadata: { annotations: withoutNulls({ ...existing.metadata?.annotations, ...annotations }) } };
}
