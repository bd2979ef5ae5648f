// The API key format, shared by the operator (which issues keys) and the
// gateway (which hashes what it is presented). A key reads
//   cgk_<43 base64url chars: 256 random bits>_<8 hex: CRC-32 of the rest>
// The fixed prefix lets secret scanners find leaked keys; the CRC lets them
// (and the gateway) tell a real key from random text without any lookup.
import { randomBytes, createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'cgk_';
const BODY = /^cgk_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/;

function checksum(body: string): string {
  return (crc32(body) >>> 0).toString(16).padStart(8, '0');
}

/** A new key with 256 bits from the operating system's CSPRNG. */
export function generateApiKey(): string {
  const body = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return `${body}_${checksum(body)}`;
}

/** Well-formed and its checksum matches (says nothing about being issued). */
export function isWellFormedApiKey(key: string): boolean {
  if (!BODY.test(key)) return false;
  const i = key.lastIndexOf('_');
  return checksum(key.slice(0, i)) === key.slice(i + 1);
}

/** Lower-case hex SHA-256: the only form of a key that leaves the consumer's Secret. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A short non-secret identifier of a key, from its hash, for status and logs. */
export function keyIdOf(hashHex: string): string {
  return hashHex.slice(0, 12);
}
