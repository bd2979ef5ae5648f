// crossgate-authz's access-log receiver (gateway/authz-log.ts): the parser of
// nginx's syslog lines, and the receiver's accounting (sources, unknown routes,
// drops) into the gateway's metrics and recent window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { pino } from 'pino';
import { IdStrings, latencyOf, MAX_DATAGRAM, parseLogLine, parseLogLineJson, readRendered, startAccessLogReceiver, type LogRecord } from '../../../gateway/authz-log.ts';
import type { CompiledConfig } from '../../../gateway/compiled.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';

const enc = (s: string) => Buffer.from(s, 'utf8');
const line = (o: Record<string, unknown>, head = '<190>Dec  5 22:33:39 crossgate: ') =>
  enc(head + JSON.stringify({ v: '1', route: 'air/flights', client: 'buyer/portal', status: '200', upstreamStatus: '200', requestTime: '0.012', upstreamTime: '0.010', ...o }));

test('a line of the rendered format → route, client, status and seconds', () => {
  assert.deepEqual(parseLogLine(line({})), { ok: true, record: { route: 'air/flights', client: 'buyer/portal', status: 200, seconds: 0.012, upstreamSeconds: 0.01 } });
  // With the hostname nginx adds without nohostname, an empty client, nginx's "-" and lists of upstream values.
  assert.deepEqual(parseLogLine(line({ client: '', status: '502', upstreamStatus: '502, 502', upstreamTime: '0.001, 0.002' }, '<190>Dec  5 22:33:39 web-1 crossgate: ')), {
    ok: true,
    record: { route: 'air/flights', client: undefined, status: 502, seconds: 0.012, upstreamSeconds: undefined },
  });
  assert.equal(parseLogLine(line({ upstreamStatus: '', upstreamTime: '' })).ok, true);
  // A request no route matched: an empty route, ignored by the receiver.
  assert.deepEqual(parseLogLine(line({ route: '' })), { ok: true, record: { route: '', client: 'buyer/portal', status: 200, seconds: 0.012, upstreamSeconds: 0.01 } });
});

test("latency: the upstream's own time when one attempt was answered, else the request's", () => {
  const rec = (o: Record<string, unknown>): LogRecord => {
    const r = parseLogLine(line({ requestTime: '0.300', ...o }));
    assert.ok(r.ok);
    return r.record;
  };
  // Answered by the upstream (any status it sent, errors included): its time, without the client's network or the check.
  assert.equal(latencyOf(rec({ upstreamStatus: '200', upstreamTime: '0.120' })), 0.12);
  assert.equal(latencyOf(rec({ status: '500', upstreamStatus: '500', upstreamTime: '0.040' })), 0.04);
  // No upstream (refused by authz, answered by nginx): the request's.
  assert.equal(latencyOf(rec({ status: '401', upstreamStatus: '', upstreamTime: '' })), 0.3);
  assert.equal(latencyOf(rec({ status: '429', upstreamStatus: '-', upstreamTime: '-' })), 0.3);
  // nginx's own 502/504 (no connection, timeout): time spent trying, not an answer.
  assert.equal(latencyOf(rec({ status: '502', upstreamStatus: '502', upstreamTime: '0.001' })), 0.3);
  assert.equal(latencyOf(rec({ status: '504', upstreamStatus: '504', upstreamTime: '0.290' })), 0.3);
  // Retries and internal redirects (lists): what the client waited.
  assert.equal(latencyOf(rec({ upstreamStatus: '502, 200', upstreamTime: '0.001, 0.100' })), 0.3);
  assert.equal(latencyOf(rec({ upstreamStatus: '200 : 200', upstreamTime: '0.010 : 0.020' })), 0.3);
});

test('anything off the format is malformed; over the size bound, oversized', () => {
  const bad = [
    enc(''),
    enc('{"v":"1"}'),
    enc('<190>Dec  5 22:33:39 other: {"v":"1"}'),
    line({}, '190>Dec  5 crossgate: '),
    line({ v: '2' }),
    line({ v: 1 }),
    line({ route: 'Air/Flights' }),
    line({ route: 'a/b"c' }),
    line({ route: 7 }),
    line({ client: 'a b/c' }),
    line({ status: '600' }),
    line({ status: '20' }),
    line({ status: 200 }),
    line({ requestTime: '-1.000' }),
    line({ requestTime: '1e9' }),
    line({ requestTime: 'NaN' }),
    line({ upstreamStatus: 'x'.repeat(10) }),
    line({ upstreamTime: '1'.repeat(200) }),
    line({ status: undefined }),
    enc('<190>Dec  5 22:33:39 crossgate: [1,2]'),
    enc('<190>Dec  5 22:33:39 crossgate: null'),
    enc('<190>Dec  5 22:33:39 crossgate: {"v":"1",'),
    Buffer.concat([enc('<190> crossgate: {"v":"'), Buffer.from([0xff, 0xfe]), enc('"}')]),
  ];
  for (const b of bad) assert.deepEqual(parseLogLine(b), { ok: false, reason: 'malformed' }, b.toString('latin1'));
  assert.deepEqual(parseLogLine(Buffer.alloc(MAX_DATAGRAM + 1, 0x3c)), { ok: false, reason: 'oversized' });
});

test('fast-check: random bytes and mutated lines never throw, and whatever parses holds only validated values', () => {
  const check = (b: Uint8Array) => {
    const r = parseLogLine(b);
    if (r.ok) {
      assert.ok(r.record.route === '' || /^[a-z0-9][-a-z0-9.]*\/[a-z0-9][-a-z0-9.]*$/.test(r.record.route));
      assert.ok(Number.isInteger(r.record.status) && r.record.status >= 100 && r.record.status < 600);
      assert.ok(Number.isFinite(r.record.seconds) && r.record.seconds >= 0);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), check), { numRuns: 2000 });
  const good = line({});
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (edits) => {
      const b = Buffer.from(good);
      for (const [i, v] of edits) b[i] = v;
      check(b);
    }),
    { numRuns: 2000 },
  );
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => check(line(o as Record<string, unknown>))), { numRuns: 1000 });
});

const config = (ids: string[]) => ({ current: { routes: { routes: ids.map((id) => ({ id })) } } as unknown as CompiledConfig });

test('the receiver records lines from allowed sources into the metrics and the recent window; the rest is counted and dropped', async () => {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const rx = await startAccessLogReceiver({ port: 0, metrics, config: config(['air/flights']), logger: pino({ level: 'silent' }), now: () => 1_000_000 });
  try {
    rx.receive(line({}), '127.0.0.1');
    // Answered by nginx itself (no upstream): its $request_time is recorded.
    rx.receive(line({ status: '503', requestTime: '0.250', client: '', upstreamStatus: '-', upstreamTime: '-' }), '::1');
    rx.receive(line({}), '10.0.0.9');
    rx.receive(line({ route: 'air/other' }), '127.0.0.1');
    rx.receive(line({ route: '' }), '127.0.0.1');
    rx.receive(enc('junk'), '127.0.0.1');
    rx.receive(Buffer.alloc(MAX_DATAGRAM + 1), '127.0.0.1');
    // And one over the real socket.
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => sock.send(line({ status: '404' }), rx.port, '127.0.0.1', (err) => (sock.close(), err ? reject(err) : resolve())));
    for (let i = 0; i < 100 && metrics.recent.summary(1_000_000).apis['air/flights']?.requests !== 3; i++) await new Promise((r) => setTimeout(r, 20));
    const s = metrics.recent.summary(1_000_000).apis['air/flights']!;
    assert.deepEqual([s.requests, s.clientErrors, s.serverErrors, s.statusCodes, s.maxMs], [3, 1, 1, { '200': 1, '503': 1, '404': 1 }, 250]);
    // The two upstream answers at their upstream time (10 ms, not the 12 ms request time), nginx's 503 at 250 ms.
    assert.equal(s.meanMs, 90);
    assert.deepEqual(Object.keys(metrics.recent.summary(1_000_000).apis), ['air/flights']);
    const text = await metrics.registry.metrics();
    assert.match(text, /crossgate_gateway_requests_total\{api="air\/flights",client="buyer\/portal",code_class="2xx"\} 1/);
    assert.match(text, /crossgate_gateway_requests_total\{api="air\/flights",client="-",code_class="5xx"\} 1/);
    for (const [result, n] of [['recorded', 3], ['refused_source', 1], ['unknown_route', 2], ['malformed', 1], ['oversized', 1]] as const) {
      assert.match(text, new RegExp(`crossgate_gateway_access_log_lines_total\\{result="${result}"\\} ${n}\\n`), result);
    }
  } finally {
    await rx.close();
  }
});

test('no config loaded yet: every line is an unknown route; configured sources replace loopback', async () => {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const rx = await startAccessLogReceiver({ port: 0, sources: ['10.1.0.0/16'], metrics, config: { current: undefined }, logger: pino({ level: 'silent' }) });
  try {
    rx.receive(line({}), '10.1.2.3');
    rx.receive(line({}), '127.0.0.1');
    const text = await metrics.registry.metrics();
    assert.match(text, /result="unknown_route"\} 1\n/);
    assert.match(text, /result="refused_source"\} 1\n/);
  } finally {
    await rx.close();
  }
});

test('flags and env: on at 127.0.0.1:5514 by default, "off", sources listed, an empty list refused', async () => {
  const { accessLogOptions } = await import('../../../gateway/main.ts');
  assert.deepEqual(accessLogOptions({}, {}), { listen: { host: '127.0.0.1', port: 5514 } });
  assert.equal(accessLogOptions({ 'access-log-listen': 'off' }, {}), undefined);
  assert.equal(accessLogOptions({}, { AUTHZ_ACCESS_LOG_LISTEN: 'off' }), undefined);
  assert.deepEqual(accessLogOptions({ 'access-log-listen': '10.0.0.5:6514' }, { AUTHZ_ACCESS_LOG_SOURCES: '10.0.0.0/24, ::1' }), {
    listen: { host: '10.0.0.5', port: 6514 },
    sources: ['10.0.0.0/24', '::1'],
  });
  assert.throws(() => accessLogOptions({ 'access-log-sources': ' , ' }, {}), /at least one/);
});

// The byte reader (readRendered) takes only nginx's exact shape; everything else goes through JSON.parse
// (parseLogLineJson). parseLogLine must give what parseLogLineJson gives, on every input.

test('the rendered shape is read byte by byte; another shape of the same line goes through JSON.parse, to the same record', () => {
  const rendered = line({ client: 'airline-operations/flights-portal.v2' });
  const record = { route: 'air/flights', client: 'airline-operations/flights-portal.v2', status: 200, seconds: 0.012, upstreamSeconds: 0.01 };
  assert.deepEqual(readRendered(rendered), record);
  assert.deepEqual(readRendered(line({ client: '', route: '' })), { ...record, route: '', client: undefined });
  assert.deepEqual(readRendered(line({}, '<190>Dec  5 22:33:39 web-1 crossgate: ')), { ...record, client: 'buyer/portal' });
  const json = rendered.toString('latin1').split(' crossgate: ')[1]!;
  const others = [
    // Keys in another order, an extra key, JSON spacing, a trailing newline, an escape, a non-ASCII hostname.
    enc(`<190>Dec  5 22:33:39 crossgate: ${JSON.stringify({ route: 'air/flights', ...JSON.parse(json) })}`),
    enc(`<190>Dec  5 22:33:39 crossgate: ${JSON.stringify({ status: '200', ...JSON.parse(json) })}`),
    enc(`<190>Dec  5 22:33:39 crossgate: ${JSON.stringify({ ...JSON.parse(json), extra: 'x' })}`),
    enc(`<190>Dec  5 22:33:39 crossgate: ${JSON.stringify(JSON.parse(json), null, 1)}`),
    enc(`<190>Dec  5 22:33:39 crossgate: ${json}\n`),
    enc(`<190>Dec  5 22:33:39 crossgate: ${json.replace('"route":"air', '"route":"\\u0061ir')}`),
    enc(`<190>Dec  5 22:33:39 hôte crossgate: ${json}`),
  ];
  for (const b of others) {
    assert.equal(readRendered(b), undefined, b.toString());
    assert.deepEqual(parseLogLine(b), { ok: true, record }, b.toString());
  }
});

/** Mostly a valid value (so that a line has one field off at a time), else one at or just past a bound, or any of the alphabet. */
const field = (valid: fc.Arbitrary<string>, nearMisses: string[], alphabet: RegExp) =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: fc.constantFrom(...nearMisses), weight: 2 }, { arbitrary: fc.stringMatching(alphabet), weight: 1 });
const segment = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,6}[a-z0-9])?$/);
const idLike = field(
  fc.oneof(fc.constant(''), fc.tuple(segment, segment).map(([a, b]) => `${a}/${b}`)),
  [`${'a'.repeat(253)}/b`, `${'a'.repeat(254)}/b`, `a/${'b'.repeat(253)}`, `a/${'b'.repeat(254)}`, 'a/', '/b', '-a/b', 'a-/b', 'a./b', 'a/.b', 'a/b-', 'a/b/c', 'A/b', 'a b/c', 'a/b"', 'a\\/b', '/'],
  /^[-a-z0-9./]{0,12}$/,
);
const statusLike = field(fc.integer({ min: 100, max: 599 }).map(String), ['502', '504', '600', '099', '20', '2000', '', '-', '2x0'], /^[0-9]{0,4}$/);
const secondsLike = field(
  fc.tuple(fc.integer({ min: 0, max: 9999999 }), fc.integer({ min: 0, max: 999 })).map(([s, ms]) => `${s}.${String(ms).padStart(3, '0')}`),
  ['0.000', '9999999.999', '12345678.000', '00000000.000', '.012', '0.01', '0.0123', '0,012', '1e3', ''],
  /^[0-9.]{0,10}$/,
);
const listLike = field(
  fc.oneof(statusLike, secondsLike, fc.constantFrom('', '-', '502, 200', '0.001 : 0.002')),
  ['9'.repeat(128), '9'.repeat(129), 'x', '200"', ' '],
  /^[-0-9., :]{0,12}$/,
);
const headLike = fc.oneof(
  { arbitrary: fc.constantFrom('<190>Dec  5 22:33:39 crossgate: ', '<1>crossgate: ', '<999>web-1 crossgate: '), weight: 6 },
  { arbitrary: fc.constantFrom('<1234>x crossgate: ', '<>x crossgate: ', '190>x crossgate: ', '<190>x crossgate:  ', '<190>a crossgate: b crossgate: ', '<19x>crossgate: '), weight: 2 },
  { arbitrary: fc.string({ maxLength: 30 }).map((h) => `<190>${h} crossgate: `), weight: 1 },
);
const endLike = fc.oneof({ arbitrary: fc.constant('"}'), weight: 6 }, { arbitrary: fc.constantFrom('"} ', '"}\n', '",}', '"', '"}}'), weight: 2 });

test('fast-check: parseLogLine gives exactly what JSON.parse gives (parseLogLineJson), whichever reader reads the line', () => {
  let accepted = 0;
  const same = (b: Uint8Array) => {
    const r = parseLogLine(b);
    assert.deepEqual(r, parseLogLineJson(b));
    // A plain Uint8Array (not a Buffer) reads the same.
    assert.deepEqual(parseLogLine(new Uint8Array(b)), r);
    if (readRendered(b)) accepted++;
  };
  fc.assert(
    fc.property(headLike, idLike, idLike, statusLike, listLike, secondsLike, listLike, endLike, (head, route, client, status, us, rt, ut, end) => {
      same(enc(`${head}{"v":"1","route":"${route}","client":"${client}","status":"${status}","upstreamStatus":"${us}","requestTime":"${rt}","upstreamTime":"${ut}${end}`));
    }),
    { numRuns: 5000 },
  );
  assert.ok(accepted > 200, `the byte reader took only ${accepted} lines`);
  const good = line({});
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const b = Buffer.from(good);
      for (const [i, v] of edits) b[i] = v;
      same(b);
    }),
    { numRuns: 3000 },
  );
  // Cut short anywhere.
  for (let n = 0; n <= good.length; n++) same(good.subarray(0, n));
});

test('ids read by the byte reader: the same bytes give the same string; the slots are bounded', () => {
  const ids = new IdStrings();
  const bytes = Buffer.from('xx team-1/app.v2 yy');
  assert.equal(ids.get(bytes, 3, 16), 'team-1/app.v2');
  assert.equal(ids.get(bytes, 3, 16), 'team-1/app.v2');
  assert.equal(ids.size, 1);
  for (let i = 0; i < 5000; i++) {
    const id = `ns-${i}/key-${i % 7}`;
    // Colliding ids replace one another in a slot; each read still gives its own bytes.
    assert.equal(ids.get(Buffer.from(`"${id}"`), 1, id.length + 1), id);
  }
  assert.ok(ids.size <= IdStrings.SLOTS, `${ids.size} slots`);
  assert.equal(ids.get(Buffer.from('ns-1/key-1'), 0, 10), 'ns-1/key-1');
});

test('the allowed source is remembered, never a refused one', async () => {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const rx = await startAccessLogReceiver({ port: 0, metrics, config: config(['air/flights']), logger: pino({ level: 'silent' }) });
  try {
    for (const from of ['127.0.0.1', '10.0.0.9', '127.0.0.1', '127.0.0.2', '::1', '10.0.0.9']) rx.receive(line({}), from);
    const text = await metrics.registry.metrics();
    assert.match(text, /crossgate_gateway_access_log_lines_total\{result="recorded"\} 3\n/);
    assert.match(text, /crossgate_gateway_access_log_lines_total\{result="refused_source"\} 3\n/);
  } finally {
    await rx.close();
  }
});

test('a file line (no syslog head) reads as the same datagram does, through both readers; the rest refused alike', async () => {
  const { parseFileLine } = await import('../../../gateway/authz-log.ts');
  const body = (o: Record<string, unknown>) => line(o, '');
  for (const o of [{}, { client: '', route: '' }, { status: '502', upstreamStatus: '502, 502', upstreamTime: '0.001, 0.002' }, { upstreamStatus: '-', upstreamTime: '-' }]) {
    assert.deepEqual(parseFileLine(body(o)), parseLogLine(line(o)), JSON.stringify(o));
    assert.equal(parseFileLine(body(o)).ok, true);
  }
  // Another key order: not the byte reader's shape, JSON.parse decides, same record.
  const reordered = enc('{"route":"air/flights","v":"1","client":"buyer/portal","status":"200","upstreamStatus":"200","requestTime":"0.012","upstreamTime":"0.010"}');
  assert.deepEqual(parseFileLine(reordered), parseLogLine(line({})));
  // A datagram's head is not a file line; junk, bad values, non-UTF-8 and oversized lines are refused.
  assert.deepEqual(parseFileLine(line({})), { ok: false, reason: 'malformed' });
  for (const bad of [enc(''), enc('junk'), body({ status: '600' }), body({ route: 'AIR/x' }), Buffer.from([0x7b, 0xff, 0x7d])]) assert.deepEqual(parseFileLine(bad), { ok: false, reason: 'malformed' });
  assert.deepEqual(parseFileLine(Buffer.alloc(MAX_DATAGRAM + 1, 0x20)), { ok: false, reason: 'oversized' });
  // The size bound is the line's own in a file and the whole datagram's (its syslog head included) over UDP: a body
  // that fits while its datagram does not is read from a file and oversized over UDP.
  const near = { pad: 'x'.repeat(MAX_DATAGRAM - body({ pad: '' }).length) };
  assert.equal(body(near).length, MAX_DATAGRAM);
  assert.deepEqual(parseLogLine(line(near)), { ok: false, reason: 'oversized' });
  assert.deepEqual(parseFileLine(body(near)), { ok: true, record: { route: 'air/flights', client: 'buyer/portal', status: 200, seconds: 0.012, upstreamSeconds: 0.01 } });
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
      const file = body(o as Record<string, unknown>);
      const datagram = line(o as Record<string, unknown>);
      // Outside that window of the head's length, the two transports read alike.
      if (datagram.length <= MAX_DATAGRAM || file.length > MAX_DATAGRAM) assert.deepEqual(parseFileLine(file), parseLogLine(datagram));
    }),
    { numRuns: 500 },
  );
});

test('flags and env: --access-log-file reads a checked path instead of UDP; with a UDP listener or sources it is refused, saying so', async () => {
  const { accessLogFileOptions } = await import('../../../gateway/main.ts');
  assert.equal(accessLogFileOptions({}, {}), undefined);
  assert.deepEqual(accessLogFileOptions({ 'access-log-file': '/run/crossgate/access.log' }, {}), { path: '/run/crossgate/access.log' });
  assert.deepEqual(accessLogFileOptions({}, { AUTHZ_ACCESS_LOG_FILE: 'file:/run/crossgate/access.log', AUTHZ_ACCESS_LOG_LISTEN: 'off' }), { path: '/run/crossgate/access.log' });
  const both = '--access-log-file reads the access log from a file, not UDP: leave out --access-log-listen (or set it to off) and --access-log-sources';
  assert.throws(() => accessLogFileOptions({ 'access-log-file': '/run/a.log', 'access-log-listen': '127.0.0.1:5514' }, {}), { message: both });
  assert.throws(() => accessLogFileOptions({ 'access-log-file': '/run/a.log' }, { AUTHZ_ACCESS_LOG_SOURCES: '::1' }), { message: both });
  assert.throws(() => accessLogFileOptions({ 'access-log-file': '/run/../a.log' }, {}), {
    message: 'access-log file "/run/../a.log": expected file:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most 255 bytes',
  });
});
