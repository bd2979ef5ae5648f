// The credential formats (API keys, and an Application's client ID and
// secret), shared by the operator (which issues them) and the gateway (which
// hashes what it is presented). One home for both. A key reads
//   cgk_<43 base64url chars: 256 random bits>_<8 hex: CRC-32 of the rest>
// and a client secret
//   cgs_<43 base64url chars: 256 random bits>_<8 hex: CRC-32 of the rest>
// The fixed prefix lets secret scanners find leaked keys; the CRC lets them
// (and the gateway) tell a real key from random text without any lookup. A
// client ID (cgc_<22 base64url: 128 random bits>) is an identifier, not a
// secret: it goes to status, logs and the gateway config in the clear.
import { randomBytes, hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'cgk_';
const BODY = /^cgk_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/;
export const CLIENT_SECRET_PREFIX = 'cgs_';
const SECRET_BODY = /^cgs_[A-Za-z0-9_-]{43}_[0-9a-f]{8}$/;
export const CLIENT_ID_PREFIX = 'cgc_';
const CLIENT_ID = /^cgc_[A-Za-z0-9_-]{22}$/;

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
  return BODY.test(key) && checksumMatches(key);
}

function checksumMatches(text: string): boolean {
  const i = text.lastIndexOf('_');
  return checksum(text.slice(0, i)) === text.slice(i + 1);
}

/** A new client secret with 256 bits from the operating system's CSPRNG (hashed like a key: hashApiKey). */
export function generateClientSecret(): string {
  const body = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
  return `${body}_${checksum(body)}`;
}

/** Well-formed client secret and its checksum matches. */
export function isWellFormedClientSecret(secret: string): boolean {
  return SECRET_BODY.test(secret) && checksumMatches(secret);
}

/** A new client ID: 128 random bits, not secret (it names the application, the secret proves it). */
export function generateClientId(): string {
  return CLIENT_ID_PREFIX + randomBytes(16).toString('base64url');
}

export function isWellFormedClientId(id: string): boolean {
  return CLIENT_ID.test(id);
}

/** Lower-case hex SHA-256: the only form of a key or client secret that leaves the consumer's Secret. */
export function hashApiKey(key: string): string {
  // One-shot (no Hash object per call): the same digest, on every check's path.
  return hash('sha256', key, 'hex');
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * Whether `text` is a credential hash as hashApiKey writes it (64 lower-case hex digits). Hashes are read back from
 * Secret annotations an organization's admins can edit, and the gateway's credential shards are keyed by them.
 */
export function isCredentialHash(text: string): boolean {
  return HASH.test(text);
}

/** A short non-secret identifier of a key, from its hash, for status and logs. */
export function keyIdOf(hashHex: string): string {
  return hashHex.slice(0, 12);
}
