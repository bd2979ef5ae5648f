// Step 3 of an ApiKey reconcile: tell the consumer where the key stands. The
// verdict is model/key-verdict.ts (the Contract and the gateway-config writer
// use the same one); this step writes it to status with one Event for what the
// reconcile did, and says when to look again (expiry, end of a grace period).
import type { ReconcileContext, ReconcileResult } from '../../../kube/controller.ts';
import { ownConditions, type Condition, type ConditionInput } from '../../../kube/conditions.ts';
import type { ApiKey } from '../../../api/v1alpha1/index.ts';
import type { Access } from '../../../model/access.ts';
import { keyVerdict, type KeyVerdict } from '../../../model/key-verdict.ts';
import { keyIdOf } from '../../../api/credential-format.ts';
import { APIKEYS } from '../../resources.ts';
import { ownHashesOf, secretNameOf } from '../apikey-desired.ts';
import { hashesOf } from '../consumer-desired.ts';
import { nextDeadline, type SecretOutcome } from '../credential-secret.ts';
import type { Done, Key, KeyContract, KeyEnv } from './env.ts';

/** The field manager of an ApiKey's status (server-side apply). */
export const APIKEY_MANAGER = 'crossgate-apikey';

/** States the consumer is warned about when the key enters them. */
const WARNED = new Set(['Rejected', 'Suspended', 'Expired']);

export interface KeyFacts {
  access: Access;
  contract: KeyContract | undefined;
  tierFound: boolean;
  secret: SecretOutcome;
  did: Done[];
  now: Date;
}

/** The key's verdict, or Pending while its Secret name is someone else's (it asks for nothing then). */
function verdictOf(key: Key, f: KeyFacts): KeyVerdict {
  if (f.secret.conflict) return { state: 'Pending', reason: 'SecretConflict', message: f.secret.conflict, usable: false };
  return keyVerdict(key, f.access, f.contract, f.tierFound, f.now);
}

export async function writeKeyStatus(env: KeyEnv, key: Key, f: KeyFacts, ctx: ReconcileContext): Promise<ReconcileResult | void> {
  const { deps } = env;
  const verdict = verdictOf(key, f);
  const was = deps.status.current(key);
  const ready = { type: 'Ready', status: verdict.usable ? ('True' as const) : ('False' as const), reason: verdict.reason, message: verdict.message };
  const stateChanged = was?.state !== verdict.state;
  if (stateChanged) ctx.log.info({ state: verdict.state, reason: verdict.reason }, 'key state');
  if (stateChanged || f.did.length > 0) {
    // One Event per reconcile (a write each: three per key at bulk scale); the first thing done names it (KeyIssued, KeyRotated…), else the new state.
    const warn = stateChanged && WARNED.has(verdict.state);
    const told = [...f.did.map((d) => d.message), ...(stateChanged ? [`${verdict.state}: ${verdict.message}`] : [])];
    deps.events.record(key, warn ? 'Warning' : 'Normal', f.did[0]?.reason ?? verdict.reason, told.join('; '));
  }
  // Only the key's own Secret: a teammate's Secret of the same name must not lend its keyId to this status.
  const secretName = secretNameOf(key);
  const fresh = f.secret.written ? hashesOf(f.secret.written) : ownHashesOf(key, env.secrets.get(`${key.metadata.namespace}/${secretName}`));
  const contract = f.contract;
  await applyKeyStatus(env, key, ready, {
    state: verdict.state,
    secretName: key.spec.revoked ? undefined : secretName,
    keyId: fresh.current && !key.spec.revoked ? keyIdOf(fresh.current) : undefined,
    contract: contract ? { namespace: contract.metadata.namespace!, name: contract.metadata.name! } : undefined,
    issuedAt: fresh.issuedAt,
    rotatedGeneration: fresh.current ? fresh.generation : undefined,
    previousKeyValidUntil: fresh.previous ? fresh.previousValidUntil : undefined,
  });

  // Wake up for the next deadline: expiry, or the end of a rotation grace period.
  return nextDeadline(key.spec.expiresAt, fresh, f.secret, f.now);
}

/** A key in a namespace no Organization owns: nothing is issued; admission refuses such keys once the webhook runs. */
export async function writeNoOrganizationStatus(env: KeyEnv, key: Key, message: string): Promise<void> {
  await applyKeyStatus(env, key, { type: 'Ready', status: 'False', reason: 'NoOrganization', message }, { state: 'Pending' });
}

/** The ApiKey status fields besides observedGeneration and conditions; one left out of a write is removed. */
type KeyFields = Pick<NonNullable<ApiKey['status']>, 'state' | 'secretName' | 'keyId' | 'contract' | 'issuedAt' | 'rotatedGeneration' | 'previousKeyValidUntil'>;

/** Every field the reconciler owns, in each write: the ones `fields` leaves out are removed. */
async function applyKeyStatus(env: KeyEnv, key: Key, ready: ConditionInput, fields: KeyFields): Promise<void> {
  const generation = key.metadata.generation ?? 0;
  const previous: Condition[] = env.deps.status.current(key)?.conditions ?? [];
  const none = { secretName: undefined, keyId: undefined, contract: undefined, issuedAt: undefined, rotatedGeneration: undefined, previousKeyValidUntil: undefined };
  await env.deps.status.applyStatus(key, APIKEYS.plural, { observedGeneration: generation, conditions: ownConditions(previous, [ready], generation), ...none, ...fields }, APIKEY_MANAGER);
}
