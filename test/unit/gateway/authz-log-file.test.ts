// crossgate-authz's access log through a shared file (gateway/authz-log-file.ts):
// a real temp file appended in several writes, lines split across passes,
// an oversized line, truncation at the threshold, the file replaced, missing
// then created, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MAX_DATAGRAM } from '../../../gateway/authz-log.ts';
import { startAccessLogFile, type AccessLogFileOptions } from '../../../gateway/authz-log-file.ts';
import type { CompiledConfig } from '../../../gateway/compiled.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';

const fileLine = (o: Record<string, unknown> = {}) =>
  `${JSON.stringify({ v: '1', route: 'air/flights', client: 'buyer/portal', status: '200', upstreamStatus: '200', requestTime: '0.012', upstreamTime: '0.010', ...o })}\n`;
const config = { current: { routes: { routes: [{ id: 'air/flights' }] } } as unknown as CompiledConfig };
const NOW = 1_000_000;

async function setup(t: { after(fn: () => Promise<void>): void }, o: Partial<AccessLogFileOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'crossgate-tail-'));
  const path = join(dir, 'access.log');
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const start = () => startAccessLogFile({ path, metrics, config, logger: pino({ level: 'silent' }), now: () => NOW, pollMs: 10, ...o });
  const requests = () => metrics.recent.summary(NOW).apis['air/flights']?.requests ?? 0;
  const lines = async (result: string) => Number(new RegExp(`access_log_lines_total\\{result="${result}"\\} (\\d+)`).exec(await metrics.registry.metrics())?.[1] ?? 0);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, path, metrics, start, requests, lines };
}

/** Waits until cond() holds (no timing asserted: only "eventually"). */
async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never: ${what}`);
}

test('lines appended in several writes, one split across passes, are each recorded once; unknown routes and junk counted', async (t) => {
  const s = await setup(t);
  const tail = s.start();
  try {
    await writeFile(s.path, '');
    await tail.poll();
    await appendFile(s.path, fileLine() + fileLine({ status: '404' }));
    await tail.poll();
    assert.equal(s.requests(), 2);
    const split = fileLine({ status: '503', client: '' });
    await appendFile(s.path, split.slice(0, 40));
    await tail.poll();
    assert.equal(s.requests(), 2);
    await appendFile(s.path, split.slice(40) + fileLine({ route: 'air/other' }) + 'junk\n');
    await tail.poll();
    const api = s.metrics.recent.summary(NOW).apis['air/flights']!;
    assert.deepEqual([api.requests, api.statusCodes], [3, { '200': 1, '404': 1, '503': 1 }]);
    assert.deepEqual([await s.lines('recorded'), await s.lines('unknown_route'), await s.lines('malformed')], [3, 1, 1]);
  } finally {
    await tail.close();
  }
});

test('a line over the bound is counted oversized once and skipped to its newline, even across passes; the next line is read', async (t) => {
  const s = await setup(t, { chunkBytes: MAX_DATAGRAM + 1 });
  const tail = s.start();
  try {
    await writeFile(s.path, '');
    await tail.poll();
    // Longer than a chunk, written in two parts.
    await appendFile(s.path, 'x'.repeat(MAX_DATAGRAM * 2));
    await tail.poll();
    await appendFile(s.path, `${'y'.repeat(100)}\n${fileLine()}`);
    await eventually(() => s.requests() === 1, 'the line after the long one');
    assert.equal(await s.lines('oversized'), 1);
    assert.equal(await s.lines('malformed'), 0);
  } finally {
    await tail.close();
  }
});

test('read to its end and over the threshold, the file is truncated to 0; lines written after it are still read', async (t) => {
  const s = await setup(t, { truncateAt: 1000 });
  const tail = s.start();
  try {
    await writeFile(s.path, '');
    await tail.poll();
    const many = fileLine().repeat(10);
    await appendFile(s.path, many);
    await eventually(async () => s.requests() === 10 && (await stat(s.path)).size === 0, 'read and truncated');
    // nginx writes with O_APPEND: at the new end.
    await appendFile(s.path, fileLine() + fileLine());
    await eventually(() => s.requests() === 12, 'lines after the truncate');
    assert.equal(await s.lines('recorded'), 12);
    // Under the threshold: left alone.
    assert.equal((await stat(s.path)).size, fileLine().length * 2);
  } finally {
    await tail.close();
  }
});

test('missing at start: waited for, then read from 0; replaced (another inode): the old file read to its end, the new one from 0; cut short by someone else: from 0', async (t) => {
  // Passes run when the test asks (poll), so the rename and the append to the old file happen between two passes.
  const s = await setup(t, { pollMs: 60_000 });
  const tail = s.start();
  try {
    await tail.poll();
    await writeFile(s.path, fileLine());
    await tail.poll();
    await eventually(() => s.requests() === 1, 'the file created later');
    await rename(s.path, `${s.path}.1`);
    await appendFile(`${s.path}.1`, fileLine());
    await writeFile(s.path, fileLine() + fileLine());
    await tail.poll();
    await eventually(async () => (await tail.poll(), s.requests() === 4), 'the old file and the new one');
    await writeFile(s.path, fileLine({ status: '201' }));
    await tail.poll();
    await eventually(() => s.requests() === 5, 'the file cut short');
    assert.equal(await s.lines('recorded'), 5);
  } finally {
    await tail.close();
  }
});

test('a file there before authz started is read from its end; a symlink in its place is not followed', async (t) => {
  const s = await setup(t);
  await writeFile(s.path, fileLine() + fileLine());
  const tail = s.start();
  try {
    await tail.poll();
    await appendFile(s.path, fileLine());
    await eventually(() => s.requests() === 1, 'only the line written after the start');
  } finally {
    await tail.close();
  }
  const other = join(s.dir, 'other.log');
  await writeFile(other, fileLine().repeat(3));
  await rm(s.path);
  await symlink(other, s.path);
  const m = await setup(t, { truncateAt: 10 });
  const viaLink = startAccessLogFile({ path: s.path, metrics: m.metrics, config, logger: pino({ level: 'silent' }), now: () => NOW, pollMs: 10, truncateAt: 10 });
  try {
    await viaLink.poll();
    await appendFile(other, fileLine());
    await viaLink.poll();
    await viaLink.poll();
    assert.equal(m.requests(), 0);
    // Not truncated through the link.
    assert.equal((await stat(other)).size, fileLine().length * 4);
  } finally {
    await viaLink.close();
  }
});

test('close stops polling and closes the file: lines written after it are not read', async (t) => {
  const s = await setup(t);
  const tail = s.start();
  await writeFile(s.path, fileLine());
  await eventually(() => s.requests() === 1, 'the first line');
  await tail.close();
  await tail.poll();
  await appendFile(s.path, fileLine());
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(s.requests(), 1);
});

test('startAuthz with the file transport: reports file:/path, records the lines into its metrics; UDP and a file together are refused', async (t) => {
  const { startAuthz } = await import('../../../gateway/gateway.ts');
  const { ConfigDir, route, silent } = await import('./fixtures.ts');
  const s = await setup(t);
  const cfg = await ConfigDir.create('authz-log-file');
  t.after(() => cfg.remove());
  cfg.routes = [route('air/flights', { basePath: '/flights' })];
  await cfg.write();
  await writeFile(join(s.dir, 'token'), 'authz-log-file-token-0123456789\n');
  const common = {
    admin: { host: '127.0.0.1', port: 0 },
    listen: { host: '127.0.0.1', port: 0 },
    source: { kind: 'directory' as const, dir: cfg.dir, gateway: cfg.gateway, rescanMs: 200, debounceMs: 10 },
    logger: silent(),
    tokenFile: join(s.dir, 'token'),
  };
  await assert.rejects(startAuthz({ ...common, proxyAccessLog: { listen: { host: '127.0.0.1', port: 0 } }, proxyAccessLogFile: { path: s.path } }), {
    message: 'the access log is read from UDP or from a file, not both',
  });
  const a = await startAuthz({ ...common, proxyAccessLogFile: { path: s.path, pollMs: 10 } });
  try {
    assert.equal(a.accessLogUrl, `file:${s.path}`);
    await a.sourceStarted;
    await eventually(() => a.loader.current !== undefined, 'config loaded');
    await writeFile(s.path, fileLine() + fileLine({ status: '500' }));
    await eventually(() => a.metrics.recent.summary(Date.now()).apis['air/flights']?.requests === 2, 'the lines in authz');
    assert.deepEqual(a.metrics.recent.summary(Date.now()).apis['air/flights']!.statusCodes, { '200': 1, '500': 1 });
  } finally {
    await a.stop(0);
  }
});
