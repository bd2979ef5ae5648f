// Where an ApiInstance's route sends its requests, and whether an organization
// may send anything there at all. One judgement of outbound URLs for the webhook
// (admission), the operator (route verdict, Alert notifications) and the gateway
// (which repeats the address part on the resolved address at connect time):
//
//   - http or https only, no credentials in the URL;
//   - never loopback, link-local (cloud metadata), unspecified, multicast or
//     broadcast addresses, in any spelling (WHATWG URL normalises 2130706433,
//     0x7f.1, 127.1 to 127.0.0.1; IPv4-mapped and -compatible IPv6 are unwrapped),
//     unless the exact loopback host:port is allowed by the platform;
//   - never an address of the cluster's own pod or service networks (platform
//     setting CROSSGATE_CLUSTER_CIDRS): in-cluster targets are reached by Service
//     name only, so the namespace, and with it the organization, is known;
//   - <svc>.<ns>.svc[.cluster.local]: only namespaces of the same organization;
//   - any other host: only what the Organization allows (spec.upstreams.allowedHosts),
//     and never the gateway's own host names.
import { hostCovered } from './route-claims.ts';
import ipaddr from 'ipaddr.js';
import type { ApiInstance } from '../api/v1alpha1/index.ts';
import { hostPort, type ClusterCidr, type PlatformSettings } from '../api/platform.ts';
import { orgName, ownerOfNamespace } from './ownership.ts';
import type { Snapshot } from './snapshot.ts';
import type { RouteProblem, RouteVerdictInput } from './route-verdict.ts';

/** The upstream base URL of an instance: its url, or its backendRef's Service by cluster DNS name. */
export function upstreamUrlOf(instance: Pick<ApiInstance, 'metadata' | 'spec'>): string {
  const up = instance.spec.upstream;
  if (up.url !== undefined) return up.url;
  const ref = up.backendRef;
  if (!ref) return '';
  return `${ref.scheme ?? 'http'}://${ref.name}.${instance.metadata.namespace}.svc.cluster.local:${ref.port}`;
}

/** Address ranges no upstream may reach (beyond an exact allowed loopback pair), as words a message uses. */
export type BlockedRange = 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'broadcast' | 'cloud metadata';

// "<svc>.<ns>.svc" or "<svc>.<ns>.svc.cluster.local": the namespace is the second label.
const SERVICE_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;

// AWS's IPv6 instance metadata endpoint is a unique-local address, not link-local: named explicitly.
const METADATA_V6 = ['fd00:ec2::254'];

// ipaddr.js range names (IPv4 and IPv6 share them) of the blocked ranges.
const BLOCKED_RANGES: Readonly<Record<string, BlockedRange>> = { loopback: 'loopback', linkLocal: 'link-local', unspecified: 'unspecified', multicast: 'multicast', broadcast: 'broadcast' };

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, SIIT, NAT64), if any. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = a.parts;
  const range = a.range();
  const compatible = p.slice(0, 6).every((x) => x === 0) && (p[6]! !== 0 || p[7]! > 1);
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052' || compatible) {
    return new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  }
  return undefined;
}

/** An IP address (v4 or v6, brackets and zone ignored); undefined when not an IP. */
function parseIp(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return undefined;
  }
}

/** An IP address as the rules see it: an IPv6 address carrying an IPv4 one is that IPv4 address. */
function ipOf(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const a = parseIp(address);
  return (a?.kind() === 'ipv6' && embeddedV4(a as ipaddr.IPv6)) || a;
}

/** Which blocked range an IP address (v4 or v6, without brackets) falls in; undefined for an address that is not blocked or not an IP. */
export function blockedRangeOf(address: string): BlockedRange | undefined {
  const a = ipOf(address);
  if (!a) return undefined;
  if (a.kind() === 'ipv6' && METADATA_V6.some((m) => ipaddr.parse(m).toNormalizedString() === (a as ipaddr.IPv6).toNormalizedString())) return 'cloud metadata';
  return BLOCKED_RANGES[a.range()];
}

/** The block of the cluster's own networks (CROSSGATE_CLUSTER_CIDRS) an IP address falls in, in any spelling; undefined for none or a name. */
export function clusterCidrOf(address: string, cidrs: readonly ClusterCidr[]): ClusterCidr | undefined {
  if (cidrs.length === 0) return undefined;
  // Both forms of an IPv6 address carrying an IPv4 one: it is in an IPv4 block and in an IPv6 block (NAT64) alike.
  const forms = [parseIp(address), ipOf(address)].filter((a) => a !== undefined);
  return cidrs.find((c) => forms.some((a) => a.kind() === c.network.kind() && a.match(c.network, c.bits)));
}

/** The Service and namespace of a cluster Service name ("<svc>.<ns>.svc" or "<svc>.<ns>.svc.cluster.local"), else undefined. */
export function serviceHostOf(host: string): { service: string; namespace: string } | undefined {
  const m = SERVICE_HOST.exec(host.toLowerCase().replace(/\.$/, ''));
  return m ? { service: m[1]!, namespace: m[3]! } : undefined;
}

/** True for "localhost" and "*.localhost" (RFC 6761: always loopback, whatever DNS says). */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** Exact host or "*." wildcard (any subdomain, never the apex), both lower-case. */
export function hostMatches(pattern: string, host: string): boolean {
  return hostCovered(host, pattern); // the same coverage as route claims
}

export function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** Whether a resolved address and port may be connected to: the address rules of this file, as the gateway applies them at connect time. */
export function connectProblem(address: string, port: number, settings: Pick<PlatformSettings, 'loopbackUpstreams'>): BlockedRange | undefined {
  const range = blockedRangeOf(address);
  if (!range) return undefined;
  if (range === 'loopback' && settings.loopbackUpstreams.has(hostPort(address, port))) return undefined;
  return range;
}

/**
 * The cluster network block a connection to `address`, reached through the name
 * `name`, would enter although it may not: any name but a cluster Service name
 * (an allowed external host whose DNS now points inside, a literal address).
 * A Service name resolves into the service network by design: the URL rules
 * allow only the organization's own namespaces there (backendRef, <svc>.<ns>.svc),
 * and what is behind a ClusterIP is the cluster's business (docs/security-model.md).
 */
export function clusterConnectProblem(name: string, address: string, settings: Pick<PlatformSettings, 'clusterCidrs'>): ClusterCidr | undefined {
  const cidr = clusterCidrOf(address, settings.clusterCidrs);
  return cidr && !serviceHostOf(name) ? cidr : undefined;
}

export interface OutboundUrlInput {
  snapshot: Snapshot;
  /** The namespace of the object that names the URL: it gives the organization. */
  namespace: string;
  url: string;
  /** How the user wrote the field: spec.upstream.url, spec.config.jwksUrl, spec.notify.url. */
  field: string;
  /** jwksUrl: https unless the exact host:port is an allowed loopback pair. */
  requireHttps?: boolean;
}

const ALLOW_HINT = 'an organization admin cannot change this list: ask a platform admin';

/** What to use instead, in the words of the field. */
function insteadHint(field: string): string {
  return field === 'spec.upstream.url' ? 'a Service of this namespace (spec.upstream.backendRef)' : "a Service of the organization's namespaces (name.namespace.svc)";
}

/**
 * Why `url` may not be called on behalf of the organization owning `namespace`, or
 * undefined when it may. The message names the field, the host (never the whole URL:
 * it may carry credentials) and what to do.
 */
export function outboundUrlProblem({ snapshot, namespace, url, field, requireHttps }: OutboundUrlInput): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${field} is not a valid URL: write an absolute http:// or https:// URL.`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${field} must be an http:// or https:// URL, not ${u.protocol.slice(0, -1).slice(0, 16)}.`;
  if (u.username || u.password) {
    return `${field} carries credentials (user:password@): URLs are stored and shown in clear. Remove them and send credentials in a header (a header-injection Policy) instead.`;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const port = u.port ? Number(u.port) : defaultPort(u.protocol);
  const pair = hostPort(host, port);
  const loopbackAllowed = snapshot.platform.loopbackUpstreams.has(pair);
  const range = isLocalhostName(host) ? 'loopback' : blockedRangeOf(host);
  if (range) {
    if (range === 'loopback' && loopbackAllowed) return undefined;
    const why = range === 'loopback' ? 'the gateway itself (its admin port, its node, etcd on a local control plane)' : range === 'link-local' || range === 'cloud metadata' ? 'the node and its cloud metadata service' : 'no single server';
    return (
      `${field} names host "${host}", a ${range} address, which reaches ${why}: upstreams may never be ${range} addresses. ` +
      (range === 'loopback'
        ? `Only a platform admin can allow one exact loopback host:port (CROSSGATE_LOOPBACK_UPSTREAMS, e.g. "${pair}"), for local setups; otherwise use ${insteadHint(field)} or an external host the Organization allows.`
        : `Use ${insteadHint(field)} or an external host the Organization allows (spec.upstreams.allowedHosts).`)
    );
  }
  const cluster = clusterCidrOf(host, snapshot.platform.clusterCidrs);
  if (cluster) {
    return (
      `${field} names host "${host}", an address inside the cluster's own network ${cluster.text} (pods and Services, CROSSGATE_CLUSTER_CIDRS): ` +
      `an address there may be any organization's workload, so in-cluster targets are named by Service only. Use ${insteadHint(field)}.`
    );
  }
  if (requireHttps && u.protocol !== 'https:' && !loopbackAllowed) {
    return `${field} must use https: keys fetched over plain http can be replaced on the way. Write https://${u.host}${u.pathname}.`;
  }
  const owner = ownerOfNamespace(snapshot, namespace);
  if (!owner) return `${field}: namespace "${namespace}" belongs to no Organization, so no upstream is allowed from it.`;
  const org = owner.organization;
  const svc = serviceHostOf(host);
  if (svc) {
    const ns = svc.namespace;
    const nsOwner = ownerOfNamespace(snapshot, ns);
    if (nsOwner && orgName(nsOwner.organization) === orgName(org)) return undefined;
    return (
      `${field} names Service "${svc.service}" in namespace "${ns}", which is not a namespace of Organization "${orgName(org)}": ` +
      `in-cluster targets may only be Services of the organization's own namespaces. Use ${insteadHint(field)}.`
    );
  }
  const reserved = snapshot.platform.gatewayHostnames.find((g) => hostMatches(g, host));
  if (reserved) return `${field} names host "${host}", a host name of the gateway itself (reserved as "${reserved}"): an upstream can never be the gateway.`;
  const allowed = org.spec?.upstreams?.allowedHosts ?? [];
  if (allowed.some((p) => hostMatches(p, host))) return undefined;
  return (
    `${field} names host "${host}", which Organization "${orgName(org)}" does not allow: external upstreams must be listed in the Organization's spec.upstreams.allowedHosts ` +
    `(${allowed.length ? `now ${allowed.map((h) => `"${h}"`).join(', ')}` : 'now empty'}); ${ALLOW_HINT}, or use ${insteadHint(field)}.`
  );
}

/**
 * Route check (model/route-verdict.ts): a route whose upstream, or the jwksUrl of a
 * jwt-validation policy applied to it, is not allowed is held closed (503): the
 * webhook refuses both at admission, but the operator does not trust that it ran.
 */
export function upstreamAllowed({ snapshot, instance, policies }: RouteVerdictInput): RouteProblem | undefined {
  const namespace = instance.metadata?.namespace ?? '';
  // A backendRef is always a Service of the instance's own namespace: nothing to judge.
  const problems: string[] = [];
  if (instance.spec?.upstream?.url !== undefined) {
    const p = outboundUrlProblem({ snapshot, namespace, url: instance.spec.upstream.url, field: 'spec.upstream.url' });
    if (p) problems.push(p);
  }
  for (const policy of policies) {
    const jwksUrl = policy.spec?.type === 'jwt-validation' ? (policy.spec.config as { jwksUrl?: unknown } | undefined)?.jwksUrl : undefined;
    if (typeof jwksUrl !== 'string') continue;
    const p = outboundUrlProblem({ snapshot, namespace: policy.metadata?.namespace ?? namespace, url: jwksUrl, field: 'spec.config.jwksUrl', requireHttps: true });
    if (p) problems.push(`Policy "${policy.metadata?.name ?? ''}": ${p}`);
  }
  if (problems.length === 0) return undefined;
  return { action: 'withhold', reason: 'UpstreamNotAllowed', message: `the gateway answers 503 on this route: ${problems.join(' ')}` };
}
