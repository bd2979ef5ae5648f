// What the writer keeps between reconciles, per gateway: the credential shards,
// which ApiKeys events marked dirty, the routes served, the entries' deadlines
// and the config last written. A reconcile recomputes only the dirty keys, so
// it costs O(changed keys + routes), not O(all keys) (docs/performance.md).
import type { Credential } from '../../../api/gateway/config.ts';
import { CredentialShards } from './credential-shards.ts';
import type { PreviousConfig } from './render.ts';
import type { RenderedRoutes } from './routes.ts';

/** Every key is recomputed at least this often, whatever the events said: the safety net for a missed event. */
export const FULL_PASS_MS = 10 * 60_000;

export interface GatewayState {
  credentials: CredentialShards;
  /** Credential owners to recompute at the next reconcile (ApiKeys "ns/name", Applications "Application ns/name"), or all of them. */
  dirty: Set<string> | 'all';
  /** Routes served at the last reconcile. */
  routeIds: Set<string>;
  /** Earliest notAfter (ms) among each key's entries, and the earliest of all. */
  deadlines: Map<string, number>;
  nextDeadline: number;
  /** The config this process last wrote completely. */
  written?: PreviousConfig;
  /** When every key was last recomputed (ms). */
  fullPassAt: number;
}

/** A gateway's routes as rendered: the ids of those served (keys reach only these) and the route shards. */
export interface ServedRoutes {
  ids: Set<string>;
  rendered: RenderedRoutes;
}

export class GatewayStates {
  readonly #states = new Map<string, GatewayState>();
  readonly #routes = new Map<string, ServedRoutes & { version: number }>();
  /** Moves whenever an input of the routes changed; a gateway's routes are rendered again only then. */
  #routesVersion = 0;
  /** The credential owners (keys "ns/name", apps "Application ns/name") of an ApiInstance ("ns/name"). */
  readonly #keysOf: (instance: string) => Iterable<string>;

  constructor(keysOf: (instance: string) => Iterable<string>) {
    this.#keysOf = keysOf;
  }

  markKey(id: string): void {
    for (const st of this.#states.values()) if (st.dirty !== 'all') st.dirty.add(id);
  }

  markAll(): void {
    for (const st of this.#states.values()) st.dirty = 'all';
  }

  markInstance(id: string): void {
    for (const k of this.#keysOf(id)) this.markKey(k);
  }

  routesChanged(): void {
    this.#routesVersion++;
  }

  /** The routes of `gateway`, rendered again by `render` only after an input of the routes changed. */
  routes(gateway: string, render: () => ServedRoutes): ServedRoutes {
    let routes = this.#routes.get(gateway);
    if (routes?.version !== this.#routesVersion) {
      routes = { version: this.#routesVersion, ...render() };
      this.#routes.set(gateway, routes);
    }
    return routes;
  }

  /**
   * The state of `gateway` (every key dirty the first time) and the keys to
   * recompute at `t` with `routeIds` served: those events marked, those of
   * routes that appeared or went away, those whose deadline has come; all of
   * them at least every FULL_PASS_MS. The dirty set starts empty again.
   */
  take(gateway: string, routeIds: Set<string>, t: number): { state: GatewayState; work: Set<string> | 'all' } {
    let st = this.#states.get(gateway);
    if (!st) this.#states.set(gateway, (st = { credentials: new CredentialShards(), dirty: 'all', routeIds: new Set(), deadlines: new Map(), nextDeadline: Infinity, fullPassAt: 0 }));
    if (t - st.fullPassAt >= FULL_PASS_MS) st.dirty = 'all';
    if (st.dirty === 'all') st.fullPassAt = t;
    // Keys of routes that appeared or went away (conflicts, broken policies, gateway moves).
    if (st.dirty !== 'all') {
      for (const id of routeIds) if (!st.routeIds.has(id)) for (const k of this.#keysOf(id)) st.dirty.add(k);
      for (const id of st.routeIds) if (!routeIds.has(id)) for (const k of this.#keysOf(id)) st.dirty.add(k);
    }
    st.routeIds = routeIds;
    // Entries whose notAfter has come leave the shards on time (the gateway also checks notAfter itself).
    if (st.dirty !== 'all' && t >= st.nextDeadline) {
      for (const [k, d] of st.deadlines) if (d <= t) st.dirty.add(k);
    }
    const work = st.dirty;
    st.dirty = new Set();
    return { state: st, work };
  }
}

/** Replaces the entries of one key and its deadline (the earliest notAfter among them). */
export function setEntries(state: GatewayState, id: string, entries: Array<[string, Credential]>): void {
  state.credentials.set(id, entries);
  let deadline = Infinity;
  for (const [, cred] of entries) if (cred.notAfter) deadline = Math.min(deadline, new Date(cred.notAfter).getTime());
  if (Number.isFinite(deadline)) state.deadlines.set(id, deadline);
  else state.deadlines.delete(id);
}

/** Recomputes the earliest deadline of all keys, after their entries were set. */
export function settleDeadlines(state: GatewayState): void {
  state.nextDeadline = Infinity;
  for (const d of state.deadlines.values()) if (d < state.nextDeadline) state.nextDeadline = d;
}

/** When to reconcile `state`'s gateway again without an event: the next deadline (with a margin) or full pass. */
export function requeueAfterMs(state: GatewayState, t: number): number | undefined {
  const next = Math.min(state.nextDeadline - t + 100, state.fullPassAt + FULL_PASS_MS - t);
  return next > 0 ? next : undefined;
}
