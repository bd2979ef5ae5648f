// The forward-auth check port's own HTTP/1.1 server (crossgate-authz only):
// a check is a request line and headers from the proxy, never a body, so
// this reads heads only, with node:http's strictness or more, and answers in
// one write. It skips IncomingMessage/ServerResponse and their streams
// (docs/performance.md, "third pass"). node:http stays selectable
// (`--check-server=node`, http-server.ts).
//
// Refused, answered with `connection: close` and closed: a head over
// HEAD_MAX bytes or MAX_HEADERS lines (431); a method node does not know
// (400) or CONNECT (405); a request-target not in origin form or with bytes
// outside 0x21–0x7e; a version other than HTTP/1.0 or 1.1; a bare CR or LF,
// a control character, obs-fold, whitespace before a colon or a field name
// that is not a token; HTTP/1.1 without exactly one Host; any
// Transfer-Encoding; a Content-Length that is not one run of digits (400)
// or not 0 (413). A head not complete HEAD_TIMEOUT_MS after its first byte
// (slow loris) and a connection idle IDLE_TIMEOUT_MS are closed.
import { createServer, type Server, type Socket } from 'node:net';
import { METHODS, STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { bind } from '../kube/listen.ts';

/** node's default --max-http-header-size: the request line and headers, CRLFs included. */
export const HEAD_MAX = 16 * 1024;
/** Header lines per request (Envoy's default limit is 100; browsers send 10–20). */
export const MAX_HEADERS = 256;
/** node:http's headersTimeout / requestTimeout as authz set them. */
export const HEAD_TIMEOUT_MS = 10_000;
/** node:http's keepAliveTimeout as authz set it (nginx's keepalive_timeout is 60 s). */
export const IDLE_TIMEOUT_MS = 65_000;

/** What the check handler reads of a request: the part of IncomingMessage it uses (so node:http's requests fit too). */
export interface CheckRequest {
  readonly method?: string;
  readonly url?: string;
  /** [name, value, …] as sent (names in their case). */
  readonly rawHeaders: string[];
  /** As node's req.headers: lower-cased names, repeats joined by node's rules. */
  readonly headers: IncomingHttpHeaders;
  readonly socket: { readonly remoteAddress?: string };
}

/** How the check handler answers: status, a flat [name, value, …] list, a body (not sent for HEAD). */
export interface CheckResponder {
  readonly headersSent: boolean;
  respond(status: number, flat: readonly (string | number)[], body: string | undefined): void;
  destroy(): void;
}

export type CheckHandler = (req: CheckRequest, res: CheckResponder) => void;

// Methods node:http parses (llhttp's list), less CONNECT (no tunnels).
const KNOWN_METHODS = new Set(METHODS.filter((m) => m !== 'CONNECT'));
/** Request line: method SP origin-form SP version; one space each (node tolerates more). */
const REQUEST_LINE = /^([A-Z][A-Z-]*) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
/** Control characters other than HTAB, CR and LF (those are checked apart): never in a head. */
const CTL = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]/;
/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_CR_LF = /\r(?!\n)|(?<!\r)\n/;
/** RFC 9110 token (a field name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value node's writeHead would refuse (ERR_INVALID_CHAR). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const CRLF2 = Buffer.from('\r\n\r\n');

/** node's _addHeaderLine: these keep the first copy. */
const FIRST_WINS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since',
  'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

/** The headers object node's IncomingMessage builds from rawHeaders (its _addHeaderLine, joinDuplicateHeaders off). */
export function nodeHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const dest: Record<string, string | string[] | undefined> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (field === 'set-cookie') {
      const prior = dest['set-cookie'];
      if (prior !== undefined) (prior as string[]).push(value);
      else dest['set-cookie'] = [value];
    } else if (FIRST_WINS.has(field)) {
      if (dest[field] === undefined) dest[field] = value;
    } else {
      const prior = dest[field];
      // As node: only a string is joined (an inherited name such as `constructor` is overwritten, `__proto__` ignored).
      dest[field] = typeof prior === 'string' ? prior + (field === 'cookie' ? '; ' : ', ') + value : value;
    }
  }
  return dest as IncomingHttpHeaders;
}

class Request implements CheckRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  #headers: IncomingHttpHeaders | undefined;

  constructor(method: string, url: string, rawHeaders: string[], socket: Socket) {
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.socket = socket;
  }

  /** Built when first read, as node's getter: a check refused for its token never builds it. */
  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= nodeHeaders(this.rawHeaders));
  }
}

/** A parsed head, or the status to refuse it with. */
type Head = { req: Request; keepAlive: boolean } | { refuse: number };

const DATE_CACHE = { second: -1, value: '' };
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== DATE_CACHE.second) {
    DATE_CACHE.second = s;
    DATE_CACHE.value = new Date(now).toUTCString();
  }
  return DATE_CACHE.value;
}

/** First index at or after `from` that is not SP or HTAB. */
function skipOws(s: string, from: number, to: number): number {
  while (from < to && (s.charCodeAt(from) === 32 || s.charCodeAt(from) === 9)) from++;
  return from;
}

/** Parses one head (the bytes before CRLFCRLF, as latin1 text, as node reads header bytes). */
export function parseHead(head: string, socket: Socket): Head {
  if (CTL.test(head) || BARE_CR_LF.test(head)) return { refuse: 400 };
  let eol = head.indexOf('\r\n');
  if (eol < 0) eol = head.length;
  const first = head.slice(0, eol);
  // CONNECT names an authority, not a path: refused by its method whatever follows (as http-server.ts does).
  if (first.startsWith('CONNECT ')) return { refuse: 405 };
  const line = REQUEST_LINE.exec(first);
  if (!line) return { refuse: 400 };
  const method = line[1]!;
  if (!KNOWN_METHODS.has(method)) return { refuse: 400 };
  const http10 = line[3] === '0';
  const raw: string[] = [];
  let hosts = 0;
  let lengths = 0;
  let connection = '';
  let start = eol + 2;
  while (start < head.length) {
    let end = head.indexOf('\r\n', start);
    if (end < 0) end = head.length;
    if (raw.length >= MAX_HEADERS * 2) return { refuse: 431 };
    const colon = head.indexOf(':', start);
    // No colon in the line, an empty name, obs-fold (a line starting with SP/HTAB) or whitespace before the colon: not a token.
    if (colon < 0 || colon >= end) return { refuse: 400 };
    const name = head.slice(start, colon);
    if (!TOKEN.test(name)) return { refuse: 400 };
    const vs = skipOws(head, colon + 1, end);
    let ve = end;
    while (ve > vs && (head.charCodeAt(ve - 1) === 32 || head.charCodeAt(ve - 1) === 9)) ve--;
    const value = head.slice(vs, ve);
    raw.push(name, value);
    // Only the few names that decide framing are looked at here (by length first: no lower-casing per header).
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connection = connection ? `${connection},${value}` : value;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          // No body is read: only "0" is acceptable (a repeat could disagree, so it is refused too).
          if (++lengths > 1 || !/^[0-9]{1,16}$/.test(value)) return { refuse: 400 };
          if (Number(value) !== 0) return { refuse: 413 };
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return { refuse: 400 };
        break;
    }
    start = end + 2;
  }
  if (hosts > 1 || (hosts === 0 && !http10)) return { refuse: 400 };
  const conn = connection.toLowerCase();
  const keepAlive = connectionHas(conn, 'close') ? false : http10 ? connectionHas(conn, 'keep-alive') : true;
  return { req: new Request(method, line[2]!, raw, socket), keepAlive };
}

/** Whether the comma-separated Connection list names `token`. */
function connectionHas(list: string, token: string): boolean {
  if (list === '') return false;
  if (list === token) return true;
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

function refusal(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

/** One connection: reads heads in order, one request at a time (pipelined ones wait in `pending`), answers each in one write. */
class Connection implements CheckResponder {
  readonly #socket: Socket;
  readonly #handler: CheckHandler;
  readonly #server: CheckServerState;
  /** Bytes received and not yet consumed (a view; see #append). */
  #pending: Buffer = Buffer.alloc(0);
  /** Where #pending may grow in place. */
  #store: Buffer | undefined;
  /** Where the next CRLFCRLF search starts (the bytes before were searched). */
  #searched = 0;
  #headTimer: NodeJS.Timeout | undefined;
  /** A request was handed to the handler and is not answered yet. */
  #busy = false;
  #inLoop = false;
  #blocked = false;
  #dead = false;
  #paused = false;
  #ended = false;
  #keepAlive = true;
  #head = false;

  constructor(socket: Socket, handler: CheckHandler, server: CheckServerState) {
    this.#socket = socket;
    this.#handler = handler;
    this.#server = server;
    socket.setNoDelay(true);
    socket.setTimeout(server.idleTimeoutMs, () => this.destroy());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#blocked = false;
      this.#loop();
    });
    socket.on('error', () => this.destroy());
    // The peer sent all it will: answer what is complete, then close (a half-read head is dropped).
    socket.on('end', () => {
      this.#ended = true;
      this.#loop();
    });
    socket.on('close', () => this.#closed());
  }

  get headersSent(): boolean {
    return !this.#busy;
  }

  /** Idle: nothing in flight and nothing half-read. */
  get idle(): boolean {
    return !this.#busy && this.#pending.length === 0;
  }

  #onData(chunk: Buffer): void {
    if (this.#dead) return;
    this.#append(chunk);
    this.#loop();
  }

  /** Appends to #pending, growing a store by doubling (linear however small the chunks). */
  #append(chunk: Buffer): void {
    const p = this.#pending;
    if (p.length === 0) {
      this.#pending = chunk;
      return;
    }
    const len = p.length + chunk.length;
    const s = this.#store;
    if (s !== undefined && p.buffer === s.buffer && p.byteOffset + len <= s.byteOffset + s.length) {
      chunk.copy(s, p.byteOffset - s.byteOffset + p.length);
      this.#pending = s.subarray(p.byteOffset - s.byteOffset, p.byteOffset - s.byteOffset + len);
      return;
    }
    const grown = Buffer.allocUnsafe(Math.max(len * 2, 4096));
    p.copy(grown, 0);
    chunk.copy(grown, p.length);
    this.#store = grown;
    this.#pending = grown.subarray(0, len);
  }

  /** Serves complete heads in order while nothing is in flight and the socket takes writes. */
  #loop(): void {
    if (this.#inLoop) return;
    this.#inLoop = true;
    try {
      while (!this.#busy && !this.#blocked && !this.#dead && this.#pending.length > 0) {
        if (!this.#next()) break;
      }
    } finally {
      this.#inLoop = false;
    }
    if (this.#dead) return;
    if (this.#ended && !this.#busy) {
      this.#dead = true;
      this.#clearTimer();
      return void this.#socket.end();
    }
    // Waiting for an answer or for the peer to read ours: stop reading (the peer's bytes wait in the kernel).
    const stop = this.#busy || this.#blocked;
    if (stop !== this.#paused) {
      this.#paused = stop;
      if (stop) this.#socket.pause();
      else this.#socket.resume();
    }
  }

  /** Takes one head off #pending and hands it to the handler; false when no complete head is there yet. */
  #next(): boolean {
    let p = this.#pending;
    // Empty lines before a request line are ignored (RFC 9112 §2.2), as node does.
    let lead = 0;
    while (lead + 1 < p.length && p[lead] === 13 && p[lead + 1] === 10) lead += 2;
    if (lead > 0) {
      p = this.#pending = p.subarray(lead);
      this.#searched = Math.max(0, this.#searched - lead);
    }
    const end = p.indexOf(CRLF2, Math.max(0, this.#searched - 3));
    if (end < 0 || end + 4 > HEAD_MAX) {
      if (p.length >= HEAD_MAX || end >= 0) return this.#refuse(431), false;
      this.#searched = p.length;
      // Slow loris: the rest of this head has HEAD_TIMEOUT_MS from its first byte.
      this.#headTimer ??= setTimeout(() => this.#refuse(408), this.#server.headTimeoutMs).unref();
      return false;
    }
    if (this.#headTimer) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
    const parsed = parseHead(p.toString('latin1', 0, end), this.#socket);
    this.#pending = p.subarray(end + 4);
    this.#searched = 0;
    if (this.#pending.length === 0) this.#store = undefined;
    if ('refuse' in parsed) return this.#refuse(parsed.refuse), false;
    this.#keepAlive = parsed.keepAlive && !this.#server.closing;
    this.#head = parsed.req.method === 'HEAD';
    this.#busy = true;
    try {
      this.#handler(parsed.req, this);
    } catch {
      this.destroy();
    }
    return true;
  }

  respond(status: number, flat: readonly (string | number)[], body: string | undefined): void {
    if (!this.#busy || this.#dead) return;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i < flat.length; i += 2) {
      const name = String(flat[i]);
      const value = String(flat[i + 1]);
      // As node's writeHead: a name that is not a token or a value with CR, LF or NUL is a bug, not an answer.
      if (!TOKEN.test(name) || INVALID_VALUE.test(value)) throw new TypeError(`invalid answer header ${JSON.stringify(name)}`);
      head += `${name}: ${value}\r\n`;
    }
    const keepAlive = this.#keepAlive && !this.#server.closing;
    head += keepAlive ? `date: ${httpDate()}\r\nconnection: keep-alive\r\nkeep-alive: timeout=${Math.floor(this.#server.idleTimeoutMs / 1000)}\r\n\r\n` : `date: ${httpDate()}\r\nconnection: close\r\n\r\n`;
    this.#busy = false;
    const b = this.#head || body === undefined ? '' : body;
    // One write: all latin1 when the body is ASCII (its UTF-8 length is its length), else head and body joined as bytes.
    const ok = Buffer.byteLength(b, 'utf8') === b.length ? this.#socket.write(head + b, 'latin1') : this.#socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(b, 'utf8')]));
    if (!keepAlive) {
      this.#dead = true;
      this.#socket.end();
      return;
    }
    if (!ok) this.#blocked = true;
    if (!this.#inLoop) this.#loop();
  }

  #refuse(status: number): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#clearTimer();
    // An answer in flight keeps its place: the refusal is not sent ahead of it.
    if (this.#busy) return void this.#socket.destroy();
    this.#socket.end(refusal(status));
  }

  #clearTimer(): void {
    if (this.#headTimer) clearTimeout(this.#headTimer);
    this.#headTimer = undefined;
  }

  destroy(): void {
    this.#dead = true;
    this.#clearTimer();
    this.#socket.destroy();
  }

  /** Closes the connection once its request in flight (if any) is answered. */
  closeWhenDone(): void {
    if (this.idle) this.destroy();
    else this.#keepAlive = false;
  }

  #closed(): void {
    this.#dead = true;
    this.#clearTimer();
    this.#server.connections.delete(this);
  }
}

interface CheckServerState {
  closing: boolean;
  headTimeoutMs: number;
  idleTimeoutMs: number;
  connections: Set<Connection>;
}

export interface CheckServer {
  server: Server;
  url: string;
  host: string;
  port: number;
  /** Stops accepting, closes idle connections, lets requests in flight be answered (up to graceMs, default 10 s), then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `where` (defaultPort when it names none) and hands each request's head to `handler`. */
export async function serveChecks(
  handler: CheckHandler,
  where: { host?: string; port?: number },
  defaultPort: number,
  timeouts: { headTimeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<CheckServer> {
  const state: CheckServerState = { closing: false, headTimeoutMs: timeouts.headTimeoutMs ?? HEAD_TIMEOUT_MS, idleTimeoutMs: timeouts.idleTimeoutMs ?? IDLE_TIMEOUT_MS, connections: new Set() };
  // Half-open: a peer that sends its last request and shuts its side down still gets the answers.
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (state.closing) return void socket.destroy();
    state.connections.add(new Connection(socket, handler, state));
  });
  return {
    ...(await bind(server, where, defaultPort)),
    async close(graceMs = 10_000) {
      state.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of state.connections) c.closeWhenDone();
      const t = setTimeout(() => {
        for (const c of state.connections) c.destroy();
      }, graceMs);
      await closed;
      clearTimeout(t);
    },
  };
}
