// ip-allowlist and ip-blocklist: CIDR matching for IPv4 and IPv6 (ipaddr.js
// parses; IPv4 ranges are pre-computed as 32-bit network/mask pairs so a
// match is two integer operations per range).
//
// The client address is the socket's peer address; only when the policy
// names a clientIpHeader AND the peer is one of the gateway's trusted proxies
// is that header read (right to left, see gateway/client-address.ts).
// IPv4-mapped IPv6 addresses (::ffff:10.1.2.3, as a dual-stack socket
// reports IPv4 peers) are matched
// as the IPv4 address they carry. An address that cannot be parsed is
// refused by both list types (fail closed).
import type { IncomingHttpHeaders } from 'node:http';
import type { IpListPolicyConfig } from '../../api/policies.ts';
import type { Refusal } from '../problem.ts';
import { canonicalAddress, clientAddress, matches, parseAddress, parseCidrs, type Addr, type CidrSet, type TrustedProxies } from '../client-address.ts';
import type { PolicyContext, PolicyHandler } from './types.ts';

export { parseAddress, parseCidrs, matches, type CidrSet } from '../client-address.ts';

/** The client's address (gateway/client-address.ts): the header is read only when the peer is a trusted proxy. */
export function clientAddressOf(headers: IncomingHttpHeaders, remoteAddress: string, header: string | undefined, trusted: TrustedProxies): Addr | undefined {
  return clientAddress(remoteAddress, header ? headers[header] : undefined, trusted);
}

/** Canonical client address for counters; "unknown" (one shared counter, fail closed) when the peer is not an address. */
export function clientAddressKey(headers: IncomingHttpHeaders, remoteAddress: string, header: string | undefined, trusted: TrustedProxies): string {
  const a = clientAddressOf(headers, remoteAddress, header, trusted);
  return a ? canonicalAddress(a) : 'unknown';
}

export type IpDecision = 'allow' | 'deny' | 'unparseable';

/** Pure decision: allowlist admits members, blocklist refuses them. */
export function decideIp(kind: 'ip-allowlist' | 'ip-blocklist', set: CidrSet, address: Addr | string | undefined): IpDecision {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (!addr) return 'unparseable';
  const member = matches(set, addr);
  return (kind === 'ip-allowlist') === member ? 'allow' : 'deny';
}

function forbidden(policy: string, detail: string): Refusal {
  return { status: 403, slug: 'ip-not-allowed', title: 'Forbidden', detail, policy };
}

export function compileIpList(kind: 'ip-allowlist' | 'ip-blocklist', name: string, cfg: IpListPolicyConfig, trusted: TrustedProxies): PolicyHandler {
  const set = parseCidrs(cfg.cidrs);
  const header = cfg.clientIpHeader?.toLowerCase();
  return {
    type: kind,
    name,
    preflight: true,
    onRequest(ctx: PolicyContext) {
      const d = decideIp(kind, set, clientAddressOf(ctx.headers, ctx.remoteAddress, header, trusted));
      if (d === 'allow') return undefined;
      if (d === 'unparseable') return forbidden(kind, 'The client address could not be determined.');
      return forbidden(kind, 'Requests from this address are not allowed.');
    },
  };
}
