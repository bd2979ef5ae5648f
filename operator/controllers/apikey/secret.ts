// Step 1 of an ApiKey reconcile: the key Secret in the consumer's namespace.
// Issue, rotate, drop the previous key after its grace period, or delete on
// revocation (apikey-desired.ts secretAction decides; credential-secret.ts
// writes, for keys and applications alike).
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../../kube/controller.ts';
import { LABEL_APIKEY, SECRET_KEY_FIELD } from '../../../api/labels.ts';
import { generateApiKey, keyIdOf } from '../../../api/credential-format.ts';
import { secretAction, secretConflictMessage, secretNameOf } from '../apikey-desired.ts';
import { hashesOf } from '../consumer-desired.ts';
import { applySecretAction, ownerSecret, type Done, type SecretOutcome } from '../credential-secret.ts';
import type { Key, KeyEnv } from './env.ts';

/** Brings the key Secret where the key's spec wants it; what it did goes into `did`. */
export async function reconcileSecret(env: KeyEnv, key: Key, t: Date, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const name = secretNameOf(key);
  const spec = {
    ...ownerSecret(env, 'ApiKey', key, LABEL_APIKEY, name),
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
  return applySecretAction(spec, secretAction(key, spec.existing, t), ctx, did);
}
