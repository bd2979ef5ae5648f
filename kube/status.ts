// Writing .status through the /status subresource with server-side apply
// (applyStatus), one field manager per reconciler (crossgate-organization,
// crossgate-apikey, …): each sends only the fields and condition types it
// owns, so reconcilers that write one object's status (ApiInstance: apiinstance
// and apianalytics) never copy, and so take over, each other's fields, as
// Cluster API's patch helper keeps controllers apart; and a kind one
// reconciler writes today can get a second writer without a change here.
//
// Why /status: the status subresource ignores spec changes (and the main
// resource ignores status), so a reconciler can never clobber a user's
// concurrent spec edit; an apply needs no resourceVersion, so a status write
// does not fail just because the object moved on. A field a manager stops
// setting is sent as absent and the server removes it; what the merge patches
// of earlier versions (manager crossgate-operator) left co-owned is put right
// with a merge patch (leftovers()).
//
// The client is the subset of client-node's CustomObjectsApi used here; the
// operator passes one over KubeHttp (api-writers.ts), tests a fake. The
// content type travels in WriteOptions: client-node's generated patch*Status
// would pick application/json-patch+json on its own.
//
// Writes are skipped when the desired fields equal the current ones, also at
// start, so a steady-state reconcile makes no API calls (and wakes no watchers).
//
// The informer cache trails a write by a moment: a reconcile woken in between
// (by a Secret or Contract event) would see the old status, recompute the same
// new one and write it a second time. The writer remembers what it last wrote
// to each object and from which resourceVersion; while the cache still shows
// that resourceVersion, current() answers with what was written. Reconcilers
// read their previous conditions through current() for the same reason.
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';

/** RFC 7386 JSON merge patch. */
export const MERGE_PATCH = 'application/merge-patch+json';
/** Server-side apply (a JSON body is valid YAML). */
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** How a write is sent: its deadline and, for patches, the patch type. */
export interface WriteOptions {
  timeoutMs?: number;
  contentType?: string;
}

/** The subset of CustomObjectsApi used here (api-writers.ts implements it over KubeHttp; a fake in tests). */
export interface StatusClient {
  patchNamespacedCustomObjectStatus(
    param: { group: string; version: string; namespace: string; plural: string; name: string; body: unknown; fieldManager?: string; force?: boolean },
    options?: WriteOptions,
  ): Promise<unknown>;
  patchClusterCustomObjectStatus(
    param: { group: string; version: string; plural: string; name: string; body: unknown; fieldManager?: string; force?: boolean },
    options?: WriteOptions,
  ): Promise<unknown>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** JSON round-trip: drops undefined members so comparisons match what the server stores. */
export function normalizeJson<T>(v: T): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Object members that are null dropped (recursively; arrays kept as they are):
 * what the server stores after a merge patch, where null means "remove".
 */
export function withoutNulls(v: Json): Json {
  if (!isObject(v)) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

/**
 * The RFC 7386 merge patch that turns `from` into `to` (objects recurse,
 * everything else is replaced, removed members become null). Undefined when
 * they are equal. A null member of `to` means "absent", as it will be once
 * stored: without this, a desired `{ field: null }` never equals the stored
 * status and every reconcile would send a patch that changes nothing.
 */
export function mergePatch(from: unknown, to: unknown): Json | undefined {
  const a = normalizeJson(from);
  const b = withoutNulls(normalizeJson(to));
  if (isDeepStrictEqual(a, b)) return undefined;
  if (!isObject(a) || !isObject(b)) return b;
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(a)) if (!(k in b)) patch[k] = null;
  for (const [k, v] of Object.entries(b)) {
    if (!(k in a)) patch[k] = v;
    else {
      const sub = mergePatch(a[k], v);
      if (sub !== undefined) patch[k] = sub;
    }
  }
  return patch;
}

export interface StatusWriterOptions {
  client: StatusClient;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

/** Writes remembered (LRU): the cache catches up within milliseconds, so a few thousand suffice. */
const RECENT_WRITES = 4096;

export class StatusWriter {
  #client: StatusClient;
  #timeoutMs: number;
  /** Object → the resourceVersion a status write was computed from, and the status written. */
  #recent = new Map<string, { fromVersion: string; status: Json }>();

  constructor(opts: StatusWriterOptions) {
    this.#client = opts.client;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /**
   * The object's status as this writer knows it: what it wrote last while the
   * cached object (same resourceVersion as when that write was computed) has
   * not caught up yet, else the cached status.
   */
  current<S = unknown>(obj: KubernetesObject & { status?: S }): S | undefined {
    const id = recentKey(obj);
    const r = this.#recent.get(id);
    if (!r) return obj.status;
    if (r.fromVersion === obj.metadata?.resourceVersion) return r.status as S;
    this.#recent.delete(id); // the cache has moved on (our write, or someone else's): it is the truth again
    return obj.status;
  }

  /**
   * Server-side apply of the status fields one reconciler owns, as field
   * manager `manager` (e.g. "crossgate-apiinstance"), with force. `obj` is
   * the object as last read (from the informer cache): its apiVersion, kind,
   * name, namespace and current status; `plural` is the resource's REST
   * name. Returns false without a request when nothing changes, true after a
   * write. The fields and condition types of other managers are left as
   * they are. `desired` holds only this manager's fields; a member that is
   * null or undefined is owned but absent now (not sent: the server removes
   * it once no manager sets it). `desired.conditions` holds only this
   * manager's condition types
   * (the list is a map keyed by type; build it with ownConditions so
   * lastTransitionTime moves only when the status does).
   *
   * Skipped without a request when the object already shows every desired
   * member, also the first time after a start (no burst of writes at every
   * start or leader change). Ownership is not needed for that: what a later
   * apply leaves in place because another manager co-owns it is put right by
   * the merge patch after the apply.
   */
  async applyStatus(obj: KubernetesObject & { status?: unknown }, plural: string, desired: Record<string, unknown>, manager: string): Promise<boolean> {
    if (!obj.kind) throw new Error(`applyStatus needs the object's kind (${obj.apiVersion ?? '?'} ${obj.metadata?.name ?? '?'}): an apply body names it`);
    const current = normalizeJson(this.current(obj) ?? {});
    const next = overlay(current, desired);
    if (isDeepStrictEqual(next, current)) return false;
    const body: Record<string, Json> = {
      apiVersion: obj.apiVersion ?? null,
      kind: obj.kind,
      metadata: { name: obj.metadata?.name ?? null, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) },
      status: withoutNulls(normalizeJson(desired)),
    };
    const stored = await this.#send(obj, plural, body, { fieldManager: manager, force: true }, APPLY_PATCH);
    // What the apply left in place is still owned by the merge-patch manager of earlier versions: put it right.
    const left = leftovers(stored, desired);
    if (left) await this.#send(obj, plural, { status: left }, { fieldManager: manager }, MERGE_PATCH);
    this.#remember(obj, next);
    return true;
  }

  async #send(obj: KubernetesObject, plural: string, body: Record<string, Json>, who: { fieldManager: string; force?: boolean }, contentType: string): Promise<unknown> {
    const name = obj.metadata?.name;
    if (!name || !obj.apiVersion?.includes('/')) throw new Error('a status write needs a custom object with apiVersion group/version and a name');
    const [group, version] = obj.apiVersion.split('/') as [string, string];
    const ro: WriteOptions = { timeoutMs: this.#timeoutMs, contentType };
    const namespace = obj.metadata?.namespace;
    if (namespace) return this.#client.patchNamespacedCustomObjectStatus({ group, version, namespace, plural, name, body, ...who }, ro);
    return this.#client.patchClusterCustomObjectStatus({ group, version, plural, name, body, ...who }, ro);
  }

  /** What a write left on the server, answered by current() until the cache moves past the version it was computed from. */
  #remember(obj: KubernetesObject, status: Json): void {
    const from = obj.metadata?.resourceVersion;
    if (!from) return;
    const id = recentKey(obj);
    this.#recent.delete(id);
    this.#recent.set(id, { fromVersion: from, status });
    if (this.#recent.size > RECENT_WRITES) this.#recent.delete(this.#recent.keys().next().value!);
  }
}

/**
 * The merge patch that removes what an apply of `desired` left on the object
 * it answered with: a member the manager dropped, or the entries and fields
 * of a member it sets that it no longer sends (an environment, a peer, a
 * nested field), when another manager still owns them. Each top-level member
 * but conditions has one writer, so the answer must show exactly what was
 * sent; conditions are shared by type and left alone. Undefined when nothing
 * is left (or the answer shows no status).
 */
export function leftovers(answer: unknown, desired: Record<string, unknown>): Record<string, Json> | undefined {
  const status = isObject(answer) ? answer.status : undefined;
  if (!isObject(status)) return undefined;
  const patch: Record<string, Json> = {};
  for (const [k, v] of Object.entries(desired)) {
    if (k === 'conditions' || status[k] === undefined) continue;
    const want = withoutNulls(normalizeJson(v));
    const fix = want === null ? null : mergePatch(status[k], want);
    if (fix !== undefined) patch[k] = fix;
  }
  return Object.keys(patch).length ? patch : undefined;
}

/**
 * `status` after an apply of `desired` as far as this writer can tell: its
 * members replaced (null or undefined removes), conditions replaced per type.
 */
export function overlay(status: Json, desired: Record<string, unknown>): Json {
  const out: Record<string, Json> = isObject(status) ? { ...status } : {};
  for (const [k, raw] of Object.entries(desired)) {
    const v = withoutNulls(normalizeJson(raw));
    if (v === null) delete out[k];
    else if (k === 'conditions' && Array.isArray(v) && Array.isArray(out[k])) out[k] = mergeByType(out[k], v);
    else out[k] = v;
  }
  return out;
}

/** The list map keyed by type: entries of `mine` replace those of the same type, new types are appended. */
function mergeByType(list: Json[], mine: Json[]): Json[] {
  const typeOf = (c: Json) => (isObject(c) ? c.type : undefined);
  const out = list.map((c) => mine.find((m) => typeOf(m) === typeOf(c)) ?? c);
  for (const m of mine) if (!list.some((c) => typeOf(c) === typeOf(m))) out.push(m);
  return out;
}

function recentKey(obj: KubernetesObject): string {
  const m = obj.metadata;
  return m?.uid ?? `${obj.apiVersion}/${obj.kind}/${m?.namespace ?? ''}/${m?.name ?? ''}`;
}
