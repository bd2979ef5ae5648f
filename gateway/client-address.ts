// Who the client is: the socket peer, or, only when the peer is a trusted
// proxy (platform setting CROSSGATE_TRUSTED_PROXIES, empty by default), the
// address a forwarding header names. A forwarding header is a list each hop
// appends to, so only its right end was written by proxies we trust: it is
// read right to left, trusted hops are skipped, and the first address that is
// not a trusted proxy is the client. Anything left of it was written by the
// client and is never believed. An entry that is not a plain address stops the
// walk and the peer is used (fail closed: junk never becomes an identity).
//
// Addresses are parsed strictly (dotted-quad IPv4 without leading zeros, IPv6
// without a zone, optional brackets and port) and returned in one canonical
// form (IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6), so per-address counters key
// on an address and not on the text a client chose.
import ipaddr from 'ipaddr.js';

type IPv6 = ipaddr.IPv6;
export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface CidrSet {
  /** [network, mask] as unsigned 32-bit integers. */
  v4: Array<readonly [number, number]>;
  v6: Array<readonly [IPv6, number]>;
}

function v4ToInt(bytes: number[]): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** CIDR blocks or single addresses; IPv4-mapped IPv6 ranges become IPv4 ranges. Throws on an invalid entry. */
export function parseCidrs(list: readonly string[]): CidrSet {
  const set: CidrSet = { v4: [], v6: [] };
  for (const raw of list) {
    const text = raw.trim();
    let addr: Addr;
    let bits: number;
    if (text.includes('/')) [addr, bits] = ipaddr.parseCIDR(text);
    else {
      addr = ipaddr.parse(text);
      bits = addr.kind() === 'ipv4' ? 32 : 128;
    }
    // ::ffff:a.b.c.d/(96+n) is an IPv4 range written in IPv6.
    if (addr.kind() === 'ipv6' && (addr as IPv6).isIPv4MappedAddress() && bits >= 96) {
      addr = (addr as IPv6).toIPv4Address();
      bits -= 96;
    }
    if (addr.kind() === 'ipv4') {
      const mask = maskOf(bits);
      set.v4.push([(v4ToInt(addr.toByteArray()) & mask) >>> 0, mask]);
    } else {
      set.v6.push([addr as IPv6, bits]);
    }
  }
  return set;
}

export function matches(set: CidrSet, addr: Addr): boolean {
  if (addr.kind() === 'ipv4') {
    const n = v4ToInt(addr.toByteArray());
    for (const [net, mask] of set.v4) if (((n & mask) >>> 0) === net) return true;
    return false;
  }
  const a6 = addr as IPv6;
  for (const [net, bits] of set.v6) if (a6.match(net, bits)) return true;
  return false;
}

const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const MAPPED_PREFIX = /^::ffff:/i;

/** A dotted-quad IPv4 address (no leading zeros, each part 0-255), read directly: what socket peers are, parsed per request. */
function dottedQuad(s: string): ipaddr.IPv4 | undefined {
  const m = DOTTED_QUAD.exec(s);
  if (!m) return undefined;
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  return octets.every((o) => o <= 255) ? new ipaddr.IPv4(octets) : undefined;
}

/**
 * Parses "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443", "::ffff:1.2.3.4"
 * (returned as IPv4); undefined for anything else (hex/octal/short IPv4 forms, zones, names).
 */
export function parseAddress(text: string | undefined): Addr | undefined {
  if (!text) return undefined;
  let s = text.trim();
  if (s.length === 0 || s.length > 64) return undefined;
  if (s.charCodeAt(0) === 91 /* [ */) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    const rest = s.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    s = s.slice(1, end);
    if (!s.includes(':')) return undefined; // brackets hold IPv6 only
  } else {
    const colon = s.indexOf(':');
    if (colon > 0 && colon === s.lastIndexOf(':')) {
      // IPv4 with a port (an IPv6 address has at least two colons)
      if (!/^\d{1,5}$/.test(s.slice(colon + 1))) return undefined;
      s = s.slice(0, colon);
    }
  }
  if (s.includes(':')) {
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d: the common case, read without the general parser.
    if (MAPPED_PREFIX.test(s) && s.includes('.')) return dottedQuad(s.slice(7));
    if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
    const a = ipaddr.IPv6.parse(s);
    return a.isIPv4MappedAddress() ? a.toIPv4Address() : a;
  }
  return dottedQuad(s);
}

/** The one text form of an address: what counters key on. */
export function canonicalAddress(addr: Addr): string {
  return addr.toString();
}

/**
 * What connections are counted by per client (server.ts ConnectionsPerClient): an IPv4 address, or the /64 of an IPv6
 * one (a single host usually holds a whole /64); undefined when the peer is not an address.
 */
export function connectionClientKey(remoteAddress: string): string | undefined {
  const a = parseAddress(remoteAddress);
  if (a === undefined) return undefined;
  if (a.kind() === 'ipv4') return a.toString();
  const p = (a as IPv6).parts;
  return `${p[0]!.toString(16)}:${p[1]!.toString(16)}:${p[2]!.toString(16)}:${p[3]!.toString(16)}::/64`;
}

/** The gateway's trusted proxies (CIDRs from the platform settings). */
export class TrustedProxies {
  readonly #set: CidrSet;
  readonly empty: boolean;

  constructor(cidrs: readonly string[] = []) {
    this.#set = parseCidrs(cidrs);
    this.empty = cidrs.length === 0;
  }

  has(addr: Addr): boolean {
    return !this.empty && matches(this.#set, addr);
  }

  /** Whether the socket peer is a trusted proxy (false at once when none is configured: the default costs nothing). */
  peerTrusted(remoteAddress: string): boolean {
    if (this.empty) return false;
    const a = parseAddress(remoteAddress);
    return a !== undefined && this.has(a);
  }
}

export const NO_TRUSTED_PROXIES = new TrustedProxies();

/**
 * The client's address: the peer's, unless the peer is a trusted proxy and
 * `forwarded` (the forwarding header's value, repeated headers in order) names
 * one further out; walked right to left, trusted hops skipped, stopping at the
 * first untrusted address. Junk in the walk: the peer. Undefined only when the
 * peer itself is not an address.
 */
export function clientAddress(remoteAddress: string, forwarded: string | readonly string[] | undefined, trusted: TrustedProxies): Addr | undefined {
  const peer = parseAddress(remoteAddress);
  if (!peer || forwarded === undefined || !trusted.has(peer)) return peer;
  const entries = (typeof forwarded === 'string' ? forwarded : forwarded.join(',')).split(',');
  let client: Addr = peer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const text = entries[i]!.trim();
    const a = parseAddress(text);
    if (!a) return peer;
    client = a;
    if (!trusted.has(a)) return a;
  }
  // Every hop was a trusted proxy: the left-most is as far as anyone we trust saw.
  return client;
}
