// Standalone config: a directory of `<ConfigMap name>.json` files, each the
// part JSON (or a whole ConfigMap as `kubectl get -o json` prints it).
//
// fs.watch on the directory triggers a rescan after a short debounce, and a
// periodic rescan (default every 2 s) covers what fs.watch can miss
// (network filesystems, atomic symlink swaps of a mounted volume). A rescan
// stats every file and reads only those whose size, mtime or inode changed,
// so a one-shard change reads one file, not the whole config.
//
// Writers should write a temp file and rename it into place; a half-written
// file fails to parse, and the last good config stays until it is complete.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigLoader, ConfigSource } from './loader.ts';

export interface DirectorySourceOptions {
  dir: string;
  loader: ConfigLoader;
  logger: Logger;
  /** Delay between a watch event and the rescan; default 50 ms. */
  debounceMs?: number;
  /** Periodic rescan; default 2000 ms; 0 disables. */
  rescanMs?: number;
  /** Use fs.watch; default true (false: rescans only, e.g. where inotify is unavailable). */
  watch?: boolean;
}

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
}

export class DirectorySource implements ConfigSource {
  readonly kind = 'directory' as const;
  readonly dir: string;
  #loader: ConfigLoader;
  #log: Logger;
  #debounceMs: number;
  #rescanMs: number;
  #useWatch: boolean;
  #seen = new Map<string, Seen>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Files read so far (tests check that unchanged files are not re-read). */
  reads = 0;

  constructor(opts: DirectorySourceOptions) {
    this.dir = opts.dir;
    this.#loader = opts.loader;
    this.#log = opts.logger.child({ source: 'directory', dir: opts.dir });
    this.#debounceMs = opts.debounceMs ?? 50;
    this.#rescanMs = opts.rescanMs ?? 2000;
    this.#useWatch = opts.watch ?? true;
  }

  async start(): Promise<void> {
    await this.rescan();
    this.#loader.flush();
    if (this.#useWatch) this.#startWatch();
    if (this.#rescanMs > 0) {
      this.#interval = setInterval(() => void this.rescan(), this.#rescanMs);
      this.#interval.unref();
    }
  }

  #startWatch(): void {
    try {
      this.#watcher = watch(this.dir, { persistent: false }, () => this.#kick());
      this.#watcher.on('error', (err) => this.#log.warn({ err: err.message }, 'fs.watch failed; relying on the periodic rescan'));
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'fs.watch unavailable; relying on the periodic rescan');
    }
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.rescan();
    }, this.#debounceMs);
  }

  /** Re-reads changed files; concurrent calls coalesce into one more pass. */
  rescan(): Promise<void> {
    if (this.#scanning) {
      this.#again = true;
      return this.#scanning;
    }
    this.#scanning = (async () => {
      try {
        do {
          this.#again = false;
          await this.#scanOnce();
        } while (this.#again && !this.#stopped);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'config directory scan failed');
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot read the config directory');
      return;
    }
    const present = new Set<string>();
    for (const file of names) {
      const name = file.slice(0, -'.json'.length);
      const path = join(this.dir, file);
      let st;
      try {
        st = await stat(path); // follows symlinks (mounted ConfigMap volumes)
      } catch {
        continue; // vanished between readdir and stat
      }
      if (!st.isFile()) continue;
      present.add(name);
      const prev = this.#seen.get(name);
      if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.ino === st.ino) continue;
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue;
      }
      this.reads++;
      this.#seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
      this.#loader.set(name, text);
    }
    for (const name of [...this.#seen.keys()]) {
      if (!present.has(name)) {
        this.#seen.delete(name);
        this.#loader.delete(name);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#interval) clearInterval(this.#interval);
    await this.#scanning;
  }
}
