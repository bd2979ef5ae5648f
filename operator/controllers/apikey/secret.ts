// Step 1 of an ApiKey reconcile: the key Secret in the consumer's namespace.
// Issue, rotate, drop the previous key after its grace period, or delete on
// revocation (apikey-desired.ts secretAction decides; credential-secret.ts
// writes, for keys and applications alike).
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../../kube/controller.ts';
import { LABEL_APIKEY, SECRET_KEY_FIELD } from '../../../api/labels.ts';
import { generateApiKey, keyIdOf } from '../../../api/apikey-format.ts';
import { hashesOf, secretAction, secretConflictMessage, secretNameOf } from '../apikey-desired.ts';
import { applySecretAction, type Done, type SecretOutcome } from '../credential-secret.ts';
import type { Key, KeyEnv } from './env.ts';

export type { SecretOutcome };

/** Brings the key Secret where the key's spec wants it; what it did goes into `did`. */
export async function reconcileSecret(env: KeyEnv, key: Key, t: Date, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const name = secretNameOf(key);
  const existing = env.secrets.get(`${key.metadata.namespace}/${name}`);
  const spec = {
    http: env.deps.http,
    now: env.now(),
    owner: { kind: 'ApiKey' as const, name: key.metadata.name!, namespace: key.metadata.namespace!, uid: key.metadata.uid!, rotationGeneration: key.spec.rotation?.generation ?? 0 },
    ownerLabel: LABEL_APIKEY,
    secretName: name,
    existing,
    issue: () => {
      const raw = generateApiKey();
      return { raw, data: { [SECRET_KEY_FIELD]: raw } };
    },
    conflictMessage: (live: V1Secret) => secretConflictMessage(key, live),
    words: {
      noun: 'key',
      issued: (written: V1Secret) => ({ reason: 'KeyIssued', message: `key ${keyIdOf(hashesOf(written).current ?? '')} written to Secret ${name}` }),
      rotated: (until: string) => ({ reason: 'KeyRotated', message: `a new key was issued into Secret ${name}; the previous key works until ${until}` }),
      revoked: { reason: 'KeyRevoked', message: `the key was revoked and Secret ${name} deleted` },
    },
  };
  return applySecretAction(spec, secretAction(key, existing, t), ctx, did);
}
