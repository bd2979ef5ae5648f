// model/upstream.ts: which outbound URLs an organization may name (upstreams,
// jwksUrl, Alert notify.url), every refusal with the message a user reads, and
// property tests over addresses: no address in a blocked range, in any spelling,
// is ever allowed without an exact loopback pair.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { snapshotFrom, type Snapshot } from '../../../model/snapshot.ts';
import { platformSettingsFromEnv } from '../../../api/platform.ts';
import { blockedRangeOf, clusterConnectProblem, connectProblem, hostMatches, outboundUrlProblem, upstreamAllowed } from '../../../model/upstream.ts';
import { routeVerdict } from '../../../model/route-verdict.ts';
import type { ApiInstance, Policy } from '../../../api/v1alpha1/index.ts';
import { apiInstance, maxAirlines, muleUnited, namespacesOf } from '../webhook/fixtures.ts';

const NS = 'max-airlines-prod';

function snap(env: NodeJS.ProcessEnv = {}): Snapshot {
  return snapshotFrom({
    organizations: [maxAirlines, muleUnited],
    namespaces: [...namespacesOf(maxAirlines), ...namespacesOf(muleUnited)],
    platform: platformSettingsFromEnv(env),
  });
}

const judge = (url: string, opts: { snapshot?: Snapshot; field?: string; requireHttps?: boolean; namespace?: string } = {}) =>
  outboundUrlProblem({ snapshot: opts.snapshot ?? snap(), namespace: opts.namespace ?? NS, url, field: opts.field ?? 'spec.upstream.url', requireHttps: opts.requireHttps });

describe('outbound URLs of an organization', () => {
  test('allowed: own Services (short and cluster.local), allowed hosts (exact and wildcard), an exact loopback pair', () => {
    assert.equal(judge('http://flights.max-airlines-prod.svc:8080/v1'), undefined);
    assert.equal(judge('https://flights.max-airlines-sandbox.svc.cluster.local'), undefined);
    assert.equal(judge('https://id.example.com/jwks'), undefined);
    assert.equal(judge('https://api.max-airlines.example'), undefined);
    assert.equal(judge('https://a.b.max-airlines.example:8443'), undefined);
    const s = snap({ CROSSGATE_LOOPBACK_UPSTREAMS: '127.0.0.1:8081,localhost:9000,[::1]:7000' });
    assert.equal(judge('http://127.0.0.1:8081/x', { snapshot: s }), undefined);
    assert.equal(judge('http://2130706433:8081', { snapshot: s }), undefined, 'numeric spellings normalise to the pair');
    assert.equal(judge('http://localhost:9000', { snapshot: s }), undefined);
    assert.equal(judge('http://[::1]:7000', { snapshot: s }), undefined);
  });

  test('loopback in every spelling is refused, naming the field, the host and what to do', () => {
    for (const url of ['http://127.0.0.1:9090', 'http://2130706433:2379', 'http://0x7f.1:80', 'http://127.1', 'http://[::1]:80', 'http://[::ffff:127.0.0.1]:9090', 'http://[::ffff:7f00:1]', 'http://[::127.0.0.1]']) {
      const m = judge(url);
      assert.ok(m, url);
      assert.match(m, /^spec\.upstream\.url names host "[^"]+", a loopback address/, url);
      assert.match(m, /CROSSGATE_LOOPBACK_UPSTREAMS/);
      assert.match(m, /spec\.upstream\.backendRef/);
    }
    assert.equal(
      judge('http://localhost:9090/metrics'),
      'spec.upstream.url names host "localhost", a loopback address, which reaches the gateway itself (its admin port, its node, etcd on a local control plane): upstreams may never be loopback addresses. ' +
        'Only a platform admin can allow one exact loopback host:port (CROSSGATE_LOOPBACK_UPSTREAMS, e.g. "localhost:9090"), for local setups; otherwise use a Service of this namespace (spec.upstream.backendRef) or an external host the Organization allows.',
    );
    assert.match(judge('http://admin.localhost')!, /"admin\.localhost", a loopback address/);
  });

  test('an allowed pair allows exactly that host:port, never another port or the default port', () => {
    const s = snap({ CROSSGATE_LOOPBACK_UPSTREAMS: '127.0.0.1:8081' });
    assert.match(judge('http://127.0.0.1:8082', { snapshot: s })!, /loopback/);
    assert.match(judge('http://127.0.0.1', { snapshot: s })!, /loopback/);
    assert.match(judge('http://127.0.0.2:8081', { snapshot: s })!, /loopback/);
    assert.match(judge('http://localhost:8081', { snapshot: s })!, /loopback/, 'the pair names 127.0.0.1, not localhost');
  });

  test('link-local, cloud metadata, unspecified, multicast and broadcast are refused whatever the pairs say', () => {
    const s = snap({ CROSSGATE_LOOPBACK_UPSTREAMS: '127.0.0.1:80' });
    const cases: Array<[string, RegExp]> = [
      ['http://169.254.169.254/latest/meta-data', /"169\.254\.169\.254", a link-local address, which reaches the node and its cloud metadata service/],
      ['http://[fe80::1]:80', /"fe80::1", a link-local address/],
      ['http://[fd00:ec2::254]', /a cloud metadata address/],
      ['http://[::ffff:169.254.169.254]', /link-local/],
      ['http://0.0.0.0:8080', /"0\.0\.0\.0", a unspecified address/],
      ['http://0:80', /unspecified/],
      ['http://[::]:80', /unspecified/],
      ['http://224.0.0.1', /multicast/],
      ['http://[ff02::1]', /multicast/],
      ['http://255.255.255.255', /broadcast/],
    ];
    for (const [url, why] of cases) {
      const m = judge(url, { snapshot: s });
      assert.ok(m, url);
      assert.match(m, why, url);
      assert.match(m, /spec\.upstreams\.allowedHosts/);
    }
  });

  test('another organization\'s Service, or a namespace no organization owns, is refused naming the namespace', () => {
    assert.equal(
      judge('http://rail.mule-united-prod.svc.cluster.local:8080'),
      'spec.upstream.url names Service "rail" in namespace "mule-united-prod", which is not a namespace of Organization "max-airlines": in-cluster targets may only be Services of the organization\'s own namespaces. Use a Service of this namespace (spec.upstream.backendRef).',
    );
    assert.match(judge('http://gw.crossgate-system.svc:9090')!, /namespace "crossgate-system", which is not a namespace of Organization "max-airlines"/);
    assert.match(judge('http://x.y.svc', { namespace: 'nobody' })!, /^spec\.upstream\.url: namespace "nobody" belongs to no Organization/);
  });

  test('an external host must be allowed by the Organization; the gateway\'s own names never are', () => {
    assert.equal(
      judge('https://metadata.example.com'),
      'spec.upstream.url names host "metadata.example.com", which Organization "max-airlines" does not allow: external upstreams must be listed in the Organization\'s spec.upstreams.allowedHosts ' +
        '(now "id.example.com", "*.max-airlines.example"); an organization admin cannot change this list: ask a platform admin, or use a Service of this namespace (spec.upstream.backendRef).',
    );
    assert.match(judge('https://max-airlines.example')!, /does not allow/, 'a wildcard never covers its apex');
    assert.match(judge('https://x.mule-united.example', { namespace: 'mule-united-prod' })!, /Organization "mule-united" does not allow: .*\(now empty\)/);
    assert.match(judge('http://10.0.0.5')!, /"10\.0\.0\.5", which Organization "max-airlines" does not allow/);
    const s = snap({ CROSSGATE_GATEWAY_HOSTNAMES: '*.max-airlines.example' });
    assert.equal(
      judge('https://gw.max-airlines.example', { snapshot: s }),
      'spec.upstream.url names host "gw.max-airlines.example", a host name of the gateway itself (reserved as "*.max-airlines.example"): an upstream can never be the gateway.',
    );
  });

  test('scheme and credentials: refused without echoing the credentials', () => {
    const m = judge('http://user:s3cr3t@flights.max-airlines-prod.svc:8080')!;
    assert.equal(m, 'spec.upstream.url carries credentials (user:password@): URLs are stored and shown in clear. Remove them and send credentials in a header (a header-injection Policy) instead.');
    assert.doesNotMatch(m, /s3cr3t/);
    assert.equal(judge('ftp://id.example.com/x'), 'spec.upstream.url must be an http:// or https:// URL, not ftp.');
    assert.equal(judge('not a url'), 'spec.upstream.url is not a valid URL: write an absolute http:// or https:// URL.');
  });

  test('jwksUrl needs https unless its exact host:port is an allowed loopback pair', () => {
    assert.equal(
      judge('http://id.example.com/jwks', { field: 'spec.config.jwksUrl', requireHttps: true }),
      'spec.config.jwksUrl must use https: keys fetched over plain http can be replaced on the way. Write https://id.example.com/jwks.',
    );
    assert.equal(judge('https://id.example.com/jwks', { field: 'spec.config.jwksUrl', requireHttps: true }), undefined);
    const s = snap({ CROSSGATE_LOOPBACK_UPSTREAMS: '127.0.0.1:8443' });
    assert.equal(judge('http://127.0.0.1:8443/jwks', { snapshot: s, field: 'spec.config.jwksUrl', requireHttps: true }), undefined);
    assert.match(judge('http://127.0.0.1:9090/jwks', { snapshot: s, field: 'spec.config.jwksUrl', requireHttps: true })!, /^spec\.config\.jwksUrl names host "127\.0\.0\.1", a loopback address.*a Service of the organization's namespaces/);
  });

  test("an address of the cluster's own networks (CROSSGATE_CLUSTER_CIDRS) is refused in every field and spelling, even when an Organization allows it", () => {
    const cluster = snap({ CROSSGATE_CLUSTER_CIDRS: '10.244.0.0/16,10.96.0.0/12,fd00:10:96::/112' });
    assert.equal(
      judge('http://10.96.0.10:8080/v1', { snapshot: cluster }),
      'spec.upstream.url names host "10.96.0.10", an address inside the cluster\'s own network 10.96.0.0/12 (pods and Services, CROSSGATE_CLUSTER_CIDRS): ' +
        "an address there may be any organization's workload, so in-cluster targets are named by Service only. Use a Service of this namespace (spec.upstream.backendRef).",
    );
    assert.equal(
      judge('https://10.244.3.7/jwks', { snapshot: cluster, field: 'spec.config.jwksUrl', requireHttps: true }),
      'spec.config.jwksUrl names host "10.244.3.7", an address inside the cluster\'s own network 10.244.0.0/16 (pods and Services, CROSSGATE_CLUSTER_CIDRS): ' +
        "an address there may be any organization's workload, so in-cluster targets are named by Service only. Use a Service of the organization's namespaces (name.namespace.svc).",
    );
    assert.match(judge('http://[fd00:10:96::a]:9093', { snapshot: cluster, field: 'spec.notify.url' })!, /^spec\.notify\.url names host "fd00:10:96::a", an address inside the cluster's own network fd00:10:96::\/112/);
    for (const spelling of ['http://174326794', 'http://0xa60000a', 'http://10.6291466', 'http://[::ffff:10.96.0.10]', 'http://[::ffff:a60:a]']) {
      assert.match(judge(spelling, { snapshot: cluster })!, /inside the cluster's own network 10\.96\.0\.0\/12/, spelling);
    }
    // A platform admin listing the address for an Organization does not open it: the cluster's networks are the platform's.
    const allows = { ...maxAirlines, spec: { ...maxAirlines.spec, upstreams: { allowedHosts: ['10.96.0.10'] } } };
    const s2 = snapshotFrom({ organizations: [allows], namespaces: namespacesOf(allows), platform: cluster.platform });
    assert.match(judge('http://10.96.0.10', { snapshot: s2 })!, /inside the cluster's own network/);
    assert.equal(judge('http://10.96.0.10', { snapshot: snapshotFrom({ organizations: [allows], namespaces: namespacesOf(allows) }) }), undefined, 'without the setting, the allowed host stands');
    // Own Services and external hosts are untouched.
    assert.equal(judge('http://flights.max-airlines-prod.svc.cluster.local:8080', { snapshot: cluster }), undefined);
    assert.equal(judge('https://id.example.com/jwks', { snapshot: cluster }), undefined);
    assert.match(judge('http://10.95.255.255', { snapshot: cluster })!, /does not allow/, 'just outside the block: the usual allowed-host rule');
  });

  test("at connect time only a cluster Service name may resolve into the cluster's networks", () => {
    const { platform } = snap({ CROSSGATE_CLUSTER_CIDRS: '10.96.0.0/12' });
    assert.equal(clusterConnectProblem('flights.max-airlines-prod.svc.cluster.local', '10.96.4.2', platform), undefined);
    assert.equal(clusterConnectProblem('flights.max-airlines-prod.svc', '10.96.4.2', platform), undefined);
    assert.equal(clusterConnectProblem('api.max-airlines.example', '10.96.4.2', platform)?.text, '10.96.0.0/12');
    assert.equal(clusterConnectProblem('10.96.4.2', '10.96.4.2', platform)?.text, '10.96.0.0/12');
    assert.equal(clusterConnectProblem('svc.cluster.local.evil.example', '10.96.4.2', platform)?.text, '10.96.0.0/12');
    assert.equal(clusterConnectProblem('api.max-airlines.example', '203.0.113.9', platform), undefined);
  });

  test('a namespace no Organization owns may name no upstream at all', () => {
    assert.equal(
      judge('https://id.example.com/jwks', { namespace: 'nobody', field: 'spec.config.jwksUrl' }),
      'spec.config.jwksUrl: namespace "nobody" belongs to no Organization, so no upstream is allowed from it.',
    );
  });

  test('hostMatches: exact or a "*." wildcard over any subdomain, never the apex', () => {
    assert.ok(hostMatches('a.example', 'a.example'));
    assert.ok(hostMatches('*.example', 'a.b.example'));
    assert.ok(!hostMatches('*.example', 'example'));
    assert.ok(!hostMatches('*.example', 'aexample'));
    assert.ok(!hostMatches('a.example', 'b.a.example'));
  });
});

describe('the route check UpstreamNotAllowed', () => {
  const instance = (url: string): ApiInstance => {
    const i = apiInstance(NS, 'flights');
    return { ...i, spec: { ...i.spec, upstream: { url } } };
  };
  const jwt = (jwksUrl: string): Policy =>
    ({ metadata: { name: 'jwt', namespace: NS }, spec: { type: 'jwt-validation', targetRef: { name: 'flights' }, config: { jwksUrl } } }) as unknown as Policy;

  test('a refused upstream or jwksUrl holds the route closed (503), naming what to fix and never the URL\'s credentials', () => {
    const s = snap();
    assert.equal(routeVerdict({ snapshot: s, instance: instance('http://flights.max-airlines-prod.svc:8080'), policies: [jwt('https://id.example.com/jwks')] }), undefined);
    const p = routeVerdict({ snapshot: s, instance: instance('http://u:hunter2@127.0.0.1:9090'), policies: [] })!;
    assert.equal(p.action, 'withhold');
    assert.equal(p.reason, 'UpstreamNotAllowed');
    assert.match(p.message, /^the gateway answers 503 on this route: spec\.upstream\.url carries credentials/);
    assert.doesNotMatch(p.message, /hunter2/);
    const j = upstreamAllowed({ snapshot: s, instance: instance('http://flights.max-airlines-prod.svc:8080'), policies: [jwt('http://169.254.169.254/jwks')] })!;
    assert.match(j.message, /^the gateway answers 503 on this route: Policy "jwt": spec\.config\.jwksUrl names host "169\.254\.169\.254", a link-local address/);
  });

  test('a backendRef is the instance\'s own namespace: always allowed, also with the cluster\'s networks set', () => {
    const i = apiInstance(NS, 'flights');
    const ref = { ...i, spec: { ...i.spec, upstream: { backendRef: { name: 'flights', port: 8080 } } } } as ApiInstance;
    assert.equal(upstreamAllowed({ snapshot: snap(), instance: ref, policies: [] }), undefined);
    assert.equal(upstreamAllowed({ snapshot: snap({ CROSSGATE_CLUSTER_CIDRS: '10.96.0.0/12' }), instance: ref, policies: [] }), undefined);
  });

  test("an upstream or jwksUrl inside the cluster's networks holds the route closed", () => {
    const s = snap({ CROSSGATE_CLUSTER_CIDRS: '10.96.0.0/12' });
    assert.deepEqual(routeVerdict({ snapshot: s, instance: instance('http://10.96.0.10:8080'), policies: [] }), {
      action: 'withhold',
      reason: 'UpstreamNotAllowed',
      message:
        'the gateway answers 503 on this route: spec.upstream.url names host "10.96.0.10", an address inside the cluster\'s own network 10.96.0.0/12 (pods and Services, CROSSGATE_CLUSTER_CIDRS): ' +
        "an address there may be any organization's workload, so in-cluster targets are named by Service only. Use a Service of this namespace (spec.upstream.backendRef).",
    });
    const j = upstreamAllowed({ snapshot: s, instance: instance('http://flights.max-airlines-prod.svc:8080'), policies: [jwt('https://10.100.0.1/jwks')] })!;
    assert.match(j.message, /^the gateway answers 503 on this route: Policy "jwt": spec\.config\.jwksUrl names host "10\.100\.0\.1", an address inside the cluster's own network 10\.96\.0\.0\/12/);
  });
});

// ---- property tests ----

const v4Blocked = fc.oneof(
  fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(169), fc.constant(254), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(0), fc.nat(255), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.integer({ min: 224, max: 239 }), fc.nat(255), fc.nat(255), fc.nat(255)),
  fc.constant([255, 255, 255, 255] as [number, number, number, number]),
);

const hex = (n: number) => n.toString(16);
/** Spellings of one IPv4 address in a URL host: dotted, one 32-bit number (decimal, hex, octal), short forms, mapped/compatible/SIIT/NAT64 IPv6. */
function spellings([a, b, c, d]: [number, number, number, number]): string[] {
  const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  const hi = (a << 8) | b;
  const lo = (c << 8) | d;
  return [
    `${a}.${b}.${c}.${d}`,
    String(n),
    `0x${hex(n)}`,
    `0${n.toString(8)}`,
    `0x${hex(a)}.${b}.${(c << 8) | d}`,
    `${a}.${(b << 16) | lo}`,
    `[::ffff:${a}.${b}.${c}.${d}]`,
    `[::ffff:${hex(hi)}:${hex(lo)}]`,
    `[::${a}.${b}.${c}.${d}]`,
    `[0:0:0:0:0:ffff:${hex(hi)}:${hex(lo)}]`,
    `[::ffff:0:${hex(hi)}:${hex(lo)}]`,
    `[64:ff9b::${hex(hi)}:${hex(lo)}]`,
  ];
}

const v6Blocked = fc.oneof(
  fc.constant('::1'),
  fc.constant('::'),
  fc.tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.array(fc.nat(0xffff), { minLength: 7, maxLength: 7 })).map(([h, r]) => [h, ...r].map(hex).join(':')),
  fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), fc.array(fc.nat(0xffff), { minLength: 7, maxLength: 7 })).map(([h, r]) => [h, ...r].map(hex).join(':')),
);

describe('property: a blocked address is never allowed without its exact pair', () => {
  const s = snap();
  const pairs = snap({ CROSSGATE_LOOPBACK_UPSTREAMS: '127.0.0.1:8081,[::1]:8081' });

  test('every spelling of a blocked IPv4 address, on any port, is refused at admission and at connect time', () => {
    fc.assert(
      fc.property(v4Blocked, fc.integer({ min: 1, max: 65535 }), fc.constantFrom('http', 'https'), (addr, port, scheme) => {
        for (const host of spellings(addr)) {
          const url = `${scheme}://${host}:${port}/`;
          let parsed: URL;
          try {
            parsed = new URL(url);
          } catch {
            continue; // a spelling WHATWG refuses never reaches anything
          }
          const m = judge(url, { snapshot: s });
          assert.ok(m, `${url} (${parsed.hostname}) was allowed`);
          assert.match(m, /loopback|link-local|unspecified|multicast|broadcast/, url);
          const resolved = parsed.hostname.replace(/^\[|\]$/g, '');
          assert.ok(connectProblem(resolved, port, s.platform), `${resolved}:${port} may be connected to`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a blocked IPv6 address is refused; mapped loopback is allowed only by its own exact pair', () => {
    fc.assert(
      fc.property(v6Blocked, fc.integer({ min: 1, max: 65535 }), (addr, port) => {
        const m = judge(`http://[${addr}]:${port}`, { snapshot: pairs });
        const exact = ipaddr.parse(addr).toNormalizedString() === ipaddr.parse('::1').toNormalizedString() && port === 8081;
        assert.equal(m === undefined, exact, `[${addr}]:${port}`);
        assert.equal(connectProblem(addr, port, pairs.platform) === undefined, exact);
      }),
      { numRuns: 300 },
    );
  });

  test('loopback with a pair for another port, or for another loopback address, stays refused', () => {
    fc.assert(
      fc.property(fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)), fc.integer({ min: 1, max: 65535 }), (addr, port) => {
        const dotted = addr.join('.');
        const allowed = judge(`http://${dotted}:${port}`, { snapshot: pairs }) === undefined;
        assert.equal(allowed, dotted === '127.0.0.1' && port === 8081, `${dotted}:${port}`);
      }),
      { numRuns: 300 },
    );
  });

  test('a random DNS name is allowed only when it is an own Service or an allowed host, and never when it is localhost', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '.localhost', '.svc', '.example.com', '.max-airlines.example'), (labels, suffix) => {
        const host = labels.join('.') + suffix;
        const m = judge(`http://${host}/`, { snapshot: pairs });
        if (suffix === '.localhost') assert.match(m ?? '', /loopback/, host);
        if (m === undefined) {
          const own = /^[^.]+\.max-airlines-(prod|sandbox|home)\.svc$/.test(host);
          assert.ok(own || host.endsWith('.max-airlines.example') || host === 'id.example.com', `${host} was allowed`);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('blockedRangeOf agrees with ipaddr.js on plain IPv4 for every address', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), (t) => {
        const dotted = t.join('.');
        const range = ipaddr.parse(dotted).range();
        const blocked = ['loopback', 'linkLocal', 'unspecified', 'multicast', 'broadcast'].includes(range);
        assert.equal(blockedRangeOf(dotted) !== undefined, blocked, dotted);
        assert.equal(blockedRangeOf(`::ffff:${dotted}`) !== undefined, blocked, `::ffff:${dotted}`);
      }),
      { numRuns: 1000 },
    );
  });
});
