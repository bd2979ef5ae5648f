// The forward-auth check port's own HTTP/1.1 server (crossgate-authz only):
// a check is a request line and headers from the proxy, never a body, so
// this reads heads only, with node:http's strictness or more, and answers in
// one write. It skips IncomingMessage/ServerResponse and their streams
// (docs/performance.md, "third pass"), and reads a well-formed head with one
// regex scan and indexOf, building the headers object as it goes ("fourth
// pass"). node:http stays selectable (`--check-server=node`, http-server.ts).
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
/** Idle-timer ticks per idle timeout (see serveChecks). */
const IDLE_TICKS = 4;

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

/** How the check handler answers: status, a flat [name, value, …] list, a body (not sent for HEAD); `close`: then close the connection. */
export interface CheckResponder {
  readonly headersSent: boolean;
  respond(status: number, flat: readonly (string | number)[], body: string | undefined, close?: boolean): void;
  destroy(): void;
}

export type CheckHandler = (req: CheckRequest, res: CheckResponder) => void;

// Methods node:http parses (llhttp's list), less CONNECT (no tunnels).
const KNOWN_METHODS = new Set(METHODS.filter((m) => m !== 'CONNECT'));
/** Control characters other than HTAB, CR and LF (those are checked apart): never in a head. */
const CTL = /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]/;
/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_CR_LF = /\r(?!\n)|(?<!\r)\n/;
/** RFC 9110 token (a field name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Request line: method SP origin-form SP version; one space each (node tolerates more). */
const REQUEST_LINE = /^([A-Z][A-Z-]*) (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
/** A header value node's writeHead would refuse (ERR_INVALID_CHAR). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/**
 * A well-formed head, whole (sticky at its first byte, ending where its CRLFCRLF starts): the request line as
 * REQUEST_LINE, then field lines of a token, a colon and value bytes (HTAB, SP, VCHAR, obs-text), CRLF between.
 * One scan that, when it matches, stands for CTL, BARE_CR_LF, REQUEST_LINE and TOKEN on every name (a head it
 * does not match is read with those, for node's order of refusals). Linear: no two parts can match the same byte.
 */
const WELL_FORMED = /[A-Z][A-Z-]* \/[\x21-\x7e]* HTTP\/1\.[01](?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*(?=\r\n\r\n)/y;

// node's _addHeaderLine (joinDuplicateHeaders off): how a repeated field is kept.
const JOIN = 0; // joined with ", "
const FIRST = 1; // the first copy wins
const SET_COOKIE = 2; // an array
const COOKIE = 3; // joined with "; "
/** node's _addHeaderLine: these keep the first copy. */
const FIRST_WINS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since',
  'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);
// The fields that decide framing.
const HOST = 1;
const CONNECTION = 2;
const CONTENT_LENGTH = 3;
const TRANSFER_ENCODING = 4;
const FRAMING: Record<string, number> = { host: HOST, connection: CONNECTION, 'content-length': CONTENT_LENGTH, 'transfer-encoding': TRANSFER_ENCODING };

/** A field name as sent, lower-cased once, with node's rule for its repeats and its part in framing. */
interface Field {
  readonly raw: string;
  /** Internalized (as a property key is): storing it in a headers object needs no string-table look-up. */
  readonly lower: string;
  readonly join: number;
  readonly framing: number;
}

const internalized = (s: string): string => Object.keys({ [s]: 0 })[0]!;

function newField(raw: string): Field {
  const lower = raw.toLowerCase();
  const join = lower === 'set-cookie' ? SET_COOKIE : lower === 'cookie' ? COOKIE : FIRST_WINS.has(lower) ? FIRST : JOIN;
  return { raw, lower: internalized(lower), join, framing: Object.hasOwn(FRAMING, lower) ? FRAMING[lower]! : 0 };
}

/**
 * Names seen, one per (length, last character) slot: a proxy sends the same few names on every check, so each is
 * lower-cased and classified once and found again by one comparison in place (no slice, no hash). Bounded: a
 * peer sending ever new names only replaces slots.
 */
const FIELD_CACHED_LEN = 64;
const FIELDS: (Field | undefined)[] = new Array((FIELD_CACHED_LEN + 1) * 128).fill(undefined);

/** The field whose name is text[at, at + len). */
function fieldAt(text: string, at: number, len: number): Field {
  if (len > FIELD_CACHED_LEN) return newField(text.slice(at, at + len));
  const slot = (len << 7) | (text.charCodeAt(at + len - 1) & 0x7f);
  const f = FIELDS[slot];
  if (f !== undefined && text.startsWith(f.raw, at)) return f;
  return (FIELDS[slot] = newField(text.slice(at, at + len)));
}

type Headers = Record<string, string | string[] | undefined>;

/** Adds one field line to a headers object as node's IncomingMessage does. */
function addHeader(dest: Headers, f: Field, value: string): void {
  const k = f.lower;
  if (f.join === SET_COOKIE) {
    const prior = dest[k];
    if (prior !== undefined) (prior as string[]).push(value);
    else dest[k] = [value];
  } else if (f.join === FIRST) {
    if (dest[k] === undefined) dest[k] = value;
  } else {
    const prior = dest[k];
    // As node: only a string is joined (an inherited name such as `constructor` is overwritten, `__proto__` ignored).
    dest[k] = typeof prior === 'string' ? prior + (f.join === COOKIE ? '; ' : ', ') + value : value;
  }
}

/** The headers object node's IncomingMessage builds from rawHeaders (its _addHeaderLine, joinDuplicateHeaders off). */
export function nodeHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const dest: Headers = {};
  for (let i = 0; i < raw.length; i += 2) addHeader(dest, fieldAt(raw[i]!, 0, raw[i]!.length), raw[i + 1]!);
  return dest as IncomingHttpHeaders;
}

class Request implements CheckRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  /** Built while the head is read (the handler reads it on every check that passes the token). */
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
  /** Whether the connection stays open after the answer (Connection and the version). */
  readonly keepAlive: boolean;

  constructor(method: string, url: string, rawHeaders: string[], headers: IncomingHttpHeaders, socket: Socket, keepAlive: boolean) {
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.headers = headers;
    this.socket = socket;
    this.keepAlive = keepAlive;
  }
}

/**
 * Parses one head: `text` from `from` to `to` (where its CRLFCRLF starts), read as latin1 as node reads header
 * bytes; a request, or the status to refuse it with. A well-formed head (`checked`: WELL_FORMED matched from
 * `from` to `to`) is split with indexOf alone; any other is checked in node's order: a control character or a
 * bare CR/LF anywhere (400), CONNECT (405), the request line (400), each line in turn (431, 400, 413), Host (400).
 */
export function parseHead(text: string, from: number, to: number, checked: boolean, socket: Socket): Request | number {
  let eol = text.indexOf('\r\n', from);
  if (eol < 0 || eol > to) eol = to;
  let method: string;
  let url: string;
  let http10: boolean;
  if (checked) {
    const sp = text.indexOf(' ', from);
    // GET without a slice; any other method is looked up.
    method = sp - from === 3 && text.charCodeAt(from) === 71 && text.charCodeAt(from + 1) === 69 && text.charCodeAt(from + 2) === 84 ? 'GET' : text.slice(from, sp);
    url = text.slice(sp + 1, eol - 9);
    http10 = text.charCodeAt(eol - 1) === 48;
  } else {
    const head = text.slice(from, to);
    if (CTL.test(head) || BARE_CR_LF.test(head)) return 400;
    // CONNECT names an authority, not a path: refused by its method whatever follows (as http-server.ts does).
    if (head.startsWith('CONNECT ')) return 405;
    const line = REQUEST_LINE.exec(text.slice(from, eol));
    if (!line) return 400;
    method = line[1]!;
    url = line[2]!;
    http10 = line[3] === '0';
  }
  if (method !== 'GET' && !KNOWN_METHODS.has(method)) return method === 'CONNECT' ? 405 : 400;
  const raw: string[] = [];
  const headers: Headers = {};
  let hosts = 0;
  let lengths = 0;
  let connection = '';
  let start = eol + 2;
  while (start < to) {
    eol = text.indexOf('\r\n', start);
    if (eol < 0 || eol > to) eol = to;
    if (raw.length >= MAX_HEADERS * 2) return 431;
    const colon = text.indexOf(':', start);
    // No colon in the line, an empty name, obs-fold (a line starting with SP/HTAB) or whitespace before the colon: not a token.
    if (!checked && (colon < 0 || colon >= eol || !TOKEN.test(text.slice(start, colon)))) return 400;
    const f = fieldAt(text, start, colon - start);
    let vs = colon + 1;
    let c = text.charCodeAt(vs);
    while (vs < eol && (c === 32 || c === 9)) c = text.charCodeAt(++vs);
    let ve = eol;
    c = text.charCodeAt(ve - 1);
    while (ve > vs && (c === 32 || c === 9)) c = text.charCodeAt(--ve - 1);
    const value = text.slice(vs, ve);
    raw.push(f.raw, value);
    addHeader(headers, f, value);
    switch (f.framing) {
      case 0:
        break;
      case HOST:
        hosts++;
        break;
      case CONNECTION:
        connection = connection ? `${connection},${value}` : value;
        break;
      case CONTENT_LENGTH:
        // No body is read: only "0" is acceptable (a repeat could disagree, so it is refused too).
        if (++lengths > 1 || !/^[0-9]{1,16}$/.test(value)) return 400;
        if (Number(value) !== 0) return 413;
        break;
      case TRANSFER_ENCODING:
        return 400;
    }
    start = eol + 2;
  }
  if (hosts > 1 || (hosts === 0 && !http10)) return 400;
  const conn = connection.toLowerCase();
  const keepAlive = connectionHas(conn, 'close') ? false : http10 ? connectionHas(conn, 'keep-alive') : true;
  return new Request(method, url, raw, headers as IncomingHttpHeaders, socket, keepAlive);
}

/** Whether the comma-separated Connection list names `token`. */
function connectionHas(list: string, token: string): boolean {
  if (list === '') return false;
  if (list === token) return true;
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

function refusalAnswer(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

/** Status lines by status, built once each. */
const STATUS_LINES = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    if (Number.isInteger(status) && status >= 100 && status <= 999) STATUS_LINES.set(status, line);
  }
  return line;
}

/** Answer header names already found to be tokens (the handler sends the same few). */
const ANSWER_NAMES = new Set<string>();
const ANSWER_NAMES_MAX = 256;

/** The answer's last lines (date, connection): built on the first answer of a second, dropped when it ends (as node's date cache). */
class Tails {
  #keepAlive = '';
  #close = '';
  readonly #timeoutS: number;
  readonly #reset = (): void => {
    this.#keepAlive = this.#close = '';
  };

  constructor(idleTimeoutMs: number) {
    this.#timeoutS = Math.floor(idleTimeoutMs / 1000);
  }

  of(keepAlive: boolean): string {
    if (this.#keepAlive === '') {
      const now = Date.now();
      const date = new Date(now).toUTCString();
      this.#keepAlive = `date: ${date}\r\nconnection: keep-alive\r\nkeep-alive: timeout=${this.#timeoutS}\r\n\r\n`;
      this.#close = `date: ${date}\r\nconnection: close\r\n\r\n`;
      setTimeout(this.#reset, 1000 - (now % 1000)).unref();
    }
    return keepAlive ? this.#keepAlive : this.#close;
  }
}

/**
 * One connection: reads heads in order, one request at a time (pipelined ones wait), answers each in one write.
 * A chunk is read as latin1 text once and its heads are parsed from that text; bytes of a head not complete yet
 * are kept as bytes (#pending) until it is.
 */
class Connection implements CheckResponder {
  readonly #socket: Socket;
  readonly #handler: CheckHandler;
  readonly #server: CheckServerState;
  /** Unconsumed input read as text, from #at on (empty when the input is in #pending or consumed). */
  #text = '';
  #at = 0;
  /** The bytes #text was read from (latin1: one byte per character, so offsets agree). */
  #src: Buffer = EMPTY;
  /** Bytes of a head not complete yet (a view; see #append). */
  #pending: Buffer = EMPTY;
  /** Where #pending may grow in place. */
  #store: Buffer | undefined;
  /** Where the next CRLFCRLF search in #pending starts (the bytes before were searched). */
  #searched = 0;
  #headTimer: NodeJS.Timeout | undefined;
  /** The server's idle tick when this connection last read or wrote. */
  #lastIo: number;
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
    this.#lastIo = server.tick;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#lastIo = this.#server.tick;
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
    return !this.#busy && this.#pending.length === 0 && this.#at >= this.#text.length;
  }

  /** Called on each of the server's idle ticks: no read or write for the idle timeout closes the connection. */
  tick(now: number): void {
    if (now - this.#lastIo > this.#server.idleTicks) this.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#dead) return;
    this.#lastIo = this.#server.tick;
    // Text waiting behind a request in flight (pipelined) goes back to bytes, to be joined with this chunk.
    if (this.#at < this.#text.length) this.#toBytes();
    if (this.#pending.length === 0) this.#read(chunk);
    else this.#append(chunk);
    this.#loop();
  }

  #read(bytes: Buffer): void {
    this.#src = bytes;
    this.#text = bytes.toString('latin1');
    this.#at = 0;
  }

  /** Moves the unconsumed text back to #pending (not searched yet). */
  #toBytes(): void {
    this.#pending = this.#src.subarray(this.#at);
    this.#searched = 0;
    this.#consumedText();
  }

  #consumedText(): void {
    this.#text = '';
    this.#at = 0;
    this.#src = EMPTY;
  }

  /** Appends to #pending, growing a store by doubling (linear however small the chunks). */
  #append(chunk: Buffer): void {
    const p = this.#pending;
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
      while (!this.#busy && !this.#blocked && !this.#dead && (this.#at < this.#text.length || this.#pending.length > 0)) {
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

  /** Takes one head off the input and hands it to the handler; false when no complete head is there yet. */
  #next(): boolean {
    if (this.#pending.length > 0) {
      let p = this.#pending;
      // Empty lines before a request line are ignored (RFC 9112 §2.2), as node does.
      let lead = 0;
      while (lead + 1 < p.length && p[lead] === 13 && p[lead + 1] === 10) lead += 2;
      if (lead > 0) {
        p = this.#pending = p.subarray(lead);
        this.#searched = Math.max(0, this.#searched - lead);
      }
      const end = p.indexOf(CRLF2, Math.max(0, this.#searched - 3));
      if (end < 0 || end + 4 > HEAD_MAX) return this.#incomplete(end);
      // A head is complete: the bytes are read as text from here on.
      this.#pending = EMPTY;
      this.#read(p);
    }
    const t = this.#text;
    let at = this.#at;
    while (t.charCodeAt(at) === 13 && t.charCodeAt(at + 1) === 10) at += 2;
    this.#at = at;
    // A well-formed head ends where the scan stops (no CRLFCRLF can be inside it); any other is searched for its end.
    WELL_FORMED.lastIndex = at;
    const checked = WELL_FORMED.test(t);
    const end = checked ? WELL_FORMED.lastIndex : t.indexOf('\r\n\r\n', at);
    if (end < 0 || end + 4 - at > HEAD_MAX) {
      this.#toBytes();
      return this.#incomplete(end < 0 ? -1 : end - at);
    }
    if (this.#headTimer) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
    const req = parseHead(t, at, end, checked, this.#socket);
    if (end + 4 < t.length) this.#at = end + 4;
    else {
      this.#consumedText();
      this.#store = undefined;
    }
    if (typeof req === 'number') return this.#refuse(req), false;
    this.#keepAlive = req.keepAlive && !this.#server.closing;
    this.#head = req.method === 'HEAD';
    this.#busy = true;
    try {
      this.#handler(req, this);
    } catch {
      this.destroy();
    }
    return true;
  }

  /** #pending holds no complete head within HEAD_MAX (`end`: where its CRLFCRLF starts, or -1): wait, or refuse 431. */
  #incomplete(end: number): false {
    const p = this.#pending;
    if (p.length >= HEAD_MAX || end >= 0) return this.#refuse(431), false;
    this.#searched = p.length;
    // Slow loris: the rest of this head has HEAD_TIMEOUT_MS from its first byte.
    this.#headTimer ??= setTimeout(() => this.#refuse(408), this.#server.headTimeoutMs).unref();
    return false;
  }

  respond(status: number, flat: readonly (string | number)[], body: string | undefined, close = false): void {
    if (!this.#busy || this.#dead) return;
    if (close) this.#keepAlive = false;
    let head = statusLine(status);
    for (let i = 0; i < flat.length; i += 2) {
      const n = flat[i];
      const v = flat[i + 1];
      const name = typeof n === 'string' ? n : String(n);
      const value = typeof v === 'string' ? v : String(v);
      // As node's writeHead: a name that is not a token or a value with CR, LF or NUL is a bug, not an answer (a number is always a valid value).
      if (!ANSWER_NAMES.has(name)) {
        if (!TOKEN.test(name)) throw new TypeError(`invalid answer header ${JSON.stringify(name)}`);
        if (ANSWER_NAMES.size >= ANSWER_NAMES_MAX) ANSWER_NAMES.clear();
        if (name.length <= FIELD_CACHED_LEN) ANSWER_NAMES.add(name);
      }
      if (typeof v !== 'number' && INVALID_VALUE.test(value)) throw new TypeError(`invalid answer header ${JSON.stringify(name)}`);
      head += name + ': ' + value + '\r\n';
    }
    const keepAlive = this.#keepAlive && !this.#server.closing;
    head += this.#server.tails.of(keepAlive);
    this.#busy = false;
    this.#lastIo = this.#server.tick;
    const b = this.#head || body === undefined ? '' : body;
    // One write: all latin1 when the body is ASCII (its UTF-8 length is its length), else head and body joined as bytes.
    const ok =
      b === '' ? this.#socket.write(head, 'latin1')
      : Buffer.byteLength(b, 'utf8') === b.length ? this.#socket.write(head + b, 'latin1')
      : this.#socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(b, 'utf8')]));
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
    this.#socket.end(refusalAnswer(status));
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
  /** Idle ticks counted since the server started (see serveChecks). */
  tick: number;
  /** A connection with no read or write for more ticks than this is closed. */
  idleTicks: number;
  tails: Tails;
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
  const idleTimeoutMs = timeouts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  // One timer for the server instead of a socket timeout per connection (refreshed on every read and write):
  // it ticks IDLE_TICKS times per idle timeout (at most once a second), and a connection with no read or write
  // for more than that many ticks is closed, after the idle timeout and at most one tick later.
  const tickMs = Math.max(1, Math.min(1000, Math.floor(idleTimeoutMs / IDLE_TICKS)));
  const state: CheckServerState = {
    closing: false,
    headTimeoutMs: timeouts.headTimeoutMs ?? HEAD_TIMEOUT_MS,
    tick: 0,
    idleTicks: Math.ceil(idleTimeoutMs / tickMs),
    tails: new Tails(idleTimeoutMs),
    connections: new Set(),
  };
  const ticker = setInterval(() => {
    const now = ++state.tick;
    for (const c of state.connections) c.tick(now);
  }, tickMs).unref();
  // Half-open: a peer that sends its last request and shuts its side down still gets the answers.
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (state.closing) return void socket.destroy();
    state.connections.add(new Connection(socket, handler, state));
  });
  return {
    ...(await bind(server, where, defaultPort)),
    async close(graceMs = 10_000) {
      state.closing = true;
      clearInterval(ticker);
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
