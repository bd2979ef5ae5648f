// Kubernetes plumbing shared by the operator, webhook and gateway: a small
// JSON-over-HTTP client (KubeHttp) for requests and list/watch of any resource
// path, and error helpers that understand every error shape a client throws.
//
// Why a raw client instead of client-node's generated ones: informers need
// generic list/watch of arbitrary paths (core and custom, any selector) with
// full control over abort, timeouts and streaming, and the generated clients
// cost CPU per call and memory to load (docs/performance.md). Where the
// apiserver is and how to authenticate comes from kube-connection.ts;
// client-node.ts keeps what needs client-node itself.
import { Agent, request, type Dispatcher } from 'undici';
import { connectionFromKubeConfig, type KubeConfigLike, type KubeConnection } from './kube-connection.ts';

// ---------------------------------------------------------------------------
// Errors

/** A Kubernetes Status object, as returned in error bodies and watch ERROR events. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

/** An HTTP error from KubeHttp, shaped like client-node's ApiException (code) and Watch errors (statusCode). */
export class KubeHttpError extends Error {
  readonly statusCode: number;
  readonly code: number;
  readonly status: KubeStatus | undefined;
  constructor(statusCode: number, status: KubeStatus | undefined, what: string) {
    super(`${what}: HTTP ${statusCode}${status?.reason ? ` ${status.reason}` : ''}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'KubeHttpError';
    this.statusCode = statusCode;
    this.code = statusCode;
    this.status = status;
  }
}

function parseStatusBody(body: unknown): KubeStatus | undefined {
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') return parsed as KubeStatus;
    } catch {
      // not JSON: no Status
    }
  }
  return undefined;
}

/**
 * The HTTP status of any error the clients throw: client-node 2.x ApiException
 * (`code`, body often a JSON string), its Watch (`statusCode`), KubeHttpError,
 * or a Status object carried in the body.
 */
export function statusCodeOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown };
  // An HTTP status, not the legacy numeric code of a DOMException (a timed-out request's TimeoutError has code 23).
  const http = (c: unknown): c is number => typeof c === 'number' && c >= 100 && c <= 599 && !(err instanceof DOMException);
  if (http(e.statusCode)) return e.statusCode;
  if (http(e.code)) return e.code;
  const st = parseStatusBody(e.body);
  return typeof st?.code === 'number' ? st.code : undefined;
}

/** The Status `reason` (NotFound, AlreadyExists, Conflict, Expired, Gone, …) when the error carries one. */
export function statusReasonOf(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; body?: unknown };
  const st = (e.status && typeof e.status === 'object' ? (e.status as KubeStatus) : undefined) ?? parseStatusBody(e.body);
  return st?.reason;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
/** 409 from an update with a stale resourceVersion (not AlreadyExists, which is also 409). */
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409 && statusReasonOf(err) !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean => statusCodeOf(err) === 409 && statusReasonOf(err) === 'AlreadyExists';
/** Either 409: another writer won a create (AlreadyExists) or an update (Conflict) race; re-read and decide again. */
export const isWriteRace = (err: unknown): boolean => statusCodeOf(err) === 409;
/** 410: resourceVersion too old (watch) or continue token expired (list). */
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;
export const isForbidden = (err: unknown): boolean => statusCodeOf(err) === 403;

/**
 * A short, log-safe description of an error: status code, reason and Status
 * message, without the response headers and raw bodies ApiException.message
 * embeds.
 */
export function describeError(err: unknown): string {
  const code = statusCodeOf(err);
  if (code !== undefined) {
    const e = err as { status?: unknown; body?: unknown };
    const st = (e.status && typeof e.status === 'object' ? (e.status as KubeStatus) : undefined) ?? parseStatusBody(e.body);
    return `HTTP ${code}${st?.reason ? ` ${st.reason}` : ''}${st?.message ? `: ${st.message}` : ''}`;
  }
  // AbortSignal.timeout() ends a request with a TimeoutError ("The operation was aborted due to timeout").
  if (err instanceof Error && err.name === 'TimeoutError') return `timed out (${err.message})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

// ---------------------------------------------------------------------------
// Raw HTTP

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content-Type for the body; JSON by default. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 60 s. */
  timeoutMs?: number;
  /** Accept header; default application/json (see METADATA_ONLY_* for partial objects). */
  accept?: string;
}

/**
 * Accept headers asking the API server for PartialObjectMetadata instead of
 * whole objects (what controller-runtime's metadata-only watches use): the
 * operator then never receives, let alone caches, the data of Secrets it only
 * needs to know exist.
 */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ONLY_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** What informers need from the API server: JSON requests and a watch stream. */
export interface ListWatchClient {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** Open a streaming GET; resolves once headers arrive with 200, throws KubeHttpError otherwise. */
  stream(path: string, query: Query, signal: AbortSignal, accept?: string): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Drop every pooled connection (optional): after a watch went silent the
   * pool may hold half-open sockets that would hang the next requests until
   * their timeouts, so new requests should open new connections.
   */
  resetConnections?(): void;
}

/**
 * JSON requests and watch streams against one apiserver, over undici with one
 * connection pool that close() tears down.
 */
export class KubeHttp implements ListWatchClient {
  readonly connection: KubeConnection;
  #dispatcher: Dispatcher | undefined;
  #ownDispatcher: Agent | undefined;

  /** A connection (kube-connection.ts), or a client-node KubeConfig (tests and tools that hold one). */
  constructor(conn: KubeConnection | KubeConfigLike) {
    this.connection = 'prepare' in conn ? conn : connectionFromKubeConfig(conn);
  }

  #url(path: string, query: Query | undefined): URL {
    const url = new URL(this.connection.server + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    return url;
  }

  /**
   * Headers are computed per request (tokens from files and exec plugins
   * rotate); the dispatcher (TLS settings) is taken from the first request
   * and reused, so watches share one keep-alive pool.
   */
  async #prepare(url: URL, method: string): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> {
    const { headers, dispatcher } = await this.connection.prepare(url, method);
    if (!this.#dispatcher) {
      if (dispatcher) {
        this.#dispatcher = dispatcher;
      } else {
        // Plain http or no TLS options: still use a pool we own, so close() ends its sockets.
        this.#ownDispatcher = new Agent({ keepAliveTimeout: 30_000 });
        this.#dispatcher = this.#ownDispatcher;
      }
    }
    return { headers: { ...headers }, dispatcher: this.#dispatcher };
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.#url(path, opts.query);
    const { headers, dispatcher } = await this.#prepare(url, method);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    headers.accept = opts.accept ?? 'application/json';
    const res = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher, signal });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new KubeHttpError(res.statusCode, parseStatusBody(text), `${method} ${url.pathname}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async stream(path: string, query: Query, signal: AbortSignal, accept?: string): Promise<AsyncIterable<Uint8Array>> {
    const url = this.#url(path, query);
    const { headers, dispatcher } = await this.#prepare(url, 'GET');
    headers.accept = accept ?? 'application/json';
    // No undici body/headers timeouts: the informer's watchdog owns silence
    // detection and aborts through `signal`.
    const res = await request(url, { method: 'GET', headers, dispatcher, signal, bodyTimeout: 0, headersTimeout: 0 });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw new KubeHttpError(res.statusCode, parseStatusBody(text), `watch ${url.pathname}`);
    }
    return res.body;
  }

  /** Close the connection pool (ends open watches). */
  /** See ListWatchClient.resetConnections. At most once per 5 s: several informers notice the same outage. */
  resetConnections(): void {
    const now = Date.now();
    if (now - this.#lastReset < 5_000) return;
    this.#lastReset = now;
    this.connection.reset?.();
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    this.#ownDispatcher = undefined;
    void d?.destroy().catch(() => undefined);
  }
  #lastReset = 0;

  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    this.#ownDispatcher = undefined;
    if (d) await d.destroy().catch(() => undefined);
  }
}
