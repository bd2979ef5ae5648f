// Step 1 of an Application reconcile: the Secret with the client ID and secret
// in the app's namespace. Issue, rotate (a new secret, the same client ID),
// drop the previous secret after its grace period, or delete on revocation,
// by the ApiKey's rules (application-desired.ts appSecretAction decides;
// credential-secret.ts writes).
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../../kube/controller.ts';
import { ANNOTATION_CLIENT_ID, LABEL_APPLICATION, SECRET_CLIENT_ID_FIELD, SECRET_CLIENT_SECRET_FIELD } from '../../../api/labels.ts';
import { generateClientId, generateClientSecret, isWellFormedClientId } from '../../../api/credential-format.ts';
import { appSecretAction, appSecretConflictMessage, appSecretNameOf } from '../application-desired.ts';
import { applySecretAction, ownerSecret, type Done, type SecretOutcome } from '../credential-secret.ts';
import type { App, AppEnv } from './env.ts';

/** Brings the application Secret where the app's spec wants it; what it did goes into `did`. */
export async function reconcileAppSecret(env: AppEnv, app: App, t: Date, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const name = appSecretNameOf(app);
  const spec = {
    ...ownerSecret(env, 'Application', app, LABEL_APPLICATION, name),
    issue: (rotated: V1Secret | undefined) => {
      // The client ID stays across rotations (only the secret changes), unless it is not one crossgate issues.
      const kept = rotated?.metadata?.annotations?.[ANNOTATION_CLIENT_ID];
      const clientId = kept && isWellFormedClientId(kept) ? kept : generateClientId();
      const raw = generateClientSecret();
      return { raw, data: { [SECRET_CLIENT_ID_FIELD]: clientId, [SECRET_CLIENT_SECRET_FIELD]: raw }, annotations: { [ANNOTATION_CLIENT_ID]: clientId }, log: { clientId } };
    },
    conflictMessage: (live: V1Secret) => appSecretConflictMessage(app, live),
    words: {
      noun: 'client secret',
      issued: (written: V1Secret) => ({ reason: 'ClientIssued', message: `client ID ${written.metadata?.annotations?.[ANNOTATION_CLIENT_ID]} and its secret written to Secret ${name}` }),
      rotated: (until: string) => ({ reason: 'SecretRotated', message: `a new client secret was issued into Secret ${name}; the previous one works until ${until}` }),
      revoked: { reason: 'ApplicationRevoked', message: `the application was revoked and Secret ${name} deleted` },
    },
  };
  return applySecretAction(spec, appSecretAction(app, spec.existing, t), ctx, did);
}
