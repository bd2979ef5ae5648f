// An in-memory API for unit tests that run reconcilers in a Manager: lists
// and watch streams of every collection (by plural, label selectors and a
// metadata.name field selector honoured), object reads and writes (POST,
// PUT, merge PATCH, DELETE with a uid precondition, held by finalizers) with
// the errors the server gives (404, 409 AlreadyExists, 409 Conflict), and a
// status client whose writes go through StatusOwnership (fake-status.ts):
// merge patches, and server-side applies with ownership per field manager.
// The real apiserver runs in test/e2e.
import { KubeHttpError, type ListWatchClient, type Query, type RequestOptions } from '../../../kube/kube.ts';
import { MERGE_PATCH, type StatusClient } from '../../../kube/status.ts';
import { StatusOwnership } from './fake-status.ts';

export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

/** Where a REST path points: a collection (no name) or one object. */
function parsePath(path: string): { plural: string; namespace?: string; name?: string } {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const rest = parts[0] === 'apis' ? parts.slice(3) : parts.slice(2);
  if (rest[0] === 'namespaces' && rest.length >= 3) return { namespace: rest[1], plural: rest[2]!, name: rest[3] };
  return { plural: rest[0]!, name: rest[1] };
}

/** "a=b,c" → whether `labels` match (equality and existence, what the operator's informers use). */
function matches(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=') as [string, string | undefined];
    return v === undefined ? labels?.[k] !== undefined : labels?.[k] === v;
  });
}

const fail = (code: number, reason: string, what: string) => new KubeHttpError(code, { code, reason, message: what }, what);

/** RFC 7386 onto a copy of `target`. */
function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

export class MemoryApi implements ListWatchClient {
  rv = 1;
  objects = new Map<string, Map<string, Obj>>();
  streams = new Map<string, Set<(line: string, obj: Obj) => void>>();
  /** Every write request, as "METHOD path". */
  writes: string[] = [];
  /** Every GET of one object, as "plural ns/name". */
  reads: string[] = [];

  store(plural: string): Map<string, Obj> {
    let s = this.objects.get(plural);
    if (!s) this.objects.set(plural, (s = new Map()));
    return s;
  }
  subscribers(plural: string): Set<(line: string, obj: Obj) => void> {
    let s = this.streams.get(plural);
    if (!s) this.streams.set(plural, (s = new Set()));
    return s;
  }
  key(o: Pick<Obj, 'metadata'>): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }
  get(plural: string, key: string): Obj | undefined {
    return this.store(plural).get(key);
  }

  upsert(plural: string, obj: Obj): Obj {
    const key = this.key(obj);
    const existed = this.store(plural).get(key);
    const stored = structuredClone(obj);
    // Written without a status (a spec edit): the status stays, as the main resource ignores it.
    if (existed && !('status' in obj) && existed.status !== undefined) stored.status = structuredClone(existed.status);
    stored.metadata.resourceVersion = String(++this.rv);
    stored.metadata.uid ??= existed?.metadata.uid ?? `uid-${key}`;
    stored.metadata.creationTimestamp ??= existed?.metadata.creationTimestamp;
    this.store(plural).set(key, stored);
    for (const send of this.subscribers(plural)) send(JSON.stringify({ type: existed ? 'MODIFIED' : 'ADDED', object: stored }), stored);
    return stored;
  }

  remove(plural: string, key: string): void {
    const gone = this.store(plural).get(key);
    if (!gone) return;
    this.store(plural).delete(key);
    gone.metadata.resourceVersion = String(++this.rv);
    for (const send of this.subscribers(plural)) send(JSON.stringify({ type: 'DELETED', object: gone }), gone);
  }

  async request<T>(method: string, path: string, opts?: RequestOptions): Promise<T> {
    const { plural, namespace, name } = parsePath(path);
    const key = name && (namespace ? `${namespace}/${name}` : name);
    const found = key ? this.store(plural).get(key) : undefined;
    const body = opts?.body as Obj | undefined;
    if (method !== 'GET') this.writes.push(`${method} ${path}`);
    switch (method) {
      case 'GET': {
        if (key) {
          this.reads.push(`${plural} ${key}`);
          if (!found) throw fail(404, 'NotFound', `GET ${path}`);
          return structuredClone(found) as T;
        }
        const byName = /^metadata\.name=(.+)$/.exec(String(opts?.query?.fieldSelector ?? ''))?.[1];
        const items = [...this.store(plural).values()].filter(
          (o) => (!namespace || o.metadata.namespace === namespace) && (!byName || o.metadata.name === byName) && matches(o.metadata.labels, opts?.query?.labelSelector as string | undefined),
        );
        return { metadata: { resourceVersion: String(this.rv) }, items: items.map((o) => structuredClone(o)) } as T;
      }
      case 'POST': {
        const obj = { ...body!, metadata: { ...body!.metadata, ...(namespace ? { namespace } : {}) } } as Obj;
        if (this.store(plural).has(this.key(obj))) throw fail(409, 'AlreadyExists', `POST ${path}`);
        return this.upsert(plural, { ...obj, metadata: { ...obj.metadata, uid: undefined, generation: 1 } }) as T;
      }
      case 'PUT':
      case 'PATCH': {
        if (!found) throw fail(404, 'NotFound', `${method} ${path}`);
        const rv = body?.metadata?.resourceVersion;
        if (rv && rv !== found.metadata.resourceVersion) throw fail(409, 'Conflict', `${method} ${path}`);
        if (method === 'PATCH' && opts?.contentType !== MERGE_PATCH) throw new Error(`unexpected patch type ${opts?.contentType}`);
        const next = (method === 'PUT' ? { ...body, status: found.status } : merge(found, body)) as Obj;
        // The last finalizer of an object being deleted goes: so does the object.
        if (found.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
          this.remove(plural, key!);
          return next as T;
        }
        return this.upsert(plural, { ...next, metadata: { ...next.metadata, uid: found.metadata.uid, resourceVersion: undefined } }) as T;
      }
      case 'DELETE': {
        if (!found) throw fail(404, 'NotFound', `DELETE ${path}`);
        const uid = (body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
        if (uid && uid !== found.metadata.uid) throw fail(409, 'Conflict', `DELETE ${path}: precondition failed`);
        // Finalizers hold it: it is marked, and goes once they are removed.
        if (found.metadata.finalizers?.length) this.upsert(plural, { ...found, metadata: { ...found.metadata, deletionTimestamp: new Date().toISOString() } });
        else this.remove(plural, key!);
        return {} as T;
      }
    }
    throw new Error(`unexpected ${method} ${path}`);
  }

  async stream(path: string, query: Query, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const { plural, namespace } = parsePath(path);
    const lines: string[] = [];
    let wake: (() => void) | undefined;
    const send = (line: string, obj: Obj) => {
      if ((namespace && obj.metadata.namespace !== namespace) || !matches(obj.metadata.labels, query.labelSelector as string | undefined)) return;
      lines.push(line);
      wake?.();
    };
    const subs = this.subscribers(plural);
    subs.add(send);
    signal.addEventListener('abort', () => wake?.(), { once: true });
    return (async function* () {
      try {
        while (!signal.aborted) {
          const line = lines.shift();
          if (line !== undefined) yield new TextEncoder().encode(`${line}\n`);
          else await new Promise<void>((r) => (wake = r));
        }
      } finally {
        subs.delete(send);
      }
    })();
  }
}

/**
 * Status writes into `api`, as the server does them: merge patches, and
 * server-side applies with ownership per field manager (fake-status.ts).
 * `onWrite` hears the plural of every write.
 */
export function statusClientOn(api: MemoryApi, ownership = new StatusOwnership(), onWrite: (plural: string) => void = () => {}): StatusClient {
  const write = (p: { plural: string; namespace?: string; name: string; body: unknown; fieldManager?: string; force?: boolean }, contentType: string | undefined) => {
    onWrite(p.plural);
    const key = p.namespace ? `${p.namespace}/${p.name}` : p.name;
    const current = api.store(p.plural).get(key);
    if (!current) throw fail(404, 'NotFound', `no ${p.plural} ${key}`);
    const status = ownership.write(`${p.plural}/${key}`, current.status as Record<string, unknown> | undefined, p, contentType ?? MERGE_PATCH);
    return Promise.resolve(api.upsert(p.plural, { ...current, status }));
  };
  return {
    patchNamespacedCustomObjectStatus: (p, o) => write(p, o?.contentType),
    patchClusterCustomObjectStatus: (p, o) => write(p, o?.contentType),
  };
}
