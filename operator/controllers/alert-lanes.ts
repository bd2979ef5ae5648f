// Alert notifications run outside the Alert controller's worker, in one lane
// per namespace: each takes the whole notify timeout (alert.ts
// deliverNotification, so that its timing tells nothing), and on the single
// worker one organization's many state changes held back every other
// organization's Alerts (security-model row 36).

/** Notifications one namespace may have in flight at once; the rest wait in its own lane. */
export const NOTIFICATIONS_PER_NAMESPACE = 2;

interface Lane {
  /** Keys whose job is running: a key's next job waits for it, so a key's results come in order. */
  running: Set<string>;
  /** One job per key, the newest (only the latest state is worth announcing), in submission order. */
  pending: Map<string, () => Promise<void>>;
}

export class NotificationLanes {
  readonly perLane: number;
  #lanes = new Map<string, Lane>();

  constructor(perLane = NOTIFICATIONS_PER_NAMESPACE) {
    this.perLane = Math.max(1, perLane);
  }

  /** Runs `job` in `lane` when it has room; a job of `key` still waiting there is replaced. */
  submit(lane: string, key: string, job: () => Promise<void>): void {
    let l = this.#lanes.get(lane);
    if (!l) this.#lanes.set(lane, (l = { running: new Set(), pending: new Map() }));
    l.pending.delete(key);
    l.pending.set(key, job);
    this.#pump(lane, l);
  }

  /** Jobs waiting or running in every lane. */
  get size(): number {
    let n = 0;
    for (const l of this.#lanes.values()) n += l.running.size + l.pending.size;
    return n;
  }

  #pump(lane: string, l: Lane): void {
    for (const [key, job] of l.pending) {
      if (l.running.size >= this.perLane) return;
      if (l.running.has(key)) continue;
      l.pending.delete(key);
      l.running.add(key);
      void Promise.resolve()
        .then(job)
        .catch(() => {}) // a job reports its own failures; one must not stop the lane
        .finally(() => {
          l.running.delete(key);
          if (l.running.size === 0 && l.pending.size === 0) this.#lanes.delete(lane);
          else this.#pump(lane, l);
        });
    }
  }
}
