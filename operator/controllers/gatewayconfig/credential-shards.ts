// The credential entries of one gateway in shards, and how many shards they
// need. The gateway's side, which looks hashes up, is CredentialIndex in
// gateway/compiled.ts.
import { CREDENTIAL_SHARDS, MAX_CREDENTIAL_SHARDS, MAX_PART_BYTES, type Credential } from '../../../api/gateway/config.ts';
import { canonicalJson, sha256Hex, shardOf } from '../../../api/gateway/checksum.ts';
import { isCredentialHash, keyIdOf } from '../../../api/credential-format.ts';

interface Shard {
  entries: Record<string, Credential>;
  owners: Map<string, string>;
  /** Each entry's `"hash":{…}` in canonical JSON, so a checksum does not re-serialise the shard. */
  fragments: Map<string, string>;
  /** Bytes of the fragments, a comma each: the part's entries take this plus one. */
  bytes: number;
  checksum: string | undefined;
  /** What the part holds while the shard is over budget (fitShard), computed with the checksum. */
  fitted: { entries: Record<string, Credential>; left: LeftOut[] } | undefined;
}

const emptyShard = (): Shard => ({ entries: {}, owners: new Map(), fragments: new Map(), bytes: 0, checksum: undefined, fitted: undefined });

/**
 * The bytes a Credentials part takes besides its entries (apiVersion, kind, a gateway name of up to 63 characters,
 * generation, checksum, shard numbers), at most (a unit test writes the longest).
 */
export const CREDENTIALS_PART_OVERHEAD = 300;

/** A credential left out of its shard's part because the shard is over budget, and why (the message its owner reads). */
export interface LeftOut {
  hash: string;
  /** Owner id: an ApiKey "ns/name", an Application "Application ns/name". */
  owner: string;
  /** The organization (or namespace) that gave it up: the one taking the most of the shard. */
  group: string;
  shard: number;
  message: string;
}

/** The namespace of an owner id ("ns/name" or "Application ns/name"): what a shard is fitted by when nothing better is known. */
export const namespaceOfOwner = (owner: string): string => owner.slice(owner.lastIndexOf(' ') + 1).split('/')[0] ?? '';

const leftOutMessage = (hash: string, shard: number, budget: number, group: string, groupBytes: number) =>
  `the gateway config leaves out this credential (id ${keyIdOf(hash)}): credential shard ${shard} is over the ${budget}-byte budget of one config part, ` +
  `and Organization "${group}", which takes the most of it (${groupBytes} bytes), gives up its largest credentials first. ` +
  'Make its access entries smaller (fewer endpoints, smaller ApiGroups) or fewer';

/** Keys a shard holds on average before the shard count doubles. */
export const KEYS_PER_SHARD = 256;

/**
 * How many credential shards `entries` keys need, given the count in use.
 * A key change rewrites its shard, so shards must stay small as keys grow
 * (a write's size is what etcd keeps until compaction and what the gateway
 * re-parses): the count doubles once shards average KEYS_PER_SHARD keys, up
 * to 256, and halves only once the halved count would be half full, so a
 * count near a threshold does not flap. Every change of count rewrites every
 * shard once.
 */
export function credentialShardsFor(entries: number, current: number): number {
  let shards = Math.min(MAX_CREDENTIAL_SHARDS, Math.max(CREDENTIAL_SHARDS, current));
  while (shards < MAX_CREDENTIAL_SHARDS && entries > shards * KEYS_PER_SHARD) shards *= 2;
  while (shards > CREDENTIAL_SHARDS && entries < (shards / 4) * KEYS_PER_SHARD) shards /= 2;
  return shards;
}

/**
 * A gateway's credential entries in shards, kept between renders: each owner
 * (an ApiKey "ns/name", or an Application "Application ns/name") contributes its entries; a shard's checksum is
 * recomputed only after one of its entries changed, so a render after a
 * one-key change costs one shard, not all of them. Pure bookkeeping, no I/O.
 */
export class CredentialShards {
  #shards: Shard[];
  #byOwner = new Map<string, { fragments: string[]; entries: Array<[string, Credential]> }>();
  /** Bytes of one part, its own fields included. */
  readonly #budget: number;

  constructor(shards = CREDENTIAL_SHARDS, budget = MAX_PART_BYTES) {
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_CREDENTIAL_SHARDS) throw new RangeError(`shard count must be an integer from 1 to ${MAX_CREDENTIAL_SHARDS}, got ${shards}`);
    this.#shards = Array.from({ length: shards }, emptyShard);
    this.#budget = budget;
  }

  /** Shards of plain entries (each hash its own owner; a later duplicate wins, as in an object). */
  static from(credentials: Iterable<[string, Credential]>, shards = CREDENTIAL_SHARDS): CredentialShards {
    const out = new CredentialShards(shards);
    for (const entry of credentials) out.set(entry[0], [entry]);
    return out;
  }

  get shardCount(): number {
    return this.#shards.length;
  }

  /** Spreads every entry over `shards` shards, keeping its fragment (every shard's checksum is recomputed on the next render). */
  reshard(shards: number): void {
    if (shards === this.#shards.length) return;
    const before = this.#shards;
    this.#shards = new CredentialShards(shards).#shards;
    for (const old of before) {
      for (const [hash, owner] of old.owners) {
        const shard = this.#shards[shardOf(hash, shards)]!;
        const fragment = old.fragments.get(hash)!;
        shard.entries[hash] = old.entries[hash]!;
        shard.owners.set(hash, owner);
        shard.fragments.set(hash, fragment);
        shard.bytes += Buffer.byteLength(fragment) + 1;
      }
    }
  }

  /** Replaces the entries of `owner`; returns whether anything changed. */
  set(owner: string, entries: Array<[string, Credential]>): boolean {
    if (entries.length === 0) return this.delete(owner);
    // The canonical fragments say everything about the entries: equal fragments, nothing to do.
    const fragments = entries.map(([hash, cred]) => `${JSON.stringify(hash)}:${canonicalJson(cred)}`);
    const before = this.#byOwner.get(owner);
    if (before && before.fragments.length === fragments.length && before.fragments.every((f, i) => f === fragments[i])) return false;
    if (before) this.#remove(owner, before.entries);
    entries.forEach(([hash, cred], i) => {
      // A hash that is not one (hashesOf filters them) has no shard and would make the gateway refuse the part.
      if (!isCredentialHash(hash)) return;
      const shard = this.#shards[shardOf(hash, this.#shards.length)]!;
      // A hash another owner (key or app) holds stays its: the first holder keeps it, a copy never takes its routes over.
      const holder = shard.owners.get(hash);
      if (holder !== undefined && holder !== owner) return;
      shard.entries[hash] = cred;
      shard.owners.set(hash, owner);
      shard.fragments.set(hash, fragments[i]!);
      shard.bytes += Buffer.byteLength(fragments[i]!) + 1;
      shard.checksum = undefined;
    });
    this.#byOwner.set(owner, { fragments, entries });
    return true;
  }

  delete(owner: string): boolean {
    const before = this.#byOwner.get(owner);
    if (!before) return false;
    this.#remove(owner, before.entries);
    this.#byOwner.delete(owner);
    return true;
  }

  #remove(owner: string, entries: Array<[string, Credential]>): void {
    for (const [hash] of entries) {
      if (!isCredentialHash(hash)) continue;
      const shard = this.#shards[shardOf(hash, this.#shards.length)]!;
      if (shard.owners.get(hash) !== owner) continue; // another owner holds that hash now
      shard.bytes -= Buffer.byteLength(shard.fragments.get(hash)!) + 1;
      delete shard.entries[hash];
      shard.owners.delete(hash);
      shard.fragments.delete(hash);
      shard.checksum = undefined;
    }
  }

  owners(): IterableIterator<string> {
    return this.#byOwner.keys();
  }

  /** Number of entries (hashes) in the index. */
  get size(): number {
    let n = 0;
    for (const s of this.#shards) n += s.owners.size;
    return n;
  }

  /**
   * A shard's part: its entries (do not mutate), their checksum, and the credentials left out, computed when the shard
   * changed. A shard over the part budget is fitted (fitShard): `groupOf` names the organization of an owner id (its
   * namespace by default); it is read when the shard changed, not at every call.
   */
  shard(i: number, groupOf: (owner: string) => string = namespaceOfOwner): { entries: Record<string, Credential>; checksum: string; left: LeftOut[] } {
    const s = this.#shards[i]!;
    if (s.checksum === undefined) {
      s.fitted = CREDENTIALS_PART_OVERHEAD + s.bytes > this.#budget ? this.#fit(s, i, groupOf) : undefined;
      const kept = s.fitted ? (h: string) => s.fitted!.entries[h] !== undefined : () => true;
      // checksumOf(entries), from the cached fragments: canonical JSON sorts object keys by code unit.
      const hashes = [...s.fragments.keys()].filter(kept).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      s.checksum = `sha256:${sha256Hex(`{${hashes.map((h) => s.fragments.get(h)).join(',')}}`)}`;
    }
    return s.fitted ? { entries: s.fitted.entries, checksum: s.checksum, left: s.fitted.left } : { entries: s.entries, checksum: s.checksum, left: [] };
  }

  /**
   * Fits one shard into the part budget, as routes are (routes.ts fitShard): while it is over, the organization
   * taking the most bytes of the shard gives up its largest credential. So a tenant filling a shard (its hashes are
   * in its status' keyId, rotation draws new ones, and its admins can write any well-formed hash into their own
   * Secrets) costs its own credentials, never a neighbour's that takes less of the shard, and the shard can always be
   * written: one that cannot keeps its old content at the gateway, revoked keys included, for everyone in it.
   */
  #fit(s: Shard, shard: number, groupOf: (owner: string) => string): { entries: Record<string, Credential>; left: LeftOut[] } {
    let total = CREDENTIALS_PART_OVERHEAD + s.bytes;
    const groups = new Map<string, { bytes: number; items: Array<{ hash: string; owner: string; bytes: number }> }>();
    for (const [hash, owner] of s.owners) {
      const name = groupOf(owner);
      const g = groups.get(name) ?? { bytes: 0, items: [] };
      const bytes = Buffer.byteLength(s.fragments.get(hash)!) + 1;
      g.bytes += bytes;
      g.items.push({ hash, owner, bytes });
      groups.set(name, g);
    }
    for (const g of groups.values()) g.items.sort((a, b) => b.bytes - a.bytes || (a.hash < b.hash ? -1 : 1));
    const left: LeftOut[] = [];
    while (total > this.#budget && groups.size > 0) {
      let group = '';
      let most: { bytes: number; items: Array<{ hash: string; owner: string; bytes: number }> } | undefined;
      for (const [name, g] of groups) if (!most || g.bytes > most.bytes || (g.bytes === most.bytes && name < group)) [group, most] = [name, g];
      const item = most!.items.shift()!;
      left.push({ hash: item.hash, owner: item.owner, group, shard, message: leftOutMessage(item.hash, shard, this.#budget, group, most!.bytes) });
      total -= item.bytes;
      most!.bytes -= item.bytes;
      if (most!.items.length === 0) groups.delete(group);
    }
    const gone = new Set(left.map((l) => l.hash));
    const entries: Record<string, Credential> = {};
    for (const hash in s.entries) if (!gone.has(hash)) entries[hash] = s.entries[hash]!;
    return { entries, left };
  }
}
