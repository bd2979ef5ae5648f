// ip-allowlist and ip-blocklist: CIDR matching for IPv4 and IPv6 (ipaddr.js
// parses; IPv4 ranges are pre-computed as 32-bit network/mask pairs so a
// match is two integer operations per range).
//
// The client address is the socket's peer address; only when the policy
// names a clientIpHeader (a trusted proxy in front sets it) is the first
// entry of that header used instead. IPv4-mapped IPv6 addresses
// (::ffff:10.1.2.3, as a dual-stack socket reports IPv4 peers) are matched
// as the IPv4 address they carry. An address that cannot be parsed is
// refused by both list types (fail closed).
import ipaddr from 'ipaddr.js';
import type { IpListPolicyConfig } from '../../api/policies.ts';
import type { Refusal } from '../problem.ts';
import { headerValue, type PolicyContext, type PolicyHandler } from './types.ts';
import type { IncomingHttpHeaders } from 'node:http';

type IPv6 = ipaddr.IPv6;
type Addr = ipaddr.IPv4 | ipaddr.IPv6;

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

/** Parses "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443", "::ffff:1.2.3.4"; undefined if not an address. */
export function parseAddress(text: string | undefined): Addr | undefined {
  if (!text) return undefined;
  let s = text.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    s = s.slice(1, end);
  } else if (s.indexOf(':') > 0 && s.indexOf(':') === s.lastIndexOf(':') && s.includes('.')) {
    s = s.slice(0, s.indexOf(':')); // IPv4 with a port
  }
  try {
    return ipaddr.process(s);
  } catch {
    return undefined;
  }
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

/** The client address text: first entry of `header` when configured (and present), else the socket address. */
export function clientAddressText(headers: IncomingHttpHeaders, remoteAddress: string, header: string | undefined): string {
  if (!header) return remoteAddress;
  const v = headerValue(headers, header);
  if (v === undefined) return remoteAddress;
  const comma = v.indexOf(',');
  return (comma < 0 ? v : v.slice(0, comma)).trim();
}

/** Normalised client address for counters (IPv4-mapped shown as IPv4); the raw text when unparseable. */
export function clientAddressKey(headers: IncomingHttpHeaders, remoteAddress: string, header: string | undefined): string {
  const text = clientAddressText(headers, remoteAddress, header);
  return parseAddress(text)?.toString() ?? text;
}

export type IpDecision = 'allow' | 'deny' | 'unparseable';

/** Pure decision: allowlist admits members, blocklist refuses them. */
export function decideIp(kind: 'ip-allowlist' | 'ip-blocklist', set: CidrSet, addressText: string): IpDecision {
  const addr = parseAddress(addressText);
  if (!addr) return 'unparseable';
  const member = matches(set, addr);
  return (kind === 'ip-allowlist') === member ? 'allow' : 'deny';
}

function forbidden(policy: string, detail: string): Refusal {
  return { status: 403, slug: 'ip-not-allowed', title: 'Forbidden', detail, policy };
}

export function compileIpList(kind: 'ip-allowlist' | 'ip-blocklist', name: string, cfg: IpListPolicyConfig): PolicyHandler {
  const set = parseCidrs(cfg.cidrs);
  const header = cfg.clientIpHeader?.toLowerCase();
  return {
    type: kind,
    name,
    preflight: true,
    onRequest(ctx: PolicyContext) {
      const d = decideIp(kind, set, clientAddressText(ctx.headers, ctx.remoteAddress, header));
      if (d === 'allow') return undefined;
      if (d === 'unparseable') return forbidden(kind, 'The client address could not be determined.');
      return forbidden(kind, 'Requests from this address are not allowed.');
    },
  };
}
