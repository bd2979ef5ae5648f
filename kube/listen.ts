// Binding a server, the same way for the three processes' servers (health,
// gateway data and admin, webhook): a bind error rejects instead of crashing,
// and the caller learns the port it got (port 0 in tests) and its URL.
//
// A host "unix:/absolute/path" binds a unix domain socket there instead
// (crossgate-authz's check port beside nginx in one pod; gateway/main.ts
// allows it for that listener only): created 0660, a stale socket of an
// earlier run removed first, removed again when the server closes.
import { lstat, chmod, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Bound {
  port: number;
  /** http://host:port, IPv6 hosts in brackets; unix:/path for a unix socket. */
  url: string;
}

/** The prefix of a listen address that names a unix domain socket: `unix:/path` (nginx's own spelling). */
export const UNIX_PREFIX = 'unix:';
/** Linux's sun_path holds 108 bytes with the terminating NUL. */
export const UNIX_PATH_MAX = 107;
/**
 * The socket's mode: owner and group read/write, nobody else. Group, because
 * nginx beside authz usually runs as another user: the pod's fsGroup (the
 * emptyDir's group, inherited by the socket) lets it in, and no one outside it.
 */
export const UNIX_SOCKET_MODE = 0o660;
/**
 * The path is also written into nginx's config (render-nginx.ts): absolute, of
 * letters, digits, ".", "_", "-" and "/" only, so nothing in it is syntax to
 * nginx (whitespace, ";", braces, quotes, "$", "#").
 */
const UNIX_PATH = /^(\/[A-Za-z0-9._-]+)+$/;
/** What a peer of a unix socket is reported as: see loopbackPeer. */
export const UNIX_PEER_ADDRESS = '127.0.0.1';

/** The path of `unix:/path` after checking it (absolute, the alphabet above, no "." or ".." segment, at most 107 bytes). */
export function unixSocketPath(value: string): string {
  const path = value.startsWith(UNIX_PREFIX) ? value.slice(UNIX_PREFIX.length) : value;
  if (!isSafePath(path, UNIX_PATH_MAX)) {
    throw new Error(
      `unix socket ${JSON.stringify(value)}: expected unix:/absolute/path of letters, digits, ".", "_", "-" and "/", no "." or ".." segment, at most ${UNIX_PATH_MAX} bytes`,
    );
  }
  return path;
}

/** Whether `path` is absolute, of the alphabet above, without a "." or ".." segment and at most `max` bytes: safe in nginx's text and in the shared volume (also the access-log file, authz-log-file.ts). */
export function isSafePath(path: string, max: number): boolean {
  return UNIX_PATH.test(path) && !path.split('/').some((s) => s === '.' || s === '..') && Buffer.byteLength(path) <= max;
}

/** The socket path when `host` names one (`unix:/path`), else undefined. */
export function unixPathOf(host: string | undefined): string | undefined {
  return host?.startsWith(UNIX_PREFIX) ? unixSocketPath(host) : undefined;
}

export async function listenOn(server: Server, host: string | undefined, port: number, scheme = 'http'): Promise<Bound> {
  const path = unixPathOf(host);
  if (path !== undefined) return listenOnUnix(server, path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const h = host ?? '127.0.0.1';
  return { port: bound, url: `${scheme}://${h.includes(':') ? `[${h}]` : h}:${bound}` };
}

/** Binds `server` to opts.host (default 127.0.0.1) and opts.port (default `defaultPort`): the server, its host, the port it got and its URL. */
export async function bind<S extends Server>(server: S, opts: { host?: string; port?: number }, defaultPort: number): Promise<Bound & { server: S; host: string }> {
  const host = opts.host ?? '127.0.0.1';
  return { server, host, ...(await listenOn(server, host, opts.port ?? defaultPort)) };
}

/** Stops accepting and drops every connection: for servers whose requests are short (probes, admin). */
export function closeNow(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

async function listenOnUnix(server: Server, path: string): Promise<Bound> {
  await removeStaleSocket(path);
  // Before the server's own listener, so the connection's handler already sees the address.
  server.prependListener('connection', loopbackPeer);
  // Created without group-execute or any bit for others, so no one else can connect before the chmod below;
  // libuv binds inside listen(), synchronously, so the umask is restored right after it.
  const umask = process.umask(0o117);
  let listening: Promise<void>;
  try {
    listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  await listening;
  await chmod(path, UNIX_SOCKET_MODE);
  // libuv unlinks the socket file when the server closes.
  return { port: 0, url: `${UNIX_PREFIX}${path}` };
}

/**
 * A unix socket's peer has no address (Node reports undefined); it is reported
 * as loopback, so the client-address rules (trusted proxies, IP lists, per-IP
 * limits) treat nginx beside authz exactly as over 127.0.0.1: like a loopback
 * peer it is in this pod, and the file's mode narrows who it can be.
 */
function loopbackPeer(socket: Socket): void {
  Object.defineProperty(socket, 'remoteAddress', { value: UNIX_PEER_ADDRESS });
  Object.defineProperty(socket, 'remoteFamily', { value: 'IPv4' });
}

/**
 * A socket file left by an earlier run (a crash, SIGKILL: the emptyDir
 * outlives the container) is removed; anything else at the path is refused,
 * and so is a socket some process still accepts on.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // Said here: bind() reports a missing directory as "permission denied".
    if (!(await stat(dirname(path)).then((d) => d.isDirectory(), () => false))) throw new Error(`unix socket ${path}: ${dirname(path)} is not a directory (mount the shared volume there)`);
    return;
  }
  if (!isSocket) throw new Error(`unix socket ${path}: the path exists and is not a socket; not removed (remove it or choose another path)`);
  const answer = await probe(path);
  if (answer === 'accepting') throw new Error(`unix socket ${path}: another process is listening on it; not removed`);
  if (answer !== 'refused' && answer !== 'ENOENT') throw new Error(`unix socket ${path}: cannot tell whether it is in use (${answer}); not removed`);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Whether a process accepts connections on the socket at `path`: 'accepting', 'refused' (stale), or the error code. */
function probe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (answer: string) => {
      s.destroy();
      resolve(answer);
    };
    s.setTimeout(2000, () => done('timeout'));
    s.once('connect', () => done('accepting'));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message)));
  });
}
