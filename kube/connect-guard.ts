// The address check at connect time. The webhook and the operator judge the URL
// an organization wrote (model/upstream.ts), but they can be bypassed and DNS can
// point anywhere: a name allowed at admission may resolve to 127.0.0.1 tomorrow.
// So every new upstream (and JWKS) connection resolves the name here, refuses a
// loopback, link-local, unspecified, multicast or broadcast address unless its
// exact host:port is an allowed loopback pair, refuses an address of the
// cluster's own networks (CROSSGATE_CLUSTER_CIDRS) unless the name is a cluster
// Service name (backendRef, <svc>.<ns>.svc: the URL rules keep those to the
// organization's own namespaces), refuses the gateway's own listeners always,
// and connects to the address it checked (no second lookup an attacker's DNS
// could answer differently). A name is resolved by getaddrinfo on libuv's few
// shared threads (4 by default): a scope (the gateway's pools pass the route's
// namespace) has at most one lookup running, so names an organization makes
// slow to resolve cannot take every thread from other organizations' connects.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { PlatformSettings } from '../api/platform.ts';
import { hostPort } from '../api/platform.ts';
import { blockedRangeOf, clusterConnectProblem, connectProblem, isLocalhostName } from '../model/upstream.ts';

export const UPSTREAM_REFUSED = 'ERR_CROSSGATE_UPSTREAM_REFUSED';

/** A connection the gateway will not open; `message` says why (for the log, not the client). */
export class UpstreamRefusedError extends Error {
  readonly code = UPSTREAM_REFUSED;
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamRefusedError';
  }
}

export type Lookup = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const defaultLookup: Lookup = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

type GuardSettings = Pick<PlatformSettings, 'loopbackUpstreams' | 'clusterCidrs'>;

export interface ConnectGuardOptions {
  settings: GuardSettings;
  /** Name resolution; default dns.lookup (all addresses). */
  lookup?: Lookup;
  /** The host's own interface addresses; default os.networkInterfaces(). */
  interfaceAddresses?: () => string[];
  /** Lookups running at once per scope (connector's `scope`); default 1. Others of the scope wait their turn. */
  lookupsPerScope?: number;
}

interface ScopeLookups {
  running: number;
  waiting: Array<() => void>;
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

const unbracket = (h: string) => h.replace(/^\[|\]$/g, '');

export class ConnectGuard {
  #settings: GuardSettings;
  #lookup: Lookup;
  #interfaces: () => string[];
  #listeners: Array<{ host: string; port: number }> = [];
  #perScope: number;
  /** Scopes with a lookup running or waiting (an entry goes when its last lookup ends). */
  #scopes = new Map<string, ScopeLookups>();
  /** Callbacks waiting for one scope's lookup of one name (scope NUL name). */
  #pending = new Map<string, Array<Parameters<Lookup>[1]>>();

  constructor(opts: ConnectGuardOptions) {
    this.#settings = opts.settings;
    this.#lookup = opts.lookup ?? defaultLookup;
    this.#interfaces = opts.interfaceAddresses ?? localAddresses;
    this.#perScope = Math.max(1, opts.lookupsPerScope ?? 1);
  }

  /**
   * The lookup, run when `scope` has fewer than lookupsPerScope running (at once without a scope). Connects of a scope
   * to one name while its lookup is running or waiting share it: a burst of connects to one origin is one lookup.
   */
  #scopedLookup(scope: string | undefined, name: string, callback: Parameters<Lookup>[1]): void {
    if (scope === undefined) return this.#lookup(name, callback);
    const key = `${scope}\u0000${name}`;
    const sharing = this.#pending.get(key);
    if (sharing) return void sharing.push(callback);
    const callbacks = [callback];
    this.#pending.set(key, callbacks);
    this.#queueLookup(scope, name, (err, addresses) => {
      this.#pending.delete(key);
      for (const cb of callbacks) cb(err, addresses);
    });
  }

  #queueLookup(scope: string, name: string, callback: Parameters<Lookup>[1]): void {
    let s = this.#scopes.get(scope);
    if (!s) this.#scopes.set(scope, (s = { running: 0, waiting: [] }));
    const st = s;
    const run = () => {
      st.running++;
      this.#lookup(name, (err, addresses) => {
        st.running--;
        const next = st.waiting.shift();
        if (next) next();
        else if (st.running === 0) this.#scopes.delete(scope);
        callback(err, addresses);
      });
    };
    if (st.running < this.#perScope) run();
    else st.waiting.push(run);
  }

  /** The gateway's own listeners (data, admin), known once they are bound. */
  setListeners(listeners: ReadonlyArray<{ host: string; port: number }>): void {
    this.#listeners = listeners.map((l) => ({ host: unbracket(l.host), port: l.port }));
  }

  #ownListener(address: string, port: number): boolean {
    const key = hostPort(address, port);
    for (const l of this.#listeners) {
      if (l.port !== port) continue;
      // A listener on 0.0.0.0 or :: answers on every address of the host.
      const hosts = blockedRangeOf(l.host) === 'unspecified' ? this.#interfaces() : [l.host];
      if (hosts.some((h) => hostPort(h, port) === key) || (blockedRangeOf(l.host) === 'unspecified' && blockedRangeOf(address) === 'loopback')) return true;
    }
    return false;
  }

  /** Why `address` (resolved from `name`) may not be connected to on `port`, or undefined. */
  problem(name: string, address: string, port: number): string | undefined {
    if (this.#ownListener(address, port)) return `${name}:${port} resolves to ${address}, a listener of the gateway itself`;
    const range = connectProblem(address, port, this.#settings);
    // A pair written as "localhost:port" allows that name when it resolves to loopback.
    const pairByName = range === 'loopback' && isLocalhostName(name) && this.#settings.loopbackUpstreams.has(hostPort(name, port));
    if (range && !pairByName) {
      return `${name}:${port} resolves to ${address}, a ${range} address${range === 'loopback' ? ' not among the allowed loopback upstreams (CROSSGATE_LOOPBACK_UPSTREAMS)' : ''}`;
    }
    const cluster = clusterConnectProblem(name, address, this.#settings);
    if (cluster) return `${name}:${port} resolves to ${address}, inside the cluster's own network ${cluster.text} (CROSSGATE_CLUSTER_CIDRS), which only a Service name may reach`;
    return undefined;
  }

  /**
   * Resolves `hostname` and returns the address to connect to, or throws UpstreamRefusedError. Every address must pass
   * (no mixed answers). `scope`: whose lookup this is (at most lookupsPerScope of a scope run at once).
   */
  resolve(hostname: string, port: number, scope?: string): Promise<{ address: string; family: number }> {
    const name = unbracket(hostname).toLowerCase();
    const family = isIP(name);
    if (family !== 0) {
      const p = this.problem(name, name, port);
      return p ? Promise.reject(new UpstreamRefusedError(p)) : Promise.resolve({ address: name, family });
    }
    return new Promise((resolve, reject) => {
      this.#scopedLookup(scope, name, (err, addresses) => {
        if (err) return reject(err);
        if (!addresses.length) return reject(Object.assign(new Error(`${name}: no address`), { code: 'ENOTFOUND' }));
        for (const a of addresses) {
          const p = this.problem(name, a.address, port);
          if (p) return reject(new UpstreamRefusedError(p));
        }
        resolve(addresses[0]!);
      });
    });
  }

  /** An undici connector that connects only to addresses this guard allows; its lookups count in `scope`. */
  connector(opts: { timeoutMs?: number; scope?: string } = {}): buildConnector.connector {
    const base = buildConnector({ timeout: opts.timeoutMs ?? 10_000 });
    return (options, callback) => {
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
      this.resolve(options.hostname, port, opts.scope).then(
        ({ address }) => {
          const name = unbracket(options.hostname);
          // Connect to the checked address; TLS still verifies (and SNI names) the host name.
          base({ ...options, hostname: address, servername: options.servername ?? (isIP(name) ? undefined : name) }, callback);
        },
        (err: Error) => callback(err, null),
      );
    };
  }

  /** fetch() through this guard (for the JWKS); redirects are not followed; `onRefused` hears each refused connection. */
  fetch(onRefused?: (message: string) => void): (url: string, init: { headers: Headers; method: 'GET'; signal: AbortSignal }) => Promise<Response> {
    const dispatcher = new Agent({ connect: this.connector({ timeoutMs: 5000 }) });
    return async (url, init) => {
      try {
        // undici's own fetch: the Agent above must be driven by the same undici, not Node's bundled copy.
        return (await undiciFetch(url, { headers: Object.fromEntries(init.headers), method: init.method, signal: init.signal, dispatcher, redirect: 'manual' })) as unknown as Response;
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (cause instanceof UpstreamRefusedError) onRefused?.(cause.message);
        throw err;
      }
    };
  }
}
