// Step 3 of an Application reconcile: tell the consumer where each access entry
// stands (model/key-verdict.ts accessVerdict, the one the Contract reconciler
// and the gateway-config writer use), how many are callable, and Ready: True
// while at least one entry is Approved (the client secret works somewhere).
// Written with server-side apply (manager crossgate-application); one Event
// for what the reconcile did, and when to look again (expiry, end of a grace).
import type { ReconcileContext, ReconcileResult } from '../../../kube/controller.ts';
import { ownConditions, type ConditionInput } from '../../../kube/conditions.ts';
import { reportConditionChange } from '../../../kube/effects.ts';
import { accessVerdict, entryConsumer, type KeyVerdict } from '../../../model/key-verdict.ts';
import { targetId } from '../../../model/access-targets.ts';
import { APPLICATIONS } from '../../resources.ts';
import { appSecretNameOf, ownAppHashesOf, type EntryFacts } from '../application-desired.ts';
import { nextDeadline, type SecretOutcome } from '../credential-secret.ts';
import { APPLICATION_MANAGER, type App, type AppEnv, type Done } from './env.ts';


export interface AppFacts {
  entries: EntryFacts[];
  secret: SecretOutcome;
  did: Done[];
  now: Date;
}

/** Each entry's verdict (on its Contract as the contracts step left it), or Pending while the Secret name is someone else's. */
export function verdictsOf(app: App, f: AppFacts): KeyVerdict[] {
  return f.entries.map((e) =>
    f.secret.conflict && !app.spec.revoked
      ? { state: 'Pending', reason: 'SecretConflict', message: f.secret.conflict, usable: false }
      : e.duplicateOf !== undefined
        ? e.verdict
        : accessVerdict(entryConsumer(app, e.entry), e.access, e.contract, e.tierFound, f.now),
  );
}

/** Ready from the entries' verdicts: True with at least one Approved; the message lists every entry briefly. */
export function readyOf(app: App, f: AppFacts, verdicts: KeyVerdict[]): ConditionInput {
  const approved = verdicts.filter((v) => v.usable).length;
  // Duplicate entries are ignored: they neither count nor block.
  const counted = verdicts.filter((_, i) => f.entries[i]!.duplicateOf === undefined);
  const list = f.entries.map((e, i) => `${e.target.kind === 'ApiGroup' ? 'group ' : ''}${targetId(e.target)}: ${verdicts[i]!.state} (${verdicts[i]!.reason})`).join('; ');
  if (f.secret.conflict && !app.spec.revoked) return { type: 'Ready', status: 'False', reason: 'SecretConflict', message: f.secret.conflict };
  if (verdicts.length === 0) return { type: 'Ready', status: 'False', reason: 'NoAccess', message: 'spec.access lists no API' };
  if (approved > 0) return { type: 'Ready', status: 'True', reason: approved === counted.length ? 'Approved' : 'PartlyApproved', message: `${approved}/${counted.length} approved: ${list}` };
  // None callable: one entry's reason, or the first one's when all agree, else a summary.
  const reasons = new Set(verdicts.map((v) => v.reason));
  const reason = reasons.size === 1 ? verdicts[0]!.reason : 'NoneApproved';
  const message = verdicts.length === 1 ? verdicts[0]!.message : `0/${verdicts.length} approved: ${list}`;
  return { type: 'Ready', status: 'False', reason, message };
}

export async function writeAppStatus(env: AppEnv, app: App, f: AppFacts, ctx: ReconcileContext): Promise<ReconcileResult | void> {
  const { deps } = env;
  const verdicts = verdictsOf(app, f);
  const generation = app.metadata.generation ?? 0;
  const was = deps.status.current(app) as App['status'] | undefined;
  const ready = readyOf(app, f, verdicts);
  const entries = f.entries.map((e, i) => ({
    ...(e.target.kind === 'ApiGroup' ? { apiGroup: targetId(e.target) } : { apiInstance: targetId(e.target) }),
    tier: e.entry.tier,
    state: e.duplicateOf !== undefined ? ('Duplicate' as const) : verdicts[i]!.state,
    reason: verdicts[i]!.reason,
    message: verdicts[i]!.message.slice(0, 1024),
    ...(e.contract ? { contract: { namespace: e.contract.metadata.namespace!, name: e.contract.metadata.name! } } : {}),
  }));
  // One Event for what was done (ClientIssued, SecretRotated, ContractOpened…) and the entries that moved; Ready's change is its own Event.
  const idOf = (e: { apiInstance?: string; apiGroup?: string }) => (e.apiGroup ? `group ${e.apiGroup}` : (e.apiInstance ?? ''));
  // Compared with the entry at the same place when it names the same target (two entries may name one: the later is Duplicate), else the first that does.
  const before = (e: (typeof entries)[number], i: number) => {
    const same = was?.access?.[i];
    return same && idOf(same) === idOf(e) ? same : was?.access?.find((w) => idOf(w) === idOf(e));
  };
  const moved = entries.filter((e, i) => before(e, i)?.state !== e.state).map((e) => `${idOf(e)}: ${e.state} (${e.message})`);
  if (f.did.length > 0 || moved.length > 0) {
    deps.events.normal(app, f.did[0]?.reason ?? 'AccessChanged', [...f.did.map((d) => d.message), ...moved].join('; ').slice(0, 1024));
    if (moved.length > 0) ctx.log.info({ entries: entries.map((e) => `${idOf(e)}=${e.state}`) }, 'application access changed');
  }
  reportConditionChange(app, was?.conditions, ready, { events: deps.events, log: ctx.log, message: 'application state changed' });
  // Only the app's own Secret: a teammate's Secret of the same name must not lend its client ID to this status.
  const secretName = appSecretNameOf(app);
  const fresh = ownAppHashesOf(app, f.secret.written ?? env.secrets.get(`${app.metadata.namespace}/${secretName}`));
  const live = !app.spec.revoked && fresh.current !== undefined;
  await deps.status.applyStatus(
    app,
    APPLICATIONS.plural,
    {
      observedGeneration: generation,
      conditions: ownConditions(was?.conditions, [ready], generation),
      clientId: live ? fresh.clientId ?? null : null,
      secretName: app.spec.revoked ? null : secretName,
      issuedAt: live ? fresh.issuedAt ?? null : null,
      rotatedGeneration: live ? fresh.generation : null,
      previousSecretValidUntil: live && fresh.previous ? fresh.previousValidUntil ?? null : null,
      access: entries,
      approved: verdicts.filter((v) => v.usable).length,
    },
    APPLICATION_MANAGER,
  );

  return nextDeadline(app.spec.expiresAt, fresh, f.secret, f.now);
}

/** An app in a namespace no Organization owns: nothing is issued; admission refuses such apps once the webhook runs. */
export async function writeNoOrganizationStatus(env: AppEnv, app: App, message: string): Promise<void> {
  const generation = app.metadata.generation ?? 0;
  const was = env.deps.status.current(app) as App['status'] | undefined;
  await env.deps.status.applyStatus(
    app,
    APPLICATIONS.plural,
    { observedGeneration: generation, conditions: ownConditions(was?.conditions, [{ type: 'Ready', status: 'False', reason: 'NoOrganization', message }], generation), approved: 0 },
    APPLICATION_MANAGER,
  );
}
