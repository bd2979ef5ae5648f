// Small helpers for the effects every reconciler repeats: report a condition
// change (Event and log line), add or remove a finalizer, delete an object
// that may already be gone (or only while it is still the same object). Each takes only what it needs (a requester, an
// Event sink, a log), so reconcilers and tests hand them their own.
import type { KubernetesObject, ResourceRef } from './keys.ts';
import { objectPath } from './keys.ts';
import { isConflict, isNotFound, type RequestOptions } from './kube.ts';
import { findCondition, type Condition, type ConditionInput } from './conditions.ts';
import { APPLY_PATCH, MERGE_PATCH } from './status.ts';

/** The one method of KubeHttp these helpers use. */
export interface Requester {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
}

/** A catch handler that swallows 404 (the object is already gone) and rethrows the rest. */
export function ignoreNotFound(err: unknown): undefined {
  if (!isNotFound(err)) throw err;
  return undefined;
}

/** DELETE `path`; an object already gone counts as deleted. Returns false when it was gone. */
export async function deleteIfExists(http: Requester, path: string, opts?: RequestOptions): Promise<boolean> {
  return http.request('DELETE', path, opts).then(() => true, (err) => ignoreNotFound(err) ?? false);
}

/**
 * DELETE `path` only while it is still the object with `uid` (a precondition): one already gone, or made again
 * under the name meanwhile (the precondition fails with 409), is left alone. Returns false when nothing was deleted.
 */
export async function deleteIfStill(http: Requester, path: string, uid: string | undefined): Promise<boolean> {
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } };
  return http.request('DELETE', path, { body }).then(
    () => true,
    (err) => {
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    },
  );
}

/**
 * Add `finalizer` to `obj` unless it is there. Returns true when it sent the
 * PATCH: the caller should return and let the update event bring it back with
 * the new resourceVersion. The patch carries the resourceVersion read, so a
 * concurrent change to the list fails with 409 instead of being overwritten.
 */
export async function ensureFinalizer(http: Requester, res: ResourceRef, obj: KubernetesObject, finalizer: string): Promise<boolean> {
  const finalizers = obj.metadata?.finalizers ?? [];
  if (finalizers.includes(finalizer)) return false;
  await patchFinalizers(http, res, obj, [...finalizers, finalizer]);
  return true;
}

/** Remove `finalizer` from `obj` (a no-op when absent); an object already gone is fine. */
export async function removeFinalizer(http: Requester, res: ResourceRef, obj: KubernetesObject, finalizer: string): Promise<void> {
  const finalizers = obj.metadata?.finalizers ?? [];
  if (!finalizers.includes(finalizer)) return;
  await patchFinalizers(http, res, obj, finalizers.filter((f) => f !== finalizer)).catch(ignoreNotFound);
}

async function patchFinalizers(http: Requester, res: ResourceRef, obj: KubernetesObject, finalizers: string[]): Promise<void> {
  const m = obj.metadata ?? {};
  if (!m.name) throw new Error(`cannot change the finalizers of a ${res.kind ?? res.plural} without a name`);
  await http.request('PATCH', objectPath(res, m.namespace, m.name), {
    contentType: MERGE_PATCH,
    body: { metadata: { resourceVersion: m.resourceVersion, finalizers } },
  });
}

/** Where a condition change is reported (EventRecorder and a pino logger fit). */
export interface ChangeReport {
  events: { normal(obj: KubernetesObject, reason: string, message: string): void; warning(obj: KubernetesObject, reason: string, message: string): void };
  /** With `message`, the change is also logged at info with `fields`. */
  log?: { info(fields: object, message: string): void };
  message?: string;
  fields?: Record<string, unknown>;
  /** False conditions that are expected on the way (e.g. Progressing): no Warning Event. */
  quiet?: (c: ConditionInput) => boolean;
}

/** Whether `now` differs from the condition of its type in `previous` (status or reason). */
export function conditionChanged(previous: readonly Condition[] | undefined, now: Pick<ConditionInput, 'type' | 'status' | 'reason'>): boolean {
  const was = findCondition(previous, now.type);
  return was?.status !== now.status || was?.reason !== now.reason;
}

/**
 * When `now` changes its condition's status or reason: a Normal Event when it
 * is True, else a Warning (unless quiet), and a log line. Returns whether it
 * changed. Called before the status write, as the Event is the user's news.
 */
export function reportConditionChange(obj: KubernetesObject, previous: readonly Condition[] | undefined, now: ConditionInput, report: ChangeReport): boolean {
  if (!conditionChanged(previous, now)) return false;
  if (now.status === 'True') report.events.normal(obj, now.reason, now.message);
  else if (!report.quiet?.(now)) report.events.warning(obj, now.reason, now.message);
  if (report.log && report.message) report.log.info({ [now.type.toLowerCase()]: now.status, reason: now.reason, ...report.fields }, report.message);
  return true;
}

/** What applyOwned did: the object as applied, or nothing because the name is someone else's. */
export type OwnedApply = { applied: Record<string, any> } | { taken: true };

/** Field managers other than `manager` that hold fields outside status: someone else wrote this object. */
function foreignManagers(obj: Record<string, any>, manager: string): string[] {
  const entries = (obj.metadata?.managedFields ?? []) as { manager?: string; subresource?: string }[];
  return entries.filter((e) => e.manager !== manager && e.subresource !== 'status').map((e) => e.manager ?? '(unnamed)');
}

/**
 * Server-side apply of an object the caller renders and owns alone, closing the
 * race between its read and its write. `existingUid`: the uid of the object the
 * caller read and judged its own: applied with force (a hand edit is put back),
 * and with that uid, so one put in its place meanwhile fails the apply (a uid
 * is immutable: 422) instead of being taken over. No `existingUid` (nothing
 * was there): applied without force, so a same-name object made meanwhile by
 * someone else either conflicts (409) or, if no field overlaps, shows another
 * field manager; then every field this apply added is handed back (an empty
 * apply by the same manager removes what only it owned) and the name counts
 * as taken. Other errors (a 404 for an absent kind, …) are the caller's.
 */
export async function applyOwned(http: Requester, path: string, obj: { metadata: Record<string, unknown> } & Record<string, unknown>, manager: string, existingUid: string | undefined): Promise<OwnedApply> {
  const query = { fieldManager: manager, force: existingUid !== undefined };
  const body = existingUid !== undefined ? { ...obj, metadata: { ...obj.metadata, uid: existingUid } } : obj;
  let applied: Record<string, any>;
  try {
    applied = await http.request<Record<string, any>>('PATCH', path, { contentType: APPLY_PATCH, query, body });
  } catch (err) {
    // 409 without a uid: fields another manager holds (made meanwhile).
    if (existingUid === undefined) {
      if (isConflict(err)) return { taken: true };
      throw err;
    }
    // With one: refused because the object there now is another (the uid cannot change); anything else is the caller's.
    const now = await http.request<Record<string, any>>('GET', path).catch(ignoreNotFound);
    if (now && now.metadata?.uid !== existingUid) return { taken: true };
    throw err;
  }
  if (existingUid === undefined && foreignManagers(applied, manager).length > 0) {
    const bare = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace } };
    await http.request('PATCH', path, { contentType: APPLY_PATCH, query: { fieldManager: manager, force: false }, body: bare }).catch(ignoreNotFound);
    return { taken: true };
  }
  return { applied };
}
