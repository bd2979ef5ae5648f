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
import ipaddr from 'ipaddr.js';

export const ENV_LOOPBACK_UPSTREAMS = 'CROSSGATE_LOOPBACK_UPSTREAMS';
export const ENV_GATEWAY_HOSTNAMES = 'CROSSGATE_GATEWAY_HOSTNAMES';
export const ENV_TRUSTED_PROXIES = 'CROSSGATE_TRUSTED_PROXIES';

export interface PlatformSettings {
  /** Normalised "host:port" ("127.0.0.1:8081", "[::1]:9000", "localhost:8081") of allowed loopback endpoints. */
  loopbackUpstreams: ReadonlySet<string>;
  /** Lower-case host names no Organization may claim. */
  gatewayHostnames: readonly string[];
  /** CIDRs (as written) of trusted proxies. */
  trustedProxies: readonly string[];
}

export const NO_PLATFORM_SETTINGS: PlatformSettings = { loopbackUpstreams: new Set(), gatewayHostnames: [], trustedProxies: [] };

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
  return { loopbackUpstreams: new Set(list(env[ENV_LOOPBACK_UPSTREAMS]).map(parseLoopbackPair)), gatewayHostnames, trustedProxies };
}
