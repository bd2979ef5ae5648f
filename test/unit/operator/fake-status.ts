// What the API server does with a status write, for unit tests that run
// reconcilers over an in-memory API: merge patches (RFC 7386 on the top-level
// status members; null removes) and server-side apply with field ownership per
// manager, at the granularity crossgate's status uses: a top-level member, or
// one condition of the list map keyed by type. Enough to prove that two
// managers applying one object's status keep each other's fields and
// conditions, and that a manager dropping a field it alone owns removes it.
// The real thing runs in the e2e suite (test/e2e/api-manager-objects.test.ts).
import { isDeepStrictEqual } from 'node:util';
import { APPLY_PATCH } from '../../../kube/status.ts';

type Status = Record<string, unknown>;
type Cond = { type: string; [k: string]: unknown };

export interface StatusWrite {
  body: unknown;
  fieldManager?: string;
  force?: boolean;
}

/** Field paths: "gateway", "conditions/Ready". */
function fieldsOf(status: Status): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(status)) {
    if (k === 'conditions' && Array.isArray(v)) for (const c of v as Cond[]) out.set(`conditions/${c.type}`, c);
    else out.set(k, v);
  }
  return out;
}

function statusOf(fields: Map<string, unknown>, order: readonly Cond[]): Status {
  const out: Status = {};
  const conditions: Cond[] = [];
  for (const [path, v] of fields) {
    if (path.startsWith('conditions/')) conditions.push(v as Cond);
    else out[path] = v;
  }
  // The list keeps its stored order; new types are appended.
  const rank = (c: Cond) => {
    const i = order.findIndex((o) => o.type === c.type);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  if (conditions.length) out.conditions = conditions.sort((a, b) => rank(a) - rank(b));
  return out;
}

export class StatusOwnership {
  /** object key → manager → the field paths it owns. */
  #owners = new Map<string, Map<string, Set<string>>>();
  /** Every write, for assertions: which manager, which content type. */
  writes: Array<{ key: string; manager: string; contentType: string }> = [];

  /** Who owns what of one object (a copy). */
  owners(key: string): Record<string, string[]> {
    return Object.fromEntries([...(this.#owners.get(key) ?? new Map<string, Set<string>>())].map(([m, s]) => [m, [...s].sort()]));
  }

  /** The status after `write` (sent with `contentType`) to the object `key` whose status is `status`. */
  write(key: string, status: Status | undefined, write: StatusWrite, contentType: string): Status {
    const manager = write.fieldManager ?? 'unknown';
    this.writes.push({ key, manager, contentType });
    let owners = this.#owners.get(key);
    if (!owners) this.#owners.set(key, (owners = new Map()));
    const mine = owners.get(manager) ?? new Set<string>();
    owners.set(manager, mine);
    const stored = fieldsOf(status ?? {});
    const order = ((status?.conditions as Cond[] | undefined) ?? []).slice();
    const sent = (write.body as { status?: Status }).status ?? {};

    if (contentType === APPLY_PATCH) {
      const applied = fieldsOf(sent);
      for (const [path, v] of applied) {
        for (const [other, theirs] of owners) {
          if (other === manager || !theirs.has(path) || isDeepStrictEqual(stored.get(path), v)) continue; // equal values are shared
          if (!write.force) throw Object.assign(new Error(`conflict: ${path} is owned by ${other}`), { code: 409 });
          theirs.delete(path);
        }
      }
      // What this manager owned and no longer applies goes, unless another manager still owns it.
      for (const path of mine) {
        if (applied.has(path)) continue;
        mine.delete(path);
        if (![...owners.values()].some((s) => s.has(path))) stored.delete(path);
      }
      for (const [path, v] of applied) {
        stored.set(path, v);
        mine.add(path);
      }
    } else {
      for (const [k, v] of Object.entries(sent)) {
        // A merge patch replaces a list whole: conditions left out of it are gone.
        const paths = k === 'conditions' ? [...stored.keys()].filter((p) => p.startsWith('conditions/')) : [k];
        for (const p of paths) {
          stored.delete(p);
          for (const s of owners.values()) s.delete(p);
        }
        if (v === null) continue;
        for (const [path, x] of fieldsOf({ [k]: v })) {
          stored.set(path, x);
          mine.add(path);
        }
      }
    }
    return statusOf(stored, order);
  }
}
