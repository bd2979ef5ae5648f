// Step 1 of an Application reconcile: the Secret with the client ID and secret
// in the app's namespace. Issue, rotate (a new secret, the same client ID),
// drop the previous secret after its grace period, or delete on revocation,
// by the ApiKey's rules (application-desired.ts appSecretAction). The raw
// secret is written once into the Secret and never logged, cached or returned.
import type { V1Secret } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../../kube/controller.ts';
import { isAlreadyExists, isNotFound } from '../../../kube/kube.ts';
import { API_VERSION } from '../../../api/v1alpha1/index.ts';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_KEY_GENERATION, ANNOTATION_KEY_ISSUED_AT, ANNOTATION_KEY_SHA256, ANNOTATION_PREVIOUS_KEY_SHA256,
  ANNOTATION_PREVIOUS_KEY_VALID_UNTIL, LABEL_APPLICATION, LABEL_MANAGED_BY, MANAGED_BY, SECRET_CLIENT_ID_FIELD, SECRET_CLIENT_SECRET_FIELD,
} from '../../../api/labels.ts';
import { generateClientId, generateClientSecret, hashApiKey, keyIdOf } from '../../../api/apikey-format.ts';
import { rfc3339 } from '../../../api/time.ts';
import { MERGE_PATCH, objectPath } from '../../resources.ts';
import { appSecretAction, appSecretConflictMessage, appSecretNameOf } from '../application-desired.ts';
import { secretBelongsTo } from '../apikey-desired.ts';
import type { SecretOutcome } from '../apikey/secret.ts';
import type { App, AppEnv, Done } from './env.ts';

const SECRETS = { group: '', version: 'v1', plural: 'secrets' };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const withoutNulls = (a: Record<string, string | null | undefined>) => Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** Brings the application Secret where the app's spec wants it; what it did goes into `did`. */
export async function reconcileAppSecret(env: AppEnv, app: App, t: Date, ctx: ReconcileContext, did: Done[]): Promise<SecretOutcome> {
  const ns = app.metadata.namespace!;
  const name = appSecretNameOf(app);
  const secret = env.secrets.get(`${ns}/${name}`);
  const action = appSecretAction(app, secret, t);
  switch (action.action) {
    case 'create': {
      const result = await writeNewSecret(env, app, secret, undefined, ctx);
      if ('conflict' in result) return { conflict: result.conflict, unwatchedConflict: true };
      did.push({ reason: 'ClientIssued', message: `client ID ${result.metadata?.annotations?.[ANNOTATION_CLIENT_ID]} and its secret written to Secret ${name}` });
      return { written: result };
    }
    case 'rotate': {
      const written = (await writeNewSecret(env, app, secret, { previous: action.previous, validUntil: action.previousValidUntil }, ctx)) as V1Secret;
      did.push({ reason: 'SecretRotated', message: `a new client secret was issued into Secret ${name}; the previous one works until ${action.previousValidUntil}` });
      return { written };
    }
    case 'drop-previous':
      await env.deps.http.request('PATCH', objectPath(SECRETS, ns, name), {
        contentType: MERGE_PATCH,
        body: { metadata: { annotations: { [ANNOTATION_PREVIOUS_KEY_SHA256]: null, [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: null } } },
      });
      ctx.log.info('grace period of the previous client secret is over');
      return {};
    case 'delete':
      await env.deps.http.request('DELETE', objectPath(SECRETS, ns, name)).catch((e) => { if (!isNotFound(e)) throw e; });
      did.push({ reason: 'ApplicationRevoked', message: `the application was revoked and Secret ${name} deleted` });
      return {};
    case 'conflict':
      return { conflict: action.message };
    case 'none':
      return {};
  }
}

/** Writes a new client secret (and, when there is none yet, a client ID); returns the annotations as written, or why the Secret is not the app's. */
async function writeNewSecret(
  env: AppEnv,
  app: App,
  existing: V1Secret | undefined,
  rotation: { previous: string; validUntil: string } | undefined,
  ctx: ReconcileContext,
): Promise<V1Secret | { conflict: string }> {
  const { http } = env.deps;
  const ns = app.metadata.namespace!;
  const name = appSecretNameOf(app);
  // The client ID stays across rotations: only the secret changes.
  const clientId = existing?.metadata?.annotations?.[ANNOTATION_CLIENT_ID] ?? generateClientId();
  const raw = generateClientSecret();
  const hash = hashApiKey(raw);
  const annotations: Record<string, string | null> = {
    [ANNOTATION_CLIENT_ID]: clientId,
    [ANNOTATION_KEY_SHA256]: hash,
    [ANNOTATION_KEY_GENERATION]: String(app.spec.rotation?.generation ?? 0),
    [ANNOTATION_KEY_ISSUED_AT]: rfc3339(env.now()),
    [ANNOTATION_PREVIOUS_KEY_SHA256]: rotation?.previous ?? null,
    [ANNOTATION_PREVIOUS_KEY_VALID_UNTIL]: rotation?.validUntil ?? null,
  };
  const data = { [SECRET_CLIENT_ID_FIELD]: b64(clientId), [SECRET_CLIENT_SECRET_FIELD]: b64(raw) };
  if (!existing) {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_APPLICATION]: app.metadata.name!, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: withoutNulls(annotations),
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'Application', name: app.metadata.name!, uid: app.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      data,
    };
    try {
      await http.request('POST', objectPath(SECRETS, ns), { body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Not in the cache: unlabelled (someone else's), or ours and the cache trails. Only the first is a conflict.
      const live = await http.request<V1Secret>('GET', objectPath(SECRETS, ns, name));
      if (!secretBelongsTo(app.metadata.uid, live)) return { conflict: appSecretConflictMessage(app, live) };
      throw new Error(`Secret ${name} appeared meanwhile; will look again`);
    }
    ctx.log.info({ secret: name, clientId, secretId: keyIdOf(hash) }, 'issued client secret');
    return { metadata: { annotations: body.metadata.annotations } };
  }
  // Optimistic lock: two workers must never both rotate (one secret would be lost).
  await http.request('PATCH', objectPath(SECRETS, ns, name), {
    contentType: MERGE_PATCH,
    body: { metadata: { resourceVersion: existing.metadata?.resourceVersion, annotations }, data },
  });
  ctx.log.info({ secret: name, clientId, secretId: keyIdOf(hash) }, rotation ? 'rotated client secret' : 'reissued client secret');
  return { metadata: { annotations: withoutNulls({ ...existing.metadata?.annotations, ...annotations }) } };
}
