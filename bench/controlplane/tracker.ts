// What the benchmark observes, through watches (the operator's own Informer,
// acting as the admin): key Secrets (metadata only: their hash annotation),
// Contracts and ApiKeys (state only), and the gateway config ConfigMaps.
//
// A credential counts as "in the gateway config" when the manifest lists every
// part with the checksum of the part we hold, and the part holding the hash is
// among them — the rule a gateway applies before it swaps configs
// (docs/gateway-config.md). Waiters resolve at the watch event that commits
// (or removes) their hash, so latencies carry the watch delay a gateway has too.
import type { Logger } from 'pino';
import { Informer } from '../../kube/informer.ts';
import type { KubeHttp } from '../../kube/kube.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import { ANNOTATION_KEY_SHA256, LABEL_APIKEY } from '../../api/labels.ts';
import { LABEL_GATEWAY, PART_DATA_KEY, type Manifest } from '../../api/gateway/config.ts';
import { CONSUMER, OWNER } from './fixture.ts';
import { OPERATOR_NAMESPACE } from './env.ts';

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: { state?: string }; data?: Record<string, string> };

const slim = (o: Obj): Obj =>
  ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace, resourceVersion: o.metadata?.resourceVersion, annotations: o.metadata?.annotations },
    ...(o.spec ? { spec: { decision: o.spec['decision'], revoked: o.spec['revoked'] } } : {}),
    ...(o.status ? { status: { state: o.status.state } } : {}),
  }) as Obj;

const crossgate = (plural: string, kind: string) => ({ group: 'crossgate.dev', version: 'v1alpha1', plural, kind, namespaced: true });

export class Tracker {
  readonly secrets: Informer<Obj>;
  readonly contracts: Informer<Obj>;
  readonly keys: Informer<Obj>;
  readonly configMaps: Informer<Obj>;
  /** Hashes in the committed gateway config. */
  readonly committed = new Set<string>();
  routes = 0;
  generation = 0;
  approvedContracts = 0;
  approvedKeys = 0;
  #parts = new Map<string, { checksum: string; hashes: string[]; routes?: number }>();
  #committedParts = new Map<string, string>();
  #committedHashes = new Map<string, string[]>();
  #manifest: Manifest | undefined;
  #onCommit = new Map<string, Array<(t: number) => void>>();
  #onRemove = new Map<string, Array<(t: number) => void>>();
  #onSecret = new Map<string, Array<(o: Obj) => void>>();
  #onRoutes: Array<{ n: number; resolve: () => void }> = [];

  constructor(http: KubeHttp, logger: Logger) {
    const common = { client: http, logger, resyncMs: 0, relistMs: 0, watchSilenceMs: 10 * 60_000 };
    this.secrets = new Informer<Obj>({
      ...common,
      resource: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
      namespace: CONSUMER.env,
      labelSelector: LABEL_APIKEY,
      metadataOnly: true,
      transform: slim,
    });
    this.contracts = new Informer<Obj>({ ...common, resource: crossgate('contracts', 'Contract'), namespace: OWNER.env, transform: slim });
    this.keys = new Informer<Obj>({ ...common, resource: crossgate('apikeys', 'ApiKey'), namespace: CONSUMER.env, transform: slim });
    this.configMaps = new Informer<Obj>({
      ...common,
      resource: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
      namespace: OPERATOR_NAMESPACE,
      labelSelector: `${LABEL_GATEWAY}=default`,
    });

    const counter = (field: 'approvedContracts' | 'approvedKeys') => ({
      onAdd: (o: Obj) => { if (o.status?.state === 'Approved') this[field]++; },
      onUpdate: (a: Obj, b: Obj) => { this[field] += Number(b.status?.state === 'Approved') - Number(a.status?.state === 'Approved'); },
      onDelete: (o: Obj) => { if (o.status?.state === 'Approved') this[field]--; },
    });
    this.contracts.addHandler(counter('approvedContracts'));
    this.keys.addHandler(counter('approvedKeys'));
    const secretSeen = (o: Obj) => {
      const name = o.metadata?.name ?? '';
      const ws = this.#onSecret.get(name);
      if (ws && o.metadata?.annotations?.[ANNOTATION_KEY_SHA256]) {
        this.#onSecret.delete(name);
        for (const w of ws) w(o);
      }
    };
    this.secrets.addHandler({ onAdd: secretSeen, onUpdate: (_a, b) => secretSeen(b) });
    const cm = (o: Obj) => this.#configMap(o);
    this.configMaps.addHandler({ onAdd: cm, onUpdate: (_a, b) => cm(b), onDelete: (o) => { this.#parts.delete(o.metadata?.name ?? ''); } });
  }

  async start(): Promise<void> {
    const all = [this.secrets, this.contracts, this.keys, this.configMaps];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([this.secrets, this.contracts, this.keys, this.configMaps].map((i) => i.stop()));
  }

  hashOf(secretName: string): string | undefined {
    return this.secrets.get(`${CONSUMER.env}/${secretName}`)?.metadata?.annotations?.[ANNOTATION_KEY_SHA256];
  }

  /** Resolves with the Secret once it carries a key hash. */
  waitSecret(name: string): Promise<Obj> {
    const found = this.secrets.get(`${CONSUMER.env}/${name}`);
    if (found?.metadata?.annotations?.[ANNOTATION_KEY_SHA256]) return Promise.resolve(found);
    return new Promise((resolve) => {
      const list = this.#onSecret.get(name) ?? [];
      list.push(resolve);
      this.#onSecret.set(name, list);
    });
  }

  /** Resolves with performance.now() at the event that committed the hash (or now, if it already is). */
  waitCommitted(hash: string): Promise<number> {
    if (this.committed.has(hash)) return Promise.resolve(performance.now());
    return new Promise((resolve) => {
      const list = this.#onCommit.get(hash) ?? [];
      list.push(resolve);
      this.#onCommit.set(hash, list);
    });
  }

  waitRemoved(hash: string): Promise<number> {
    if (!this.committed.has(hash)) return Promise.resolve(performance.now());
    return new Promise((resolve) => {
      const list = this.#onRemove.get(hash) ?? [];
      list.push(resolve);
      this.#onRemove.set(hash, list);
    });
  }

  waitRoutes(n: number): Promise<void> {
    if (this.routes >= n) return Promise.resolve();
    return new Promise((resolve) => this.#onRoutes.push({ n, resolve }));
  }

  #configMap(o: Obj): void {
    const name = o.metadata?.name ?? '';
    const text = o.data?.[PART_DATA_KEY];
    if (!text) return;
    const body = JSON.parse(text) as { kind: string; checksum?: string; entries?: Record<string, unknown>; routes?: unknown[] } & Manifest;
    if (body.kind === 'Manifest') this.#manifest = body;
    else if (body.kind === 'Credentials') this.#parts.set(name, { checksum: body.checksum!, hashes: Object.keys(body.entries ?? {}) });
    else if (body.kind === 'Routes') this.#parts.set(name, { checksum: body.checksum!, hashes: [], routes: body.routes?.length ?? 0 });
    this.#commit();
  }

  #commit(): void {
    const m = this.#manifest;
    // Not keyed by generation alone: a writer whose cache lags its own last write can reuse one.
    if (!m) return;
    for (const p of m.parts) if (this.#parts.get(p.name)?.checksum !== p.checksum) return; // incomplete: the gateway keeps the old config
    const t = performance.now();
    const added: string[] = [];
    const removed: string[] = [];
    for (const p of m.parts) {
      if (this.#committedParts.get(p.name) === p.checksum) continue;
      const part = this.#parts.get(p.name)!;
      const before = this.#committedHashes.get(p.name) ?? [];
      const now = new Set(part.hashes);
      for (const h of before) if (!now.has(h)) removed.push(h);
      for (const h of part.hashes) if (!this.committed.has(h)) added.push(h);
      this.#committedHashes.set(p.name, part.hashes);
      this.#committedParts.set(p.name, p.checksum);
    }
    for (const h of removed) this.committed.delete(h);
    for (const h of added) this.committed.add(h);
    // Routes come in shards (api/gateway/config.ts): the count is that of every route shard listed.
    this.routes = m.parts.reduce((n, p) => n + (this.#parts.get(p.name)?.routes ?? 0), 0);
    this.generation = m.generation;
    for (const h of added) this.#fire(this.#onCommit, h, t);
    for (const h of removed) if (!this.committed.has(h)) this.#fire(this.#onRemove, h, t);
    this.#onRoutes = this.#onRoutes.filter((w) => (this.routes >= w.n ? (w.resolve(), false) : true));
  }

  #fire(map: Map<string, Array<(t: number) => void>>, h: string, t: number): void {
    const ws = map.get(h);
    if (!ws) return;
    map.delete(h);
    for (const w of ws) w(t);
  }
}
