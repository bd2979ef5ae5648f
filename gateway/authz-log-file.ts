// crossgate-authz's second access-log transport, for authz beside nginx in one
// pod (docs/gateway-integration.md, sidecar): nginx writes the same fixed
// crossgate_authz log_format lines to a file in the shared emptyDir, buffered
// (`access_log /path crossgate_authz buffer=32k flush=1s`, render-nginx.ts), and
// this tailer reads what was appended. One write per 32 KiB instead of a
// datagram per request: nginx saves a sendto per request, authz the ~9 µs Node
// pays to receive each datagram (docs/performance.md).
//
// Every line is recorded exactly as a datagram is (authz-log.ts lineRecorder),
// parsed by parseFileLine (the same readers without the syslog head).
//
// The tailer polls (an fstat on its open fd every pollMs; no fs.watch, whose
// events are not reliable on every volume), reads at most chunkBytes a pass,
// splits on '\n' and keeps a partial last line for the next pass; a line over
// MAX_DATAGRAM is counted 'oversized' and skipped to its '\n'.
//
// The file is not ours to grow forever: having read to its end, when it is
// over truncateAt bytes the tailer truncates it to 0 (nginx opened it with
// O_APPEND, so its next write lands at the new end) and reads on from 0. Known,
// bounded loss: bytes nginx appends between the last read and the truncate are
// lost, like a dropped datagram (analytics are best-effort). Truncating needs
// write access to the file: nginx creates it 0644, so both containers run as one
// user (else the tailer reads only, warns, and the file grows).
//
// Lifecycle: a file missing at start is waited for (nginx creates it on its
// first start); the first open of a file that was there before authz reads from
// its end (an earlier authz process read what is before it); a file created or
// replaced (another inode) afterwards is read from 0, and a file shorter than
// the offset (truncated by someone else) from 0 too. The path is opened without
// following a symlink, and only a regular file is read: the emptyDir is
// writable by nginx's container, which must not make authz truncate something
// else. Nothing the file holds can throw out of the tailer.
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { isSafePath } from '../kube/listen.ts';
import { lineRecorder, MAX_DATAGRAM, parseFileLine, type LineSink } from './authz-log.ts';

/** `file:/path`: the access log through a file (render-nginx --access-log, authz --access-log-file accepts it with or without). */
export const FILE_PREFIX = 'file:';
/** A path, not a name: bounded like the rest of what goes into nginx's text. */
export const ACCESS_LOG_PATH_MAX = 255;

/** The path of `file:/path` (or `/path`) after checking it as a unix socket's is (kube/listen.ts isSafePath). */
export function accessLogFilePath(value: string): string {
  const path = value.startsWith(FILE_PREFIX) ? value.slice(FILE_PREFIX.length) : value;
  if (!isSafePath(path, ACCESS_LOG_PATH_MAX)) {
    throw new Error(
      `access-log file ${JSON.stringify(value)}: expected file:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most ${ACCESS_LOG_PATH_MAX} bytes`,
    );
  }
  return path;
}

export const DEFAULT_POLL_MS = 250;
/** At most this much is read a pass (one buffer), so a large backlog is read in steps. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Read to its end and over this size, the file is truncated to 0. */
export const DEFAULT_TRUNCATE_AT = 8 << 20;

export interface AccessLogFileOptions extends LineSink {
  /** Absolute path of the file nginx writes (the shared emptyDir). */
  path: string;
  logger: Logger;
  pollMs?: number;
  chunkBytes?: number;
  truncateAt?: number;
}

export interface AccessLogFileTailer {
  path: string;
  /** file:/path */
  url: string;
  /** Runs one pass now (after the one in flight); tests. */
  poll(): Promise<void>;
  close(): Promise<void>;
}

const NEWLINE = 0x0a;
// O_NOFOLLOW: a symlink put in the emptyDir must not lead authz to read or truncate another file; O_NONBLOCK: a FIFO there must not hang the open.
const OPEN_FLAGS = constants.O_NOFOLLOW | constants.O_NONBLOCK;

export function startAccessLogFile(opts: AccessLogFileOptions): AccessLogFileTailer {
  const { path, logger, metrics } = opts;
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const chunkBytes = Math.max(MAX_DATAGRAM + 1, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const truncateAt = opts.truncateAt ?? DEFAULT_TRUNCATE_AT;
  const now = opts.now ?? Date.now;
  const record = lineRecorder(opts);
  const buf = Buffer.allocUnsafe(chunkBytes);

  let fh: FileHandle | undefined;
  let ino = 0;
  let writable = false;
  let offset = 0;
  /** The start of a line whose '\n' has not been read yet (at most MAX_DATAGRAM bytes). */
  let partial: Buffer | undefined;
  /** Inside a line already counted oversized: skip to its '\n'. */
  let skipping = false;
  /** Whether the next open is the first: a file there before authz started is read from its end. */
  let first = true;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const warnedAt = new Map<string, number>();

  // At most one warning a minute per kind: a broken file must not become a log flood.
  const warn = (kind: string, msg: string, extra: Record<string, unknown> = {}) => {
    const t = now();
    if (t - (warnedAt.get(kind) ?? -Infinity) < 60_000) return;
    warnedAt.set(kind, t);
    logger.warn({ path, ...extra }, msg);
  };

  const line = (l: Buffer) => {
    try {
      record(parseFileLine(l));
    } catch (err) {
      metrics.accessLogLine('malformed');
      warn('line', 'access-log line failed; dropped', { err: err instanceof Error ? err.message : String(err) });
    }
  };

  /** The bytes d[0…n) read at the offset: whole lines recorded, the rest kept (or skipped when too long). */
  const consume = (d: Buffer, n: number) => {
    let p = 0;
    while (p < n) {
      const nl = d.indexOf(NEWLINE, p);
      const end = nl < 0 || nl >= n ? n : nl;
      if (skipping) {
        if (end < n) skipping = false;
      } else {
        const len = (partial?.length ?? 0) + (end - p);
        if (len > MAX_DATAGRAM) {
          metrics.accessLogLine('oversized');
          partial = undefined;
          skipping = end === n;
        } else if (end === n) {
          // Copied: buf is read into again on the next pass.
          partial = partial ? Buffer.concat([partial, d.subarray(p, end)]) : Buffer.from(d.subarray(p, end));
        } else {
          line(partial ? Buffer.concat([partial, d.subarray(p, end)]) : d.subarray(p, end));
          partial = undefined;
        }
      }
      p = end + 1;
    }
  };

  const restart = () => {
    offset = 0;
    partial = undefined;
    skipping = false;
  };

  const drop = async () => {
    const h = fh;
    fh = undefined;
    await h?.close().catch(() => undefined);
  };

  /** Opens the file when it is there: false when it is not (yet), or is not a regular file. */
  const openFile = async (): Promise<boolean> => {
    let h: FileHandle;
    writable = true;
    try {
      h = await open(path, constants.O_RDWR | OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        first = false;
        return false;
      }
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      writable = false;
      h = await open(path, constants.O_RDONLY | OPEN_FLAGS);
      warn('readonly', 'access-log file is not writable by authz: it is read but never truncated, and grows (run nginx and authz as one user)');
    }
    const st = await h.stat();
    if (!st.isFile()) {
      await h.close();
      warn('notfile', 'access-log path is not a regular file; not read');
      return false;
    }
    fh = h;
    ino = st.ino;
    restart();
    if (first) offset = st.size;
    first = false;
    return true;
  };

  /** Reads one chunk from the offset; whether the end of the file was reached. */
  const readChunk = async (h: FileHandle, size: number): Promise<boolean> => {
    const want = Math.min(chunkBytes, size - offset);
    if (want <= 0) return true;
    const { bytesRead } = await h.read(buf, 0, want, offset);
    if (bytesRead === 0) return true;
    offset += bytesRead;
    consume(buf, bytesRead);
    return offset >= size;
  };

  /** Whether the path now names another file than the one open (replaced, removed). */
  const replaced = async (): Promise<boolean> => {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch {
      return true;
    }
    return st.ino !== ino;
  };

  /** One pass: true when there is more to read right away. */
  const pass = async (): Promise<boolean> => {
    if (!fh && !(await openFile())) return false;
    const h = fh!;
    const st = await h.stat();
    if (st.size < offset) restart();
    const atEnd = await readChunk(h, st.size);
    if (!atEnd) return true;
    if (await replaced()) {
      // What the old file still held was read above; the new one is read from 0.
      await drop();
      return true;
    }
    // Looked at again right before: what nginx appended since the read is read first, which narrows the loss to the two calls' gap.
    if (writable && st.size > truncateAt && offset === st.size && (await h.stat()).size === offset) {
      await h.truncate(0);
      // A partial line is kept: its rest, if nginx had not written it yet, lands at the new end.
      offset = 0;
    }
    return false;
  };

  const tick = () => {
    timer = undefined;
    running = pass().then(
      (more) => schedule(more ? 0 : pollMs),
      async (err: unknown) => {
        warn('pass', 'access-log file read failed; reopening', { err: err instanceof Error ? err.message : String(err) });
        await drop();
        schedule(pollMs);
      },
    );
  };
  const schedule = (ms: number) => {
    if (closed) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };

  tick();
  return {
    path,
    url: `file:${path}`,
    poll: async () => {
      // The timer may start a pass while this waits: wait until none is in flight.
      for (let r = running; ; r = running) {
        await r;
        if (r === running) break;
      }
      if (closed) return;
      if (timer) clearTimeout(timer);
      tick();
      await running;
    },
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
      await drop();
    },
  };
}
