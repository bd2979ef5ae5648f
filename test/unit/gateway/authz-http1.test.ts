// The check port's own HTTP/1.1 reader (gateway/authz-http1.ts): for random
// valid requests it yields what node:http yields from the same bytes (method,
// URL, the headers object), random and hostile bytes are answered 400-ish or
// closed (never a throw or a hang), and each refusal, timeout, keep-alive
// rule, pipelining and backpressure is shown on a real socket.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, METHODS, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { startAuthzServer, TokenFile, type AuthzServer } from '../../../gateway/authz.ts';
import { TrustedProxies } from '../../../gateway/client-address.ts';
import { checkServerOption } from '../../../gateway/main.ts';
import { silent } from './fixtures.ts';
import { HEAD_MAX, MAX_HEADERS, nodeHeaders, serveChecks, type CheckHandler, type CheckRequest, type CheckServer } from '../../../gateway/authz-http1.ts';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  headers: unknown;
  rawHeaders: string[];
}

/** Sends `bytes`, half-closes, and collects everything until the server closes (or `ms` pass: then `timedOut`). */
function exchange(port: number, bytes: Buffer | string, ms = 3000, halfClose = true): Promise<{ text: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(parts).toString('latin1'), timedOut: true });
    }, ms);
    s.on('connect', () => {
      s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      if (halfClose) s.end();
    });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text: Buffer.concat(parts).toString('latin1'), timedOut: false });
    });
  });
}

/** Sends each chunk in its own write, a few milliseconds apart (each read on its own), half-closes, and collects as exchange(). */
function exchangeChunks(port: number, chunks: Buffer[], ms = 3000): Promise<{ text: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const parts: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(parts).toString('latin1'), timedOut: true });
    }, ms);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        await new Promise((r) => setTimeout(r, 3));
      }
      s.end();
    });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text: Buffer.concat(parts).toString('latin1'), timedOut: false });
    });
  });
}

const statusLines = (text: string): string[] => text.split('\r\n').filter((l) => /^HTTP\/1\.1 \d{3} /.test(l));

const echo: CheckHandler = (req, res) => res.respond(200, ['x-url', encodeURIComponent(req.url ?? '')], 'ok');

async function listenNode(onRequest: (s: Seen) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    onRequest({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

// Field names the generator draws from: node's first-wins, joined and array names (any case), the ones authz reads, and random tokens.
const KNOWN = ['host', 'authorization', 'user-agent', 'content-type', 'referer', 'from', 'etag', 'expires', 'cookie', 'set-cookie', 'x-forwarded-for', 'accept', 'x-crossgate-authz', 'x-crossgate-route', 'x-original-uri', 'x-original-method', 'x-api-key', 'connection', '__proto__', 'constructor', 'toString', 'hasOwnProperty'];
const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 20 });
const randomCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const fieldName = fc.oneof(fc.constantFrom(...KNOWN).chain(randomCase), token).filter((n) => !['content-length', 'transfer-encoding', 'host', 'upgrade', 'expect', 'connection'].includes(n.toLowerCase()));
// Field values: visible ASCII, obs-text (latin1 0x80–0xff), inner SP/HTAB, with optional surrounding whitespace (trimmed by both).
const valueChar = fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0x20, 0x09)).map((c) => String.fromCharCode(c));
const fieldValue = fc.tuple(fc.constantFrom('', ' ', '  ', '\t'), fc.string({ unit: valueChar, maxLength: 60 }), fc.constantFrom('', ' ', '\t '));
const path = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 }).map((p) => `/${p}`);
const validRequest = fc
  .record({
    method: fc.constantFrom(...METHODS.filter((m) => m !== 'CONNECT')),
    url: path,
    http10: fc.boolean(),
    headers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 25 }),
    hostAt: fc.nat(),
    host: fc.stringMatching(/^[a-z0-9.-]{1,30}(:[0-9]{1,5})?$/),
  })
  .map(({ method, url, http10, headers, hostAt, host }) => {
    const lines = headers.map(([n, [a, v, b]]) => `${n}:${a}${v}${b}`);
    lines.splice(hostAt % (lines.length + 1), 0, `Host: ${host}`);
    return `${method} ${url} HTTP/1.${http10 ? 0 : 1}\r\n${lines.join('\r\n')}\r\n\r\n`;
  });

describe('authz-http1: the same request as node:http', () => {
  let node: { server: Server; port: number };
  let fast: CheckServer;
  let fromNode: Seen | undefined;
  let fromFast: Seen | undefined;

  before(async () => {
    node = await listenNode((s) => (fromNode = s));
    fast = await serveChecks((req: CheckRequest, res) => {
      fromFast = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders };
      res.respond(200, [], 'ok');
    }, { host: '127.0.0.1', port: 0 }, 0);
  });

  after(async () => {
    await fast.close(0);
    await new Promise((r) => node.server.close(r));
  });

  test('property: for random valid requests, method, URL, headers and rawHeaders equal node:http\'s from the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest, async (bytes) => {
        fromNode = fromFast = undefined;
        const a = await exchange(node.port, bytes);
        const b = await exchange(fast.port, bytes);
        assert.ok(fromNode, `node:http took it: ${JSON.stringify(bytes)} → ${a.text.slice(0, 40)}`);
        assert.ok(fromFast, `the fast reader took it: ${JSON.stringify(bytes)} → ${b.text.slice(0, 40)}`);
        assert.deepStrictEqual(fromFast, fromNode);
        assert.match(b.text, /^HTTP\/1\.1 200 OK\r\n/);
      }),
      { numRuns: 500 },
    );
  });

  test('field names read as node reads them: one name in several cases, names of one length and last letter, a name longer than the name cache holds', async () => {
    const long = `x-${'n'.repeat(80)}`;
    const heads = [
      'GET /a HTTP/1.1\r\nHost: a\r\nX-Api-Key: k1\r\nx-api-key: k2\r\nX-API-KEY: k3\r\n\r\n',
      // Same length and last character: one slot of the cache, taken in turn.
      'GET /b HTTP/1.1\r\nHost: a\r\nFoo-A: 1\r\nBar-A: 2\r\nfoo-a: 3\r\nBAR-A: 4\r\nCookie: c=1\r\nCOOKIE: d=2\r\n\r\n',
      `GET /c HTTP/1.1\r\nHost: a\r\n${long}: 1\r\n${long.toUpperCase()}: 2\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\n`,
      'GET /d HTTP/1.1\r\nHost: a\r\nBar-A: again\r\nFoo-A: again\r\n\r\n',
    ];
    for (const bytes of heads) {
      fromNode = fromFast = undefined;
      await exchange(node.port, bytes);
      await exchange(fast.port, bytes);
      assert.ok(fromFast);
      assert.deepStrictEqual(fromFast, fromNode, bytes);
    }
  });

  test('property: nodeHeaders() is node\'s IncomingMessage._addHeaderLine over the same raw list', () => {
    const msg = new IncomingMessage(null as never) as IncomingMessage & { _addHeaderLine(f: string, v: string, d: object): void };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fieldName, fc.constantFrom('Content-Length', 'HOST', 'Set-Cookie', 'Connection')), fc.string({ maxLength: 8 })), { maxLength: 30 }), (pairs) => {
        const raw = pairs.flat();
        const expected: Record<string, unknown> = {};
        for (const [n, v] of pairs) msg._addHeaderLine(n, v, expected);
        assert.deepStrictEqual(nodeHeaders(raw), expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('authz-http1: hostile bytes', () => {
  let fast: CheckServer;
  let handled = 0;

  before(async () => {
    fast = await serveChecks((req, res) => {
      handled++;
      echo(req, res);
    }, { host: '127.0.0.1', port: 0 }, 0);
  });

  after(() => fast.close(0));

  test('property: random bytes and mutated requests are answered (every answer a status line) or closed; never a throw or a hang', async () => {
    const mutated = fc.tuple(validRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([r, edits]) => {
      const b = Buffer.from(r, 'latin1');
      for (const [at, byte] of edits) b[at % b.length] = byte;
      return b;
    });
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)), mutated, fc.array(validRequest, { minLength: 1, maxLength: 3 }).map((rs) => Buffer.from(rs.join(''), 'latin1')));
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        const r = await exchange(fast.port, b, 3000);
        assert.equal(r.timedOut, false, `no hang: ${JSON.stringify(b.toString('latin1'))}`);
        if (r.text !== '') assert.match(r.text, /^HTTP\/1\.1 \d{3} /);
      }),
      { numRuns: 1000 },
    );
  });

  const refusals: [string, string, string][] = [
    ['a head over HEAD_MAX', `GET / HTTP/1.1\r\nHost: a\r\nx-big: ${'a'.repeat(HEAD_MAX)}\r\n\r\n`, '431 Request Header Fields Too Large'],
    ['more than MAX_HEADERS header lines', `GET / HTTP/1.1\r\nHost: a\r\n${'x: y\r\n'.repeat(MAX_HEADERS)}\r\n`, '431 Request Header Fields Too Large'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nx-a: b\r\n c\r\n\r\n', '400 Bad Request'],
    ['a bare LF', 'GET / HTTP/1.1\r\nHost: a\nx-a: b\r\n\r\n', '400 Bad Request'],
    ['a bare CR', 'GET / HTTP/1.1\r\nHost: a\rx-a: b\r\n\r\n', '400 Bad Request'],
    ['LF-only line ends', 'GET / HTTP/1.1\nHost: a\n\n\r\n\r\n', '400 Bad Request'],
    ['a field name that is not a token', 'GET / HTTP/1.1\r\nHost: a\r\nx(a): b\r\n\r\n', '400 Bad Request'],
    ['a non-ASCII field name', 'GET / HTTP/1.1\r\nHost: a\r\nx\xe9: b\r\n\r\n', '400 Bad Request'],
    ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost: a\r\nx-a : b\r\n\r\n', '400 Bad Request'],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost: a\r\nx-a\r\n\r\n', '400 Bad Request'],
    ['an empty field name', 'GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n', '400 Bad Request'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nx-a: b\x00c\r\n\r\n', '400 Bad Request'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nx-a: b\x7fc\r\n\r\n', '400 Bad Request'],
    ['Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', '400 Bad Request'],
    ['Transfer-Encoding identity', 'GET / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: identity\r\n\r\n', '400 Bad Request'],
    ['a body (Content-Length 5)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', '413 Payload Too Large'],
    ['a Content-Length that is not a number', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x0\r\n\r\n', '400 Bad Request'],
    ['Content-Length twice', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n', '400 Bad Request'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nx-a: b\r\n\r\n', '400 Bad Request'],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n', '400 Bad Request'],
    ['HTTP/2.0 in the request line', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['HTTP/0.9 (no version)', 'GET /\r\n\r\n', '400 Bad Request'],
    ['a method node does not know', 'FETCH / HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', '405 Method Not Allowed'],
    ['an absolute-form target', 'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['asterisk-form', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['a non-ASCII byte in the target', 'GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    ['two spaces in the request line', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', '400 Bad Request'],
    // A head with more than one fault is refused for the one node's order meets first: control characters and
    // bare CR/LF anywhere, then CONNECT, then the request line, then each line in turn, then Host.
    ['several faults: too many lines before a bad name', `GET / HTTP/1.1\r\nHost: a\r\n${'x: y\r\n'.repeat(MAX_HEADERS)}x y: z\r\n\r\n`, '431 Request Header Fields Too Large'],
    ['several faults: a body before a bad name', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nx y: z\r\n\r\n', '413 Payload Too Large'],
    ['several faults: a bad name before a body', 'GET / HTTP/1.1\r\nHost: a\r\nx y: z\r\nContent-Length: 5\r\n\r\n', '400 Bad Request'],
    ['several faults: a body before a control character', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nx: \x01\r\n\r\n', '400 Bad Request'],
    ['several faults: a body before Transfer-Encoding', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', '413 Payload Too Large'],
    ['several faults: Transfer-Encoding before a body', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', '400 Bad Request'],
    ['several faults: a body and no Host', 'GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n', '413 Payload Too Large'],
    ['several faults: a bad request line before a body', 'GET  / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n', '400 Bad Request'],
    ['several faults: CONNECT with a path', 'CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n', '405 Method Not Allowed'],
    ['several faults: CONNECT with a bad name', 'CONNECT a:443 HTTP/1.1\r\nx y: z\r\n\r\n', '405 Method Not Allowed'],
    ['several faults: CONNECT with a control character', 'CONNECT a:443 HTTP/1.1\r\nx: \x7f\r\n\r\n', '400 Bad Request'],
  ];
  for (const [what, bytes, status] of refusals) {
    test(`refused and closed: ${what} → ${status}`, async () => {
      const before = handled;
      const r = await exchange(fast.port, bytes, 3000, false);
      assert.equal(r.timedOut, false, 'closed by the server');
      assert.ok(r.text.startsWith(`HTTP/1.1 ${status}\r\n`), r.text);
      assert.match(r.text, /\r\nconnection: close\r\n/);
      assert.equal(handled, before, 'never reached the handler');
    });
  }

  test('Content-Length: 0 and an empty line before the request line are accepted', async () => {
    const r = await exchange(fast.port, '\r\nGET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual(statusLines(r.text), ['HTTP/1.1 200 OK']);
  });
});

describe('authz-http1: connections', () => {
  test('keep-alive by default in 1.1; Connection: close honoured; 1.0 closes unless keep-alive is asked', async () => {
    const fast = await serveChecks(echo, { host: '127.0.0.1', port: 0 }, 0);
    try {
      const ka = await exchange(fast.port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n', 500, false);
      assert.equal(ka.timedOut, true, 'kept open');
      assert.match(ka.text, /\r\nconnection: keep-alive\r\n/);
      const close = await exchange(fast.port, 'GET /a HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n', 2000, false);
      assert.equal(close.timedOut, false, 'closed after the answer');
      assert.deepEqual(statusLines(close.text), ['HTTP/1.1 200 OK'], 'nothing after Connection: close is read');
      assert.match(close.text, /\r\nconnection: close\r\n/);
      const h10 = await exchange(fast.port, 'GET /a HTTP/1.0\r\n\r\n', 2000, false);
      assert.equal(h10.timedOut, false);
      assert.match(h10.text, /\r\nconnection: close\r\n/);
      const h10ka = await exchange(fast.port, 'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 500, false);
      assert.equal(h10ka.timedOut, true);
      assert.match(h10ka.text, /\r\nconnection: keep-alive\r\n/);
    } finally {
      await fast.close(0);
    }
  });

  test('property: requests split anywhere across reads, pipelined or not, are answered in order as if sent at once', async () => {
    const fast = await serveChecks(echo, { host: '127.0.0.1', port: 0 }, 0);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(validRequest, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), async (reqs, cuts) => {
          const bytes = Buffer.from(reqs.join(''), 'latin1');
          const at = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
          const chunks = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
          const r = await exchangeChunks(fast.port, chunks.filter((c) => c.length > 0));
          // An HTTP/1.0 request (no keep-alive asked: the generator sends no Connection) is the last one answered.
          const last = reqs.findIndex((q) => q.split('\r\n')[0]!.endsWith('HTTP/1.0'));
          const answered = last < 0 ? reqs : reqs.slice(0, last + 1);
          assert.equal(r.timedOut, false);
          assert.deepEqual([...r.text.matchAll(/\r\nx-url: (\S*)\r\n/g)].map((m) => decodeURIComponent(m[1]!)), answered.map((q) => q.split(' ')[1]));
          // Each answer's body ("ok") runs into the next status line: the status lines are matched anywhere (x-url is percent-encoded).
          assert.deepEqual([...r.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]), answered.map(() => '200'));
        }),
        { numRuns: 60 },
      );
    } finally {
      await fast.close(0);
    }
  });

  test('every answer ends with the date (HTTP-date, this second), connection and the keep-alive timeout', async () => {
    const fast = await serveChecks(echo, { host: '127.0.0.1', port: 0 }, 0, { idleTimeoutMs: 7_500 });
    try {
      const t0 = Math.floor(Date.now() / 1000) * 1000;
      const r = await exchange(fast.port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      const t1 = Date.now();
      const dates = [...r.text.matchAll(/\r\ndate: ([^\r]+)\r\n/g)].map((m) => m[1]!);
      assert.equal(dates.length, 2);
      for (const d of dates) {
        assert.equal(new Date(d).toUTCString(), d);
        assert.ok(Date.parse(d) >= t0 && Date.parse(d) <= t1, `${d} between the send and the answer`);
      }
      assert.match(r.text, /\r\nconnection: keep-alive\r\nkeep-alive: timeout=7\r\n\r\nok/);
      assert.match(r.text, /\r\nconnection: close\r\n\r\nok$/);
    } finally {
      await fast.close(0);
    }
  });

  test('pipelined requests are answered in order, even when an earlier answer comes later', async () => {
    let n = 0;
    const fast = await serveChecks((req, res) => {
      const delay = [60, 0, 30, 0][n++ % 4]!;
      setTimeout(() => res.respond(200, ['x-url', req.url ?? ''], req.url), delay);
    }, { host: '127.0.0.1', port: 0 }, 0);
    try {
      const reqs = ['/1', '/2', '/3', '/4', '/5'].map((u) => `GET ${u} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
      const r = await exchange(fast.port, reqs);
      assert.deepEqual([...r.text.matchAll(/\r\nx-url: (\S+)\r\n/g)].map((m) => m[1]), ['/1', '/2', '/3', '/4', '/5']);
      assert.ok(r.text.endsWith('/5'));
    } finally {
      await fast.close(0);
    }
  });

  test('HEAD is answered without a body; a body that is not ASCII is sent as UTF-8 with its byte length', async () => {
    const fast = await serveChecks((req, res) => res.respond(200, ['content-length', Buffer.byteLength('é')], 'é'), { host: '127.0.0.1', port: 0 }, 0);
    try {
      const head = await exchange(fast.port, 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.ok(head.text.endsWith('\r\n\r\n'), head.text);
      const get = await exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.ok(Buffer.from(get.text, 'latin1').toString('utf8').endsWith('\r\n\r\né'));
    } finally {
      await fast.close(0);
    }
  });

  test('an answer header with CR/LF is not written (as writeHead refuses it): the handler sees the throw', async () => {
    let thrown: unknown;
    const fast = await serveChecks((req, res) => {
      try {
        res.respond(200, ['x-a', 'b\r\nset-cookie: evil'], undefined);
      } catch (err) {
        thrown = err;
        res.respond(500, [], undefined);
      }
    }, { host: '127.0.0.1', port: 0 }, 0);
    try {
      const r = await exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(String(thrown), /invalid answer header "x-a"/);
      assert.deepEqual(statusLines(r.text), ['HTTP/1.1 500 Internal Server Error']);
      assert.doesNotMatch(r.text, /evil/);
    } finally {
      await fast.close(0);
    }
  });

  test('an answer header name that is not a token is not written, however many valid names were written before', async () => {
    const thrown: string[] = [];
    const names = ['x-ok', 'x bad', 'x-ok', 'x:bad', 'x-ok', 'x\r\nbad'];
    let n = 0;
    const fast = await serveChecks((_req, res) => {
      const name = names[n++ % names.length]!;
      try {
        res.respond(200, ['x-ok', 'a', name, 'b'], undefined);
      } catch (err) {
        thrown.push(String(err));
        res.respond(500, [], undefined);
      }
    }, { host: '127.0.0.1', port: 0 }, 0);
    try {
      const r = await exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(names.length));
      assert.deepEqual(statusLines(r.text), names.map((x) => (x === 'x-ok' ? 'HTTP/1.1 200 OK' : 'HTTP/1.1 500 Internal Server Error')));
      assert.deepEqual(thrown, ['TypeError: invalid answer header "x bad"', 'TypeError: invalid answer header "x:bad"', 'TypeError: invalid answer header "x\\r\\nbad"']);
      assert.doesNotMatch(r.text, /\r\nbad/);
    } finally {
      await fast.close(0);
    }
  });

  test('slow loris: a head not complete in the head timeout is answered 408 and closed; an idle connection is closed', async () => {
    const fast = await serveChecks(echo, { host: '127.0.0.1', port: 0 }, 0, { headTimeoutMs: 200, idleTimeoutMs: 400 });
    try {
      const t0 = Date.now();
      const slow = await exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n', 3000, false);
      assert.equal(slow.timedOut, false);
      assert.ok(slow.text.startsWith('HTTP/1.1 408 Request Timeout\r\n'), slow.text);
      assert.ok(Date.now() - t0 < 2000);
      const idle = await exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000, false);
      assert.equal(idle.timedOut, false, 'closed when idle');
      assert.deepEqual(statusLines(idle.text), ['HTTP/1.1 200 OK']);
    } finally {
      await fast.close(0);
    }
  });

  test('backpressure: a peer that does not read stops the reading; every request is answered once it reads', async () => {
    let handled = 0;
    const big = 'x'.repeat(16 * 1024);
    const fast = await serveChecks((_req, res) => {
      handled++;
      res.respond(200, [], big);
    }, { host: '127.0.0.1', port: 0 }, 0);
    const N = 4000;
    try {
      const s = connect(fast.port, '127.0.0.1');
      await new Promise((r) => s.on('connect', r));
      s.pause();
      s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(N));
      await new Promise((r) => setTimeout(r, 500));
      const stalled = handled;
      assert.ok(stalled < N, `reading stopped (${stalled} of ${N} handled while the peer did not read)`);
      let answers = 0;
      let tail = '';
      s.on('data', (d: Buffer) => {
        const text = tail + d.toString('latin1');
        answers += text.split('HTTP/1.1 200 OK').length - 1;
        // Shorter than the marker: an answer is never counted twice.
        tail = text.slice(-14);
      });
      s.resume();
      for (let i = 0; i < 200 && answers < N; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(answers, N);
      assert.equal(handled, N);
      s.destroy();
    } finally {
      await fast.close(0);
    }
  });

  test('close(): idle connections are dropped at once, a request in flight is answered (connection: close) first', async () => {
    let answer: (() => void) | undefined;
    const fast = await serveChecks((_req, res) => (answer = () => res.respond(200, [], 'late')), { host: '127.0.0.1', port: 0 }, 0);
    const idle = exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000, false);
    const busy = new Promise<{ text: string; timedOut: boolean }>((resolve) => setTimeout(() => resolve(exchange(fast.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000, false)), 100));
    await new Promise((r) => setTimeout(r, 50));
    answer?.();
    await new Promise((r) => setTimeout(r, 150));
    const closing = fast.close(2000);
    await new Promise((r) => setTimeout(r, 50));
    answer?.();
    await closing;
    const [i, b] = await Promise.all([idle, busy]);
    assert.equal(i.timedOut, false);
    assert.equal(b.timedOut, false);
    assert.match(b.text, /\r\nconnection: close\r\n\r\nlate$/);
  });
});

describe('authz on either check server', () => {
  const TOKEN = 'proxy-token-0123456789abcdef';
  let dir: string;
  let fast: AuthzServer;
  let node: AuthzServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crossgate-authz-http1-'));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`);
    const opts = { host: '127.0.0.1', port: 0, config: { current: undefined }, token: new TokenFile(join(dir, 'token')), trustedProxies: new TrustedProxies([]), logger: silent() };
    fast = await startAuthzServer(opts);
    node = await startAuthzServer({ ...opts, server: 'node' });
  });

  after(async () => {
    await Promise.all([fast?.close(0), node?.close(0)]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Status, headers (less the ones each server sets for itself: date and connection) and body. */
  function call(base: string, path: string, headers: string[], method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(base);
      const req = request({ host: u.hostname, port: u.port, path, method, headers: ['host', u.host, ...headers], agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const { date: _d, connection: _c, 'keep-alive': _k, ...rest } = res.headers;
          resolve({ status: res.statusCode ?? 0, headers: rest, body });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  // Security model row 8k: a caller without the proxy's token keeps no connection open by asking again.
  test("a check without the proxy's token is answered 401 with connection: close, and the connection closed, on both servers", async () => {
    for (const server of [fast, node]) {
      const r = await exchange(server.port, 'GET /v1/nginx HTTP/1.1\r\nHost: a\r\nX-Crossgate-Authz: Bearer wrong-token-0123456789\r\n\r\n', 3000, false);
      assert.equal(r.timedOut, false, `${server.url}: closed by authz`);
      assert.match(r.text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
      assert.match(r.text, /\r\nconnection: close\r\n/i);
      // The proxy's own checks keep their connection.
      const ok = await exchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', 500, false);
      assert.equal(ok.timedOut, true, `${server.url}: a health check keeps its connection`);
    }
  });

  test('the same answers from the fast reader and from node:http (health, 401, 404, 400, a decision, HEAD)', async () => {
    const auth = ['x-crossgate-authz', `Bearer ${TOKEN}`];
    const check = [...auth, 'x-crossgate-route', 'air/flights', 'x-original-uri', '/flights/1', 'x-original-method', 'GET', 'x-original-host', 'api.example'];
    const cases: [string, string[], string?][] = [
      ['/healthz', []],
      ['/readyz', []],
      ['/v1/nginx', ['x-crossgate-authz', 'Bearer wrong-token-0123456789']],
      ['/v2/other', auth],
      ['/v1/nginx', [...auth, 'x-original-uri', '/flights/1']],
      ['/v1/nginx', check],
      ['/v1/nginx', check, 'HEAD'],
      ['/v1/traefik', [...auth, 'x-crossgate-route', 'air/flights', 'x-forwarded-uri', '/flights/1', 'x-forwarded-method', 'POST', 'x-forwarded-host', 'api.example']],
      ['/v1/envoy/flights/1?q=1', [...auth, 'x-crossgate-route', 'air/flights']],
    ];
    for (const [path, headers, method] of cases) {
      const a = await call(fast.url, path, headers, method);
      const b = await call(node.url, path, headers, method);
      assert.deepStrictEqual(a, b, `${method ?? 'GET'} ${path}`);
    }
    const unauth = await call(fast.url, '/v1/nginx', []);
    assert.equal(unauth.status, 401);
    assert.match(unauth.body, /Checks need the proxy's token in x-crossgate-authz\./);
    const noConfig = await call(fast.url, '/v1/nginx', check);
    assert.equal(noConfig.status, 403);
    assert.equal(noConfig.headers['x-crossgate-status'], '503');
  });

  test('--check-server: fast (default) or node; anything else is refused with a message naming both', () => {
    assert.equal(checkServerOption(undefined), 'fast');
    assert.equal(checkServerOption('fast'), 'fast');
    assert.equal(checkServerOption('node'), 'node');
    assert.throws(() => checkServerOption('nodejs'), { message: '--check-server: expected fast or node, got "nodejs"' });
  });
});
