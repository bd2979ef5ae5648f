// Platform-level settings: written by whoever installs crossgate (chart values,
// environment of the operator, webhook and gateway), never by an organization.
// One parser for the three processes, so they agree on what is allowed.
//
//   CROSSGATE_LOOPBACK_UPSTREAMS  exact loopback host:port pairs an upstream (or a
//                                 jwksUrl, an Alert's notify.url) may name, for setups
//                                 whose upstreams run on 127.0.0.1 (the demo, the e2e
//                                 suite). Never a range: each pair is one port.
//   CROSSGATE_GATEWAY_HOSTNAMES   the gateway's own host names (its Service, its public
//                                 name): reserved, no Organization may claim them.
//   CROSSGATE_TRUSTED_PROXIES     CIDRs of proxies in front of the gateway whose
//                                 forwarding headers are believed (gateway only).
//   CROSSGATE_CLUSTER_CIDRS       the cluster's own pod and service networks (CIDR
//                                 blocks): no upstream, jwksUrl or notify.url may
//                                 name an address inside, and no name other than a
//                                 cluster Service name may resolve into one.
//   CROSSGATE_GATEWAY_PARENTS     the shared Gateway API Gateways ("namespace/name")
//                                 an ApiInstance's spec.parentRefs may name: a tenant
//                                 never attaches routes to a Gateway not listed.
import ipaddr from 'ipaddr.js';

export const ENV_LOOPBACK_UPSTREAMS = 'CROSSGATE_LOOPBACK_UPSTREAMS';
export const ENV_GATEWAY_HOSTNAMES = 'CROSSGATE_GATEWAY_HOSTNAMES';
export const ENV_TRUSTED_PROXIES = 'CROSSGATE_TRUSTED_PROXIES';
export const ENV_CLUSTER_CIDRS = 'CROSSGATE_CLUSTER_CIDRS';
export const ENV_GATEWAY_PARENTS = 'CROSSGATE_GATEWAY_PARENTS';

/** One block of the cluster's own networks, parsed once. */
export interface ClusterCidr {
  /** Canonical text, as messages show it: "10.96.0.0/12", "fd00:10:96::/112". */
  text: string;
  /** The network address; an IPv4-mapped IPv6 block is kept as its IPv4 block. */
  network: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

export interface PlatformSettings {
  /** Normalised "host:port" ("127.0.0.1:8081", "[::1]:9000", "localhost:8081") of allowed loopback endpoints. */
  loopbackUpstreams: ReadonlySet<string>;
  /** Lower-case host names no Organization may claim. */
  gatewayHostnames: readonly string[];
  /** CIDRs (as written) of trusted proxies. */
  trustedProxies: readonly string[];
  /** The cluster's pod and service networks: addresses tenants' outbound URLs may not reach. */
  clusterCidrs: readonly ClusterCidr[];
  /** "namespace/name" of the Gateway API Gateways routes may attach to (spec.parentRefs); empty: none. */
  gatewayParents?: readonly string[];
}

export const NO_PLATFORM_SETTINGS: PlatformSettings = { loopbackUpstreams: new Set(), gatewayHostnames: [], trustedProxies: [], clusterCidrs: [], gatewayParents: [] };

const list = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** "host:port" as compared everywhere: host lower-case, IPv6 in brackets, port without leading zeros. */
export function hostPort(host: string, port: number | string): string {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return `${h.includes(':') ? `[${h}]` : h}:${Number(port)}`;
}

function parseLoopbackPair(entry: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(\d{1,5})$/.exec(entry);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${ENV_LOOPBACK_UPSTREAMS}: ${JSON.stringify(entry)} is not host:port (one exact port, e.g. 127.0.0.1:8081 or [::1]:8081)`);
  }
  const host = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = host === 'localhost' || (ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback');
  if (!loopback) throw new Error(`${ENV_LOOPBACK_UPSTREAMS}: ${JSON.stringify(entry)} is not a loopback address; other hosts are allowed per Organization (spec.upstreams.allowedHosts)`);
  return hostPort(host, port);
}

/** The most blocks CROSSGATE_CLUSTER_CIDRS may list (a cluster has a few: pods and services, per family). */
export const MAX_CLUSTER_CIDRS = 64;

const V4_CIDR = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(0|[1-9]\d?)$/;
const V6_CIDR = /^([0-9a-f:]{2,39}|[0-9a-f:]{1,29}:(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3})\/(0|[1-9]\d{0,2})$/;

/** Zeroes the bits of `bytes` past the first `bits`. */
function networkBytes(bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits - i * 8))) & 0xff));
}

/**
 * One CROSSGATE_CLUSTER_CIDRS entry, read strictly: a network address in
 * dotted-quad IPv4 (no leading zeros, no hex, octal or short forms) or IPv6
 * (no zone), "/" and a prefix length of at least 1 (a /0 would be every
 * address), without leading zeros, with no host bits set (a typo would otherwise silently cover
 * another range). Throws a message naming the setting and what to write.
 */
export function parseClusterCidr(entry: string): ClusterCidr {
  const shown = JSON.stringify(entry.length > 64 ? `${entry.slice(0, 64)}…` : entry);
  const refuse = (why: string) => new Error(`${ENV_CLUSTER_CIDRS}: ${shown} ${why}`);
  const text = entry.toLowerCase();
  let network: ipaddr.IPv4 | ipaddr.IPv6;
  let bits: number;
  const v4 = V4_CIDR.exec(text);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    bits = Number(v4[5]);
    if (octets.some((o) => o > 255) || bits > 32) throw refuse('is not an IPv4 CIDR block: four numbers 0-255 and a prefix length up to 32, e.g. 10.96.0.0/12');
    network = new ipaddr.IPv4(octets);
  } else {
    const v6 = V6_CIDR.exec(text);
    const address = v6 ? text.slice(0, text.lastIndexOf('/')) : '';
    bits = v6 ? Number(text.slice(text.lastIndexOf('/') + 1)) : NaN;
    if (!v6 || !ipaddr.IPv6.isValid(address) || bits > 128) {
      throw refuse('is not a CIDR block: write a network address and a prefix length, e.g. 10.96.0.0/12 or fd00:10:96::/112');
    }
    network = ipaddr.IPv6.parse(address);
    // ::ffff:a.b.c.d/(96+n) is an IPv4 block written in IPv6: kept as the IPv4 block, so IPv4 addresses match it.
    if ((network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      network = (network as ipaddr.IPv6).toIPv4Address();
      bits -= 96;
    }
  }
  if (bits === 0) throw refuse(`covers every ${network.kind() === 'ipv4' ? 'IPv4' : 'IPv6'} address: list the cluster's pod and service networks only`);
  const bytes = network.toByteArray();
  const masked = networkBytes(bytes, bits);
  if (masked.some((b, i) => b !== bytes[i])) {
    const fixed = ipaddr.fromByteArray(masked).toString();
    throw refuse(`has host bits set: the block's network address is ${fixed}/${bits}; write that (or the prefix length you meant)`);
  }
  return { text: `${network.toString()}/${bits}`, network, bits };
}

/** The blocks of CROSSGATE_CLUSTER_CIDRS, each once. */
export function parseClusterCidrs(entries: readonly string[]): ClusterCidr[] {
  if (entries.length > MAX_CLUSTER_CIDRS) throw new Error(`${ENV_CLUSTER_CIDRS}: ${entries.length} blocks, more than ${MAX_CLUSTER_CIDRS}: list the cluster's pod and service networks only`);
  const out = new Map<string, ClusterCidr>();
  for (const e of entries) {
    const c = parseClusterCidr(e);
    out.set(c.text, c);
  }
  return [...out.values()];
}

export function platformSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const trustedProxies = list(env[ENV_TRUSTED_PROXIES]);
  for (const c of trustedProxies) {
    try {
      if (c.includes('/')) ipaddr.parseCIDR(c);
      else ipaddr.parse(c);
    } catch {
      throw new Error(`${ENV_TRUSTED_PROXIES}: ${JSON.stringify(c)} is not an IP address or CIDR block`);
    }
  }
  const gatewayHostnames = list(env[ENV_GATEWAY_HOSTNAMES]).map((h) => h.toLowerCase().replace(/\.$/, ''));
  for (const h of gatewayHostnames) {
    if (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(h)) throw new Error(`${ENV_GATEWAY_HOSTNAMES}: ${JSON.stringify(h)} is not a host name`);
  }
  return {
    loopbackUpstreams: new Set(list(env[ENV_LOOPBACK_UPSTREAMS]).map(parseLoopbackPair)),
    gatewayHostnames,
    trustedProxies,
    clusterCidrs: parseClusterCidrs(list(env[ENV_CLUSTER_CIDRS])),
    gatewayParents: parseGatewayParents(list(env[ENV_GATEWAY_PARENTS])),
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** CROSSGATE_GATEWAY_PARENTS entries: "namespace/name" of a Gateway, each once. */
export function parseGatewayParents(entries: readonly string[]): string[] {
  for (const e of entries) {
    const [ns, name, ...rest] = e.split('/');
    if (rest.length || !ns || !name || ns.length > 63 || name.length > 253 || !DNS_LABEL.test(ns) || !DNS_SUBDOMAIN.test(name)) {
      throw new Error(`${ENV_GATEWAY_PARENTS}: ${JSON.stringify(e.slice(0, 80))} is not namespace/name of a Gateway, e.g. gateway-system/shared`);
    }
  }
  return [...new Set(entries)];
}
