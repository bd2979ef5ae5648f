// A tiny in-memory stand-in for the API server's list/watch protocol, on
// 127.0.0.1, for informer UNIT tests only (e2e tests use the real
// kube-apiserver). It speaks just enough: paginated lists with a
// resourceVersion, watches resumed from a resourceVersion with bookmarks,
// 410 Gone for compacted versions, and knobs to break things on purpose:
// failing requests, watches that go silent (a half-open connection), and
// forced expiry.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; uid?: string; generation?: number; [k: string]: unknown };
  [k: string]: unknown;
}

interface LoggedEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
}

interface OpenWatch {
  res: ServerResponse;
  namespace: string | undefined;
  selector: Record<string, string>;
  stalled: boolean;
  timer?: NodeJS.Timeout;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  watch: boolean;
  accept: string | undefined;
}

type Failure = { status: number; count: number };

export class FakeApiServer {
  readonly basePath: string;
  readonly plural: string;
  readonly kind: string;
  readonly apiVersion: string;
  server!: Server;
  port = 0;
  requests: RequestRecord[] = [];
  #rv = 1;
  #objects = new Map<string, Obj>();
  #log: LoggedEvent[] = [];
  #compactedRv = 0;
  #watches = new Set<OpenWatch>();
  #fail: { list?: Failure; watch?: Failure } = {};
  /** Answer too-old watches with HTTP 410 instead of a 200 + ERROR event. */
  goneAsHttpStatus = false;
  /** New watches start stalled (deliver nothing, never end). */
  stallNewWatches = false;

  /** basePath like "/apis/test.dev/v1" and plural "widgets". */
  constructor(opts: { group: string; version: string; plural: string; kind: string }) {
    this.basePath = opts.group ? `/apis/${opts.group}/${opts.version}` : `/api/${opts.version}`;
    this.plural = opts.plural;
    this.kind = opts.kind;
    this.apiVersion = opts.group ? `${opts.group}/${opts.version}` : opts.version;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const w of this.#watches) {
      if (w.timer) clearTimeout(w.timer);
      w.res.destroy();
    }
    this.#watches.clear();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  /** A KubeConfig pointing at this server (plain http; skipTLSVerify is what client-node requires for http). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-real-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
      currentContext: 'fake',
    });
    return kc;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  openWatchCount(): number {
    return this.#watches.size;
  }

  watchRequests(): RequestRecord[] {
    return this.requests.filter((r) => r.watch);
  }

  listRequests(): RequestRecord[] {
    return this.requests.filter((r) => !r.watch);
  }

  // -- state changes (test side) --------------------------------------------

  upsert(obj: Obj): Obj {
    const key = keyOf(obj);
    const existed = this.#objects.has(key);
    const stored: Obj = structuredClone({ ...obj, apiVersion: this.apiVersion, kind: this.kind });
    stored.metadata.resourceVersion = String(++this.#rv);
    stored.metadata.uid ??= `uid-${key}`;
    this.#objects.set(key, stored);
    this.#emit({ rv: this.#rv, type: existed ? 'MODIFIED' : 'ADDED', obj: stored });
    return stored;
  }

  remove(namespace: string | undefined, name: string): void {
    const key = namespace ? `${namespace}/${name}` : name;
    const obj = this.#objects.get(key);
    if (!obj) return;
    this.#objects.delete(key);
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ rv: this.#rv, type: 'DELETED', obj: gone });
  }

  /** Send a BOOKMARK at the current resourceVersion to every live watch. */
  bookmark(): void {
    const rv = String(++this.#rv);
    for (const w of this.#watches) {
      if (!w.stalled) write(w.res, { type: 'BOOKMARK', object: { apiVersion: this.apiVersion, kind: this.kind, metadata: { resourceVersion: rv } } });
    }
  }

  /** Open watches stop delivering anything but stay open: a half-open connection. */
  stallWatches(): void {
    for (const w of this.#watches) {
      w.stalled = true;
      // Its server-side timeout would never reach the client either.
      if (w.timer) clearTimeout(w.timer);
    }
  }

  /** Forget history up to now: resuming from an older resourceVersion gets 410. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#log = [];
  }

  /** compact(), then send 410 Expired to every open watch (stalled or not) and end it. */
  expireWatches(): void {
    this.compact();
    for (const w of this.#watches) {
      write(w.res, { type: 'ERROR', object: goneStatus() });
      this.#endWatch(w);
    }
  }

  /** End every open watch cleanly (as a server-side timeout does). */
  endWatches(): void {
    for (const w of this.#watches) this.#endWatch(w);
  }

  /** The next `count` list (or watch) requests fail with `status`. */
  failNext(kind: 'list' | 'watch', count: number, status = 500): void {
    this.#fail[kind] = { status, count };
  }

  /** Resolve when `pred` holds (polled). */
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // -- protocol ---------------------------------------------------------------

  #emit(ev: LoggedEvent): void {
    this.#log.push(ev);
    for (const w of this.#watches) {
      if (!w.stalled && matches(ev.obj, w.namespace, w.selector)) write(w.res, { type: ev.type, object: ev.obj });
    }
  }

  #endWatch(w: OpenWatch): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watches.delete(w);
    w.res.end();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query.watch === 'true' || query.watch === '1';
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, watch: isWatch, accept: req.headers.accept });

    const m = url.pathname.match(/^(.*?)(?:\/namespaces\/([^/]+))?\/([^/]+)$/);
    if (req.method !== 'GET' || !m || m[1] !== this.basePath || m[3] !== this.plural) {
      sendStatus(res, 404, 'NotFound', `no route ${url.pathname}`);
      return;
    }
    if (req.headers.authorization !== 'Bearer not-a-real-token') {
      sendStatus(res, 401, 'Unauthorized', 'no token');
      return;
    }
    const namespace = m[2];
    const selector = parseSelector(query.labelSelector);
    const fail = this.#fail[isWatch ? 'watch' : 'list'];
    if (fail && fail.count > 0) {
      fail.count--;
      sendStatus(res, fail.status, fail.status === 410 ? 'Expired' : 'InternalError', 'injected failure');
      return;
    }
    if (isWatch) this.#watch(req, res, namespace, selector, query);
    else this.#list(res, namespace, selector, query);
  }

  #list(res: ServerResponse, namespace: string | undefined, selector: Record<string, string>, query: Record<string, string>): void {
    const all = [...this.#objects.values()].filter((o) => matches(o, namespace, selector)).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    let offset = 0;
    let rv = this.resourceVersion;
    if (query.continue) {
      const tok = JSON.parse(Buffer.from(query.continue, 'base64').toString()) as { offset: number; rv: string };
      offset = tok.offset;
      rv = tok.rv;
    }
    const limit = query.limit ? Number(query.limit) : all.length;
    const page = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? Buffer.from(JSON.stringify({ offset: offset + limit, rv })).toString('base64') : undefined;
    // Like the real server for typed lists: items without apiVersion/kind.
    const items = page.map((o) => {
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: this.apiVersion, kind: `${this.kind}List`, metadata: { resourceVersion: rv, continue: next }, items }));
  }

  #watch(req: IncomingMessage, res: ServerResponse, namespace: string | undefined, selector: Record<string, string>, query: Record<string, string>): void {
    const from = Number(query.resourceVersion ?? '0');
    if (from < this.#compactedRv) {
      if (this.goneAsHttpStatus) {
        sendStatus(res, 410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      write(res, { type: 'ERROR', object: goneStatus() });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: OpenWatch = { res, namespace, selector, stalled: this.stallNewWatches };
    if (!w.stalled) {
      for (const ev of this.#log) if (ev.rv > from && matches(ev.obj, namespace, selector)) write(res, { type: ev.type, object: ev.obj });
    }
    this.#watches.add(w);
    const timeout = Number(query.timeoutSeconds ?? '0');
    if (timeout > 0 && !w.stalled) w.timer = setTimeout(() => this.#endWatch(w), timeout * 1000);
    req.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.#watches.delete(w);
    });
  }
}

function keyOf(o: Obj): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function parseSelector(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k) out[k] = v ?? '';
  }
  return out;
}

function matches(o: Obj, namespace: string | undefined, selector: Record<string, string>): boolean {
  if (namespace && o.metadata.namespace !== namespace) return false;
  for (const [k, v] of Object.entries(selector)) if (o.metadata.labels?.[k] !== v) return false;
  return true;
}

function write(res: ServerResponse, ev: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(ev)}\n`);
}

function goneStatus() {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
}
