// Serving certificate from files (tls.crt, tls.key), for clusters where
// cert-manager issues it into a mounted Secret and injects the caBundle itself.
// Kubernetes updates a Secret volume by swapping a symlink, so the directory
// is watched and also re-read periodically; a change reaches the running
// server through setSecureContext, without a restart.
import { readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface CertDirWatcher {
  stop(): void;
}

export async function watchCertDir(
  dir: string,
  onCertificate: (pair: { cert: string; key: string }) => void,
  log: Logger,
  pollMs = 60_000,
): Promise<CertDirWatcher> {
  let last = '';
  const load = async (initial: boolean) => {
    try {
      const [cert, key] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
      if (cert + key === last) return;
      // Caught between the two files of an update: wait for the matching pair.
      createSecureContext({ cert, key });
      last = cert + key;
      onCertificate({ cert, key });
      log.info({ dir }, initial ? 'serving certificate loaded from files' : 'serving certificate reloaded from files');
    } catch (err) {
      if (initial) throw new Error(`cannot read tls.crt and tls.key in ${dir}: ${(err as Error).message}`);
      log.warn({ dir, err: (err as Error).message }, 'certificate files unreadable; keeping the current certificate');
    }
  };
  await load(true);
  let timer: NodeJS.Timeout | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(false), 200);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, soon);
  } catch {
    // Some filesystems cannot be watched: the poll below still catches changes.
  }
  const poll = setInterval(() => void load(false), pollMs);
  poll.unref();
  return {
    stop() {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
    },
  };
}
