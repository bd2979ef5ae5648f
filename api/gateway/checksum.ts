// Canonical JSON (sorted keys) and its SHA-256: the checksum of a config part,
// equal on both sides whatever the key order of the serialiser.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function checksumOf(content: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(content))}`;
}

/** The shard of a key hash: its first byte modulo the shard count. */
export function shardOf(hashHex: string, shards: number): number {
  return parseInt(hashHex.slice(0, 2), 16) % shards;
}

/** The route shard of a route id: the first byte of the id's SHA-256, modulo the shard count (stable, spread evenly). */
export function routeShardOf(id: string, shards: number): number {
  return shardOf(sha256Hex(id), shards);
}
