// The writer: the changed parts of a render go to their ConfigMaps, each on its
// own, then the manifest; afterwards the parts the manifest no longer lists are
// deleted. The ConfigMap cache holds only metadata (the stamp and generation
// annotations tell what is written), never the parts' content.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { InformerSpec } from '../../../kube/controller.ts';
import { isAlreadyExists, type KubeHttp } from '../../../kube/kube.ts';
import { deleteIfExists } from '../../../kube/effects.ts';
import { LABEL_GATEWAY, MAX_PART_BYTES, PART_DATA_KEY, manifestName, type Manifest } from '../../../api/gateway/config.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../../api/labels.ts';
import { objectPath } from '../../resources.ts';
import type { PreviousConfig, Rendered, RenderedPart } from './render.ts';

/** A part's stamp (RenderedPart.stamp): whether the object must be rewritten. */
export const ANNOTATION_STAMP = 'crossgate.dev/part-stamp';
export const ANNOTATION_GENERATION = 'crossgate.dev/generation';

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };

/** The gateway config ConfigMaps of `namespace`, watched for their annotations only. */
export function gatewayConfigMaps(namespace: string): InformerSpec {
  return {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespace,
    labelSelector: LABEL_GATEWAY,
    // The stamp and generation annotations are all the writer needs: do not hold megabytes of parts in
    // memory, nor have the apiserver send them (every part written came back whole on this watch).
    metadataOnly: true,
  };
}

/** A part as the manifest lists it, with what the writer records of it. */
export interface ListedPart {
  name: string;
  kind: RenderedPart['kind'];
  checksum: string;
  stamp: string;
  generation: number;
}

/**
 * Writes the changed parts of `out`, each on its own, then the manifest. One
 * part that cannot be written (over budget, refused by the apiserver) does not
 * stop the others nor the manifest, so a revocation in another shard always
 * reaches the gateway: the manifest lists what the failed part still holds
 * (its previous checksum), or leaves it out when it never existed, so the
 * gateway sees a consistent config; the caller retries the failed parts (they
 * stay changed against `listed`). A failing manifest write throws.
 */
export async function writeRendered(
  out: Rendered,
  previous: PreviousConfig | undefined,
  writePart: (part: RenderedPart) => Promise<void>,
  writeManifest: (manifest: Manifest) => Promise<void>,
): Promise<{ manifest: Manifest; listed: ListedPart[]; failed: Map<string, string>; manifestWritten: boolean }> {
  const failed = new Map<string, string>();
  for (const part of out.changed) {
    try {
      await writePart(part);
    } catch (err) {
      failed.set(part.name, err instanceof Error ? err.message : String(err));
    }
  }
  const listed: ListedPart[] = [];
  for (const p of out.parts) {
    if (!failed.has(p.name)) {
      listed.push({ name: p.name, kind: p.kind, checksum: p.checksum, stamp: p.stamp, generation: p.body.generation });
      continue;
    }
    const before = previous?.parts.get(p.name);
    // A stamp is the checksum, followed for a shard by its count (RenderedPart.stamp).
    if (before) listed.push({ name: p.name, kind: p.kind, checksum: before.stamp.split(' ')[0]!, stamp: before.stamp, generation: before.generation });
  }
  const manifest = failed.size === 0 ? out.manifest : { ...out.manifest, parts: listed.map((p) => ({ name: p.name, kind: p.kind, checksum: p.checksum })) };
  const manifestWritten = !previous || previous.generation !== manifest.generation;
  if (manifestWritten) await writeManifest(manifest);
  return { manifest, listed, failed, manifestWritten };
}

/**
 * Parts whose rendered content the writer could not write, per gateway, and
 * since when: the manifest keeps listing their previous content, so the
 * gateway serves that until a write succeeds. `onChange` hears a part become
 * stale (with its time) and stop being stale (undefined): the metric.
 */
export class StaleParts {
  readonly #since = new Map<string, Map<string, number>>();
  readonly #onChange: (gateway: string, part: string, since: number | undefined) => void;

  constructor(onChange: (gateway: string, part: string, since: number | undefined) => void = () => undefined) {
    this.#onChange = onChange;
  }

  /** After a write of `gateway`'s config at `now`: the `failed` parts are stale since their first failure, every other part is not. Returns the stale ones. */
  record(gateway: string, failed: Iterable<string>, now: number): ReadonlyMap<string, number> {
    const before = this.#since.get(gateway) ?? new Map<string, number>();
    const after = new Map<string, number>();
    for (const part of failed) after.set(part, before.get(part) ?? now);
    for (const part of before.keys()) if (!after.has(part)) this.#onChange(gateway, part, undefined);
    for (const [part, since] of after) if (!before.has(part)) this.#onChange(gateway, part, since);
    if (after.size > 0) this.#since.set(gateway, after);
    else this.#since.delete(gateway);
    return after;
  }
}

/** The ConfigMaps of one namespace's gateway configs, as the cache and the apiserver see them. */
export class ConfigMapWriter {
  readonly namespace: string;
  readonly http: Pick<KubeHttp, 'request'>;
  /** The metadata-only cache of gatewayConfigMaps(namespace). */
  readonly cache: { get(key: string): V1ConfigMap | undefined; list(): V1ConfigMap[] };

  constructor(namespace: string, http: Pick<KubeHttp, 'request'>, cache: ConfigMapWriter['cache']) {
    this.namespace = namespace;
    this.http = http;
    this.cache = cache;
  }

  /** The config of `gateway` as the cache has it: the manifest's generation and each part's stamp. */
  previousConfig(gateway: string): PreviousConfig | undefined {
    const manifest = this.cache.get(`${this.namespace}/${manifestName(gateway)}`);
    if (!manifest) return undefined;
    const parts: PreviousConfig['parts'] = new Map();
    for (const cm of this.cache.list()) {
      const a = cm.metadata?.annotations ?? {};
      if (cm.metadata?.labels?.[LABEL_GATEWAY] !== gateway || cm.metadata?.name === manifestName(gateway)) continue;
      if (a[ANNOTATION_STAMP]) parts.set(cm.metadata!.name!, { stamp: a[ANNOTATION_STAMP], generation: Number(a[ANNOTATION_GENERATION] ?? 0) });
    }
    return { generation: Number(manifest.metadata?.annotations?.[ANNOTATION_GENERATION] ?? 0), parts };
  }

  /** Deletes this gateway's parts (written by crossgate) that the manifest does not list: shards left from a larger count. */
  async deleteUnlisted(gateway: string, listed: ReadonlySet<string>): Promise<void> {
    const ns = this.namespace;
    for (const cm of this.cache.list()) {
      const m = cm.metadata;
      if (!m?.name || m.namespace !== ns || m.labels?.[LABEL_GATEWAY] !== gateway || m.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) continue;
      if (m.name === manifestName(gateway) || listed.has(m.name)) continue;
      await deleteIfExists(this.http, objectPath(CONFIGMAPS, ns, m.name));
    }
  }

  /** Creates or replaces one part or manifest; a body over MAX_PART_BYTES is refused before any request. */
  async write(name: string, gateway: string, stamp: string, generation: number, body: unknown): Promise<void> {
    const ns = this.namespace;
    const json = JSON.stringify(body);
    if (Buffer.byteLength(json) > MAX_PART_BYTES) {
      throw new Error(`gateway config part ${name} is ${Buffer.byteLength(json)} bytes, over the ${MAX_PART_BYTES}-byte budget`);
    }
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_GATEWAY]: gateway, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: { [ANNOTATION_STAMP]: stamp, [ANNOTATION_GENERATION]: String(generation) },
      },
      data: { [PART_DATA_KEY]: json },
    };
    if (!this.cache.get(`${ns}/${name}`)) {
      try {
        await this.http.request('POST', objectPath(CONFIGMAPS, ns), { body: cm });
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await this.http.request('PUT', objectPath(CONFIGMAPS, ns, name), { body: cm });
  }

  /** Writes the changed parts of `out`, then its manifest (writeRendered). */
  writeConfig(gateway: string, out: Rendered, previous: PreviousConfig | undefined): ReturnType<typeof writeRendered> {
    return writeRendered(
      out,
      previous,
      (part) => this.write(part.name, gateway, part.stamp, part.body.generation, part.body),
      (m) => this.write(manifestName(gateway), gateway, `manifest-${m.generation}`, m.generation, m),
    );
  }
}
