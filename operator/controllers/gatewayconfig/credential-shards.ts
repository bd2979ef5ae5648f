// The credential entries of one gateway in shards, and how many shards they
// need. The gateway's side, which looks hashes up, is CredentialIndex in
// gateway/compiled.ts.
import { CREDENTIAL_SHARDS, MAX_CREDENTIAL_SHARDS, type Credential } from '../../../api/gateway/config.ts';
import { canonicalJson, sha256Hex, shardOf } from '../../../api/gateway/checksum.ts';
import { isCredentialHash } from '../../../api/credential-format.ts';

interface Shard {
  entries: Record<string, Credential>;
  owners: Map<string, string>;
  /** Each entry's `"hash":{…}` in canonical JSON, so a checksum does not re-serialise the shard. */
  fragments: Map<string, string>;
  checksum: string | undefined;
}

const emptyShard = (): Shard => ({ entries: {}, owners: new Map(), fragments: new Map(), checksum: undefined });

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

  constructor(shards = CREDENTIAL_SHARDS) {
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_CREDENTIAL_SHARDS) throw new RangeError(`shard count must be an integer from 1 to ${MAX_CREDENTIAL_SHARDS}, got ${shards}`);
    this.#shards = Array.from({ length: shards }, emptyShard);
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
        shard.entries[hash] = old.entries[hash]!;
        shard.owners.set(hash, owner);
        shard.fragments.set(hash, old.fragments.get(hash)!);
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

  /** A shard's entries (do not mutate) and checksum, computed when it changed. */
  shard(i: number): { entries: Record<string, Credential>; checksum: string } {
    const s = this.#shards[i]!;
    if (s.checksum === undefined) {
      // checksumOf(s.entries), from the cached fragments: canonical JSON sorts object keys by code unit.
      const hashes = [...s.fragments.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      s.checksum = `sha256:${sha256Hex(`{${hashes.map((h) => s.fragments.get(h)).join(',')}}`)}`;
    }
    return { entries: s.entries, checksum: s.checksum };
  }
}
