// Any client of the shared gateway, without a key: it must not hold a connection (a descriptor, a parser) for
// ever by trickling a body the gateway refused, nor be invited by an automatic 100 Continue to upload one; with a
// key, a body trickled slower than the request timeout is cut (server.ts ClientTimeouts, docs/gateway.md); nor take
// every descriptor of the process with idle connections (ConnectionsPerClient).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { ConnectionsPerClient } from '../../../gateway/server.ts';
import { connectionClientKey, TrustedProxies } from '../../../gateway/client-address.ts';
import { ConfigDir, cred, gold, newKey, policy, route, startDirGateway, startUpstream, waitForGeneration, type Upstream } from './fixtures.ts';
import type { RunningGateway } from '../../../gateway/gateway.ts';

/** A raw connection to the gateway that records what it reads and when it closed. */
function raw(url: string, localAddress?: string): { socket: Socket; text: () => string; closed: Promise<number> } {
  const u = new URL(url);
  const socket = connect({ port: Number(u.port), host: u.hostname, localAddress });
  let got = '';
  const t0 = Date.now();
  socket.on('data', (d: Buffer) => void (got += d.toString('latin1')));
  socket.on('error', () => undefined);
  return { socket, text: () => got, closed: new Promise((r) => socket.on('close', () => r(Date.now() - t0))) };
}

/** Resolves to the ms until the connection closed, or to -1 when still open after `ms`. */
function closedWithin(c: { closed: Promise<number> }, ms: number): Promise<number> {
  return Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), ms))]);
}

async function until(what: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!what()) {
    if (Date.now() - start > ms) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hostile clients: bodies the gateway did not ask for, and slow requests', () => {
  let cfg: ConfigDir;
  let gw: RunningGateway;
  let up: Upstream;
  const k = newKey();
  const trickles: NodeJS.Timeout[] = [];
  /** Sends one byte of body every 100 ms, as a slow client would. */
  const trickle = (s: Socket) => trickles.push(setInterval(() => s.writable && s.write('a'), 100));

  before(async () => {
    up = await startUpstream();
    cfg = await ConfigDir.create();
    gw = await startDirGateway(cfg, { loopbackUpstreams: [up.hostPort], clientTimeouts: { headersTimeoutMs: 1000, requestTimeoutMs: 1500 } });
    cfg.routes = [route('org/keyed', { basePath: '/keyed', upstream: { url: up.url }, policies: [policy('api-key', {})], tiers: [gold] })];
    cfg.credentials = { [k.hash]: cred('org/keyed', { client: 'consumer/app' }) };
    await cfg.write();
    await waitForGeneration(gw, 1);
  });

  after(async () => {
    for (const t of trickles) clearInterval(t);
    await gw?.stop(500);
    await up?.close();
    await cfg?.remove();
  });

  test('a refused request with a body is answered, then its connection is closed: the body is never drained', async () => {
    const c = raw(gw.url);
    c.socket.write('POST /keyed/x HTTP/1.1\r\nhost: gw\r\ncontent-length: 100000000\r\n\r\n');
    trickle(c.socket);
    await until(() => c.text().includes('\r\n\r\n'));
    assert.match(c.text(), /^HTTP\/1\.1 401 /);
    assert.match(c.text(), /connection: close/i);
    assert.match(c.text(), /API key/i, 'the problem the client reads names the missing key');
    assert.notEqual(await closedWithin(c, 1000), -1, 'the connection stays open while the client trickles the refused body');
  });

  test('Expect: 100-continue without a key: refused with no 100 Continue (no body invited), connection closed', async () => {
    const c = raw(gw.url);
    c.socket.write('POST /keyed/x HTTP/1.1\r\nhost: gw\r\ncontent-length: 100000000\r\nexpect: 100-continue\r\n\r\n');
    await until(() => c.text().includes('\r\n\r\n'));
    assert.doesNotMatch(c.text(), /100 Continue/);
    assert.match(c.text(), /^HTTP\/1\.1 401 /);
    trickle(c.socket);
    assert.notEqual(await closedWithin(c, 1000), -1);
  });

  test('Expect: 100-continue with a key: 100 Continue, then the body reaches the upstream', async () => {
    const c = raw(gw.url);
    c.socket.write(`POST /keyed/x HTTP/1.1\r\nhost: gw\r\nx-api-key: ${k.key}\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`);
    await until(() => c.text().includes('100 Continue'));
    c.socket.write('hello');
    await c.closed;
    assert.match(c.text(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    assert.equal(up.received.at(-1)?.body, 'hello');
  });

  test('with a key, a body trickled for longer than the request timeout is cut (408)', async () => {
    const c = raw(gw.url);
    c.socket.write(`POST /keyed/x HTTP/1.1\r\nhost: gw\r\nx-api-key: ${k.key}\r\ncontent-length: 100000000\r\n\r\n`);
    trickle(c.socket);
    const ms = await closedWithin(c, 4000);
    assert.notEqual(ms, -1, 'a trickled body holds the connection (and an upstream connection) for ever');
    assert.ok(ms >= 1400, `cut after ${ms} ms, before the request timeout: ${c.text()}`);
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
  });

  test('a head sent slower than the headers timeout is answered 408 and closed', async () => {
    const c = raw(gw.url);
    c.socket.write('GET /keyed/x HTTP/1.1\r\nhost: gw\r\n');
    trickles.push(setInterval(() => c.socket.writable && c.socket.write('x-a: b\r\n'), 100));
    const ms = await closedWithin(c, 3000);
    assert.notEqual(ms, -1);
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
  });
});

describe('hostile clients: connections per client address', () => {
  let cfg: ConfigDir;
  let gw: RunningGateway;
  let up: Upstream;
  const open: Socket[] = [];

  before(async () => {
    up = await startUpstream();
    cfg = await ConfigDir.create();
    gw = await startDirGateway(cfg, { loopbackUpstreams: [up.hostPort], clientTimeouts: { maxConnectionsPerClient: 3 } });
    cfg.routes = [route('org/open', { basePath: '/open', upstream: { url: up.url } })];
    await cfg.write();
    await waitForGeneration(gw, 1);
  });

  after(async () => {
    for (const s of open) s.destroy();
    await gw?.stop(500);
    await up?.close();
    await cfg?.remove();
  });

  test('one address holding its maximum of idle connections gets 503 with the reason; another address is served', async () => {
    const held = [raw(gw.url, '127.0.0.1'), raw(gw.url, '127.0.0.1'), raw(gw.url, '127.0.0.1')];
    for (const c of held) open.push(c.socket);
    await Promise.all(held.map((c) => new Promise((r) => c.socket.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const refused = raw(gw.url, '127.0.0.1');
    open.push(refused.socket);
    assert.notEqual(await closedWithin(refused, 2000), -1, 'a fourth connection from the same address is kept open');
    assert.match(refused.text(), /^HTTP\/1\.1 503 /);
    assert.match(refused.text(), /too many connections from this address: at most 3 at a time/);
    assert.match(await (await fetch(`${gw.adminUrl}/metrics`)).text(), /^crossgate_gateway_client_connections_refused_total 1$/m);

    // Another client is not affected.
    const other = raw(gw.url, '127.0.0.2');
    open.push(other.socket);
    other.socket.write('GET /open/x HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n');
    await other.closed;
    assert.match(other.text(), /^HTTP\/1\.1 200 /);

    // One of the first address's connections is still served, and a closed one frees its place.
    held[0]!.socket.write('GET /open/x HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n');
    await held[0]!.closed;
    assert.match(held[0]!.text(), /^HTTP\/1\.1 200 /);
    await new Promise((r) => setTimeout(r, 50));
    const again = raw(gw.url, '127.0.0.1');
    open.push(again.socket);
    again.socket.write('GET /open/x HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n');
    await again.closed;
    assert.match(again.text(), /^HTTP\/1\.1 200 /);
  });

  test('counted per IPv4 address and per IPv6 /64; trusted proxies are not counted', () => {
    assert.equal(connectionClientKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(connectionClientKey('2001:db8:1:2::1'), connectionClientKey('2001:db8:1:2:ffff:1:2:3'));
    assert.notEqual(connectionClientKey('2001:db8:1:2::1'), connectionClientKey('2001:db8:1:3::1'));
    assert.equal(connectionClientKey('not an address'), undefined);

    const sock = (remoteAddress: string) => Object.assign(new EventEmitter(), { remoteAddress, ended: '', end(s: string) { this.ended = s; } });
    let refusals = 0;
    const limit = new ConnectionsPerClient(2, new TrustedProxies(['10.9.9.9']), () => refusals++);
    const a = [sock('2001:db8:1:2::1'), sock('2001:db8:1:2::2'), sock('2001:db8:1:2::3')];
    for (const s of a) limit.admit(s as unknown as Socket);
    assert.equal(a[2]!.ended.startsWith('HTTP/1.1 503'), true, 'a third address of the same /64 is refused');
    assert.equal(refusals, 1);
    a[0]!.emit('close');
    assert.equal(limit.openFrom('2001:db8:1:2::9'), 1);
    const proxy = Array.from({ length: 5 }, () => sock('10.9.9.9'));
    for (const s of proxy) limit.admit(s as unknown as Socket);
    assert.equal(proxy.every((s) => s.ended === ''), true, 'a trusted proxy carries many clients');
  });
});
