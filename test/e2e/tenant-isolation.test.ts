// Tenant isolation on the shared gateway, played by the attacker. Two
// organizations share one gateway: "victim" serves /rail behind an api-key
// policy; "rogue" is assigned /rogue and its admin (impersonated: a user in
// rogue's adminGroups, crossgate-edit in rogue's namespaces only, no trust
// toward anyone) tries each attack of docs/security-model.md's threat table.
//
// Every attack is tried twice: through admission, where the webhook refuses it
// with a message a user can act on; and with the webhook out of the way (its
// registration removed, as a skipped or stale webhook would be), where the
// operator and the gateway must still keep it from the victim. The hostile
// objects written in the second half stay until the end, so the last test
// shows the victim's traffic and revocations flowing while all of them exist.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { routeShardOf } from '../../api/gateway/checksum.ts';
import { ROUTE_SHARDS } from '../../api/gateway/config.ts';
import {
  applyYaml, canI, condition, getJson, kubectl, rawKeyOf, startGatewayProcess, organizationYaml, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition,
  type RunningGateway, type RunningOperator,
} from './support/index.ts';

const victim = uniqueName('victim');
const rogue = uniqueName('rogue');
const V = { home: `${victim}-home`, prod: `${victim}-prod` };
const R = { home: `${rogue}-home`, prod: `${rogue}-prod` };
const VICTIM_HOST = `api.${victim}.example`;
/** The attacker: an organization admin of rogue, nothing more. */
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };
/** The gateway's own names, reserved by the platform (CROSSGATE_GATEWAY_HOSTNAMES). */
const GATEWAY_HOSTNAMES = ['127.0.0.1', 'localhost'];
/** The cluster's pod and service networks (CROSSGATE_CLUSTER_CIDRS): kube-apiserver's default service range and a pod range. */
const CLUSTER_CIDRS = ['10.0.0.0/24', '10.244.0.0/16'];

/** An upstream that tells who answered and records what it received. */
interface NamedUpstream {
  name: string;
  hostPort: string;
  url: string;
  requests: Array<{ url: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

async function namedUpstream(name: string): Promise<NamedUpstream> {
  const requests: NamedUpstream['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ upstream: name, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    hostPort: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  json(): any;
}

/** A request through the gateway with node:http, so the Host header can be chosen. */
function call(gw: RunningGateway, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** An Organization of one production environment with the route space `routes` (YAML). */
const orgYaml = (name: string, ns: { home: string; prod: string }, routes: string) =>
  organizationYaml({ name, homeNamespace: ns.home, environments: [{ namespace: ns.prod }], routes });

const assetYaml = (ns: string) => `apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${ns}}
spec: {type: http, title: API, version: 1.0.0}
`;

function instanceYaml(ns: string, name: string, spec: { basePath: string; hostnames?: string[]; upstream: string; gateway?: string }): string {
  const hostnames = (spec.hostnames ? `\n  hostnames: ${JSON.stringify(spec.hostnames)}` : '') + (spec.gateway ? `\n  gateway: ${spec.gateway}` : '');
  return `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: ${name}, namespace: ${ns}}
spec:
  assetRef: {name: api}
  basePath: ${JSON.stringify(spec.basePath)}${hostnames}
  upstream: {url: ${JSON.stringify(spec.upstream)}}
`;
}

/** As JSON: YAML cannot carry the control characters some attacks need. */
function policyYaml(ns: string, name: string, target: string, type: string, config: unknown): string {
  return JSON.stringify({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'Policy', metadata: { name, namespace: ns }, spec: { type, targetRef: { name: target }, config } });
}

const tierYaml = (ns: string, name: string, instance: string) => `apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: ${name}, namespace: ${ns}}
spec:
  apiInstanceRef: {name: ${instance}}
  limits: [{requests: 1000, period: minute}]
  approval: automatic
`;

const keyYaml = (ns: string, name: string, instance: string, revoked = false) => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: ${name}, namespace: ${ns}}
spec:
  apiInstanceRef: {name: ${instance}}
  tier: gold
  clientName: ${name}
  revoked: ${revoked}
`;

describe('tenant isolation on the shared gateway (the attacker is an organization admin)', () => {
  let webhook: SkippableWebhook | undefined;
  let op: RunningOperator;
  let gw: RunningGateway;
  let victimUp: NamedUpstream;
  let rogueUp: NamedUpstream;
  let victimKey: string;
  let platformEnv: NodeJS.ProcessEnv;

  // Server-side apply: a client-side apply would also copy the object into an annotation (limited to 256 KiB).
  const asMallory = (yaml: string) => applyYaml(yaml, { ...MALLORY, allowFail: true, serverSide: true });

  /** Mallory's write is refused by the webhook, with a message matching each pattern. */
  async function refused(yaml: string, ...patterns: RegExp[]): Promise<string> {
    const r = await asMallory(yaml);
    assert.notEqual(r.code, 0, `expected a refusal, kubectl said: ${r.stdout}`);
    assert.match(r.stderr, /admission webhook "[^"]+" denied the request/, r.stderr);
    for (const p of patterns) assert.match(r.stderr, p);
    return r.stderr;
  }

  /** Mallory's write goes through (the webhook is out of the way). */
  async function written(yaml: string): Promise<void> {
    const r = await asMallory(yaml);
    assert.equal(r.code, 0, `mallory's write should reach the apiserver without the webhook: ${r.stderr}`);
  }

  /** Mallory creates the object from JSON (server-side apply travels as YAML, which cannot carry DEL). */
  async function createdAsJson(json: string): Promise<void> {
    const r = await kubectl(['create', '-f', '-'], { ...MALLORY, stdin: json, allowFail: true });
    assert.equal(r.code, 0, `mallory's create should reach the apiserver without the webhook: ${r.stderr}`);
  }

  /** The victim's key still reaches the victim's upstream (and only it) through the shared gateway. */
  async function victimServed(path = '/rail/v2/trains', headers: Record<string, string> = {}): Promise<void> {
    const before = rogueUp.requests.length;
    const res = await waitFor(async () => {
      const r = await call(gw, path, { 'x-api-key': victimKey, ...headers });
      return r.status === 200 ? r : undefined;
    }, { what: `the victim's key to be served at ${path}`, timeoutMs: 15_000 });
    assert.equal(res.json().upstream, 'victim', `${path} must reach the victim's upstream`);
    assert.equal(rogueUp.requests.length, before, "the rogue upstream must not see the victim's requests");
  }

  before(async () => {
    victimUp = await namedUpstream('victim');
    rogueUp = await namedUpstream('rogue');
    // The platform (never an organization) allows exactly these two loopback upstreams, reserves the gateway's names
    // and names the cluster's own networks.
    platformEnv = {
      CROSSGATE_LOOPBACK_UPSTREAMS: `${victimUp.hostPort},${rogueUp.hostPort}`,
      CROSSGATE_GATEWAY_HOSTNAMES: GATEWAY_HOSTNAMES.join(','),
      CROSSGATE_CLUSTER_CIDRS: CLUSTER_CIDRS.join(','),
    };
    webhook = new SkippableWebhook({ env: platformEnv });
    await webhook.start();
    op = await startOperator({ env: platformEnv });
    await applyYaml(orgYaml(victim, V, `{pathPrefixes: ["/rail"], hostnames: ["${VICTIM_HOST}"]}`));
    await applyYaml(orgYaml(rogue, R, '{pathPrefixes: ["/rogue"]}'));
    await waitForCondition(['organization', victim], 'Ready', 'True');
    await waitForCondition(['organization', rogue], 'Ready', 'True');
    await applyYaml(assetYaml(V.home));
    await applyYaml(assetYaml(R.home));
    await applyYaml(instanceYaml(V.prod, 'rail', { basePath: '/rail/v2', upstream: victimUp.url }));
    await applyYaml(policyYaml(V.prod, 'rail-keys', 'rail', 'api-key', { header: 'x-api-key' }));
    await applyYaml(tierYaml(V.prod, 'gold', 'rail'));
    await applyYaml(keyYaml(V.prod, 'ops', 'rail'));
    await applyYaml(keyYaml(V.prod, 'spare', 'rail'));
    await waitForCondition(['apiinstance', 'rail', '-n', V.prod], 'Ready', 'True');
    await waitFor(async () => (await getJson(['apikey', 'ops', '-n', V.prod]))?.status?.state === 'Approved', { what: "the victim's key approved" });
    victimKey = await rawKeyOf('ops-apikey', V.prod);
    // Rogue's legitimate API, inside its own claim: the attacker is a normal tenant until it is not.
    await written(instanceYaml(R.prod, 'legit', { basePath: '/rogue/api', upstream: rogueUp.url }));
    gw = await startGatewayProcess({ env: platformEnv });
    await victimServed();
    // Mallory really is an admin of rogue, and nothing more.
    await waitFor(() => canI('create', 'apiinstances.crossgate.dev', R.prod, MALLORY), { what: "mallory's admin grant in rogue's namespace" });
    assert.equal(await canI('create', 'apiinstances.crossgate.dev', V.prod, MALLORY), false);
  });

  after(async () => {
    await gw?.stop();
    for (const org of [rogue, victim]) await kubectl(['delete', 'organization', org, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', V.home, V.prod, R.home, R.prod, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
    await victimUp?.close();
    await rogueUp?.close();
  });

  test('1. route takeover under another organization\'s prefix, and path squatting with "/"', async () => {
    await refused(instanceYaml(R.prod, 'squat-under', { basePath: '/rail/v2/x', upstream: rogueUp.url }), /spec\.basePath/, /"\/rail\/v2\/x"/, /\/rogue/);
    await refused(instanceYaml(R.prod, 'squat-root', { basePath: '/', upstream: rogueUp.url }), /spec\.basePath/, /"\/"/);
    await webhook!.without(async () => {
      await written(instanceYaml(R.prod, 'squat-under', { basePath: '/rail/v2/x', upstream: rogueUp.url }));
      await written(instanceYaml(R.prod, 'squat-root', { basePath: '/', upstream: rogueUp.url }));
      // The victim itself has a route held closed by a broken policy: its requests must not fail open into "/".
      await applyYaml(instanceYaml(V.prod, 'rail-beta', { basePath: '/rail/beta', upstream: victimUp.url }));
      await applyYaml(policyYaml(V.prod, 'rail-beta-limit', 'rail-beta', 'rate-limit', { limits: [] }));
      for (const name of ['squat-under', 'squat-root']) {
        const i = await waitForCondition(['apiinstance', name, '-n', R.prod], 'Ready', 'False', { reason: 'OutsideRouteClaims' });
        assert.match(condition(i, 'Ready')!.message, /\/rogue/);
      }
      await waitForCondition(['apiinstance', 'rail-beta', '-n', V.prod], 'Ready', 'False', { reason: 'InvalidPolicy' });
    });
    await victimServed('/rail/v2/x/trains');
    const beta = await waitFor(async () => {
      const r = await call(gw, '/rail/beta/anything', { 'x-api-key': victimKey });
      return r.status === 503 ? r : undefined;
    }, { what: 'the withheld route to answer 503' });
    assert.match(beta.headers['content-type'] ?? '', /application\/problem\+json/);
    assert.equal(beta.json().type, 'https://crossgate.dev/problems/route-withheld');
    const nobody = await call(gw, '/nobody/serves/this');
    assert.equal(nobody.status, 404, 'a path nobody claims is not caught by a "/" route');
    assert.equal(rogueUp.requests.length, 0, 'nothing reached the rogue upstream through the squatting routes');
  });

  test('2. route takeover by hostname: the gateway\'s own host, another organization\'s host; Organizations are the platform\'s', async () => {
    await refused(instanceYaml(R.prod, 'host-gw', { basePath: '/', hostnames: ['127.0.0.1'], upstream: rogueUp.url }), /spec\.hostnames/, /"127\.0\.0\.1"/);
    await refused(instanceYaml(R.prod, 'host-victim', { basePath: '/rail/v2', hostnames: [VICTIM_HOST], upstream: rogueUp.url }), /spec\.hostnames/, new RegExp(VICTIM_HOST.replace(/\./g, '\\.')));
    // Route space is written by platform admins: mallory cannot touch an Organization, not even her own.
    assert.equal(await canI('update', 'organizations.crossgate.dev', undefined, MALLORY), false);
    assert.equal(await canI('patch', 'organizations.crossgate.dev', undefined, MALLORY), false);
    const patch = await kubectl(['patch', 'organization', rogue, '--type=merge', '-p', JSON.stringify({ spec: { routes: { pathPrefixes: ['/rogue', '/rail'] } } })], { ...MALLORY, allowFail: true });
    assert.notEqual(patch.code, 0);
    assert.match(patch.stderr, /forbidden/i);
    // Even a platform admin cannot hand out the gateway's own names or another organization's space.
    const reserved = await applyYaml(orgYaml(rogue, R, '{pathPrefixes: ["/rogue"], hostnames: ["localhost"]}'), { allowFail: true });
    assert.notEqual(reserved.code, 0);
    assert.match(reserved.stderr, /"localhost"/);
    assert.match(reserved.stderr, /reserved/);
    const overlap = await applyYaml(orgYaml(rogue, R, `{pathPrefixes: ["/rogue", "/rail/v9"], hostnames: ["*.${victim}.example"]}`), { allowFail: true });
    assert.notEqual(overlap.code, 0);
    assert.match(overlap.stderr, new RegExp(`Organization "${victim}"`));
    await webhook!.without(async () => {
      await written(instanceYaml(R.prod, 'host-gw', { basePath: '/', hostnames: ['127.0.0.1', 'localhost'], upstream: rogueUp.url }));
      await written(instanceYaml(R.prod, 'host-victim', { basePath: '/rail/v2', hostnames: [VICTIM_HOST], upstream: rogueUp.url }));
      for (const name of ['host-gw', 'host-victim']) await waitForCondition(['apiinstance', name, '-n', R.prod], 'Ready', 'False', { reason: 'OutsideRouteClaims' });
      // A platform admin's overlapping claim made without the webhook: the older Organization keeps the space.
      await applyYaml(orgYaml(rogue, R, '{pathPrefixes: ["/rogue", "/rail"]}'));
      const org = await waitForCondition(['organization', rogue], 'RouteClaims', 'False', { reason: 'RouteClaimConflict' });
      assert.match(condition(org, 'RouteClaims')!.message, new RegExp(`"${victim}"`));
      await waitForCondition(['apiinstance', 'squat-under', '-n', R.prod], 'Ready', 'False', { reason: 'OutsideRouteClaims' });
    });
    await victimServed('/rail/v2/trains', { host: '127.0.0.1' });
    await victimServed('/rail/v2/trains', { host: 'localhost' });
    const hosted = await call(gw, '/rail/v2/trains', { host: VICTIM_HOST, 'x-api-key': victimKey });
    assert.notEqual(hosted.json?.().upstream, 'rogue');
    assert.equal(rogueUp.requests.length, 0);
    await applyYaml(orgYaml(rogue, R, '{pathPrefixes: ["/rogue"]}'));
  });

  test('3. upstreams into the gateway, the node, the cluster\'s pods and Services, or another organization\'s Services', async () => {
    const adminPort = new URL(gw.adminUrl).port;
    const attempts: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${adminPort}`, /loopback/],
      [`http://localhost:${adminPort}/metrics`, /loopback/],
      [`http://[::ffff:127.0.0.1]:${adminPort}`, /loopback/],
      ['http://2130706433:2379', /loopback/],
      ['http://169.254.169.254/latest/meta-data', /link-local/],
      ['http://[fe80::1]:80', /link-local/],
      ['http://0.0.0.0:8080', /unspecified/],
      [`http://rail.${V.prod}.svc.cluster.local:8080`, new RegExp(`"${V.prod}"`)],
      ['https://10.0.0.1', /"10\.0\.0\.1", an address inside the cluster's own network 10\.0\.0\.0\/24/],
      ['http://[::ffff:10.244.3.7]:8080', /inside the cluster's own network 10\.244\.0\.0\/16/],
      ['https://metadata.example.com', /allowedHosts/],
      [`http://user:secret@${rogueUp.hostPort}`, /credentials/],
    ];
    for (const [url, why] of attempts) {
      const msg = await refused(instanceYaml(R.prod, 'escape', { basePath: '/rogue/escape', upstream: url }), /spec\.upstream\.url/, why);
      assert.doesNotMatch(msg, /secret/, 'a refusal never echoes URL credentials');
    }
    await webhook!.without(async () => {
      await written(instanceYaml(R.prod, 'escape', { basePath: '/rogue/escape', upstream: `http://127.0.0.1:${adminPort}` }));
      await written(instanceYaml(R.prod, 'escape-meta', { basePath: '/rogue/meta', upstream: 'http://169.254.169.254' }));
      await written(instanceYaml(R.prod, 'escape-victim', { basePath: '/rogue/victim', upstream: `http://rail.${V.prod}.svc.cluster.local:8080` }));
      await written(instanceYaml(R.prod, 'escape-pods', { basePath: '/rogue/pods', upstream: 'http://10.244.3.7:8080' }));
      for (const name of ['escape', 'escape-meta', 'escape-victim', 'escape-pods']) await waitForCondition(['apiinstance', name, '-n', R.prod], 'Ready', 'False', { reason: 'UpstreamNotAllowed' });
      const pods = await getJson(['apiinstance', 'escape-pods', '-n', R.prod]);
      assert.match(condition(pods, 'Ready')!.message, /inside the cluster's own network 10\.244\.0\.0\/16/);
    });
    const res = await waitFor(async () => {
      const r = await call(gw, '/rogue/escape/metrics');
      return r.status === 503 ? r : undefined;
    }, { what: 'the route to the admin port to be held closed' });
    assert.doesNotMatch(res.body, /crossgate_gateway|process_cpu/, "the gateway's metrics never come out of the data port");
    await victimServed();
  });

  test('4. forged identity: a policy may not set or remove the gateway\'s own headers', async () => {
    for (const [ops, name] of [
      [{ request: { set: { 'x-crossgate-client': `${V.prod}/ops` } } }, 'x-crossgate-client'],
      [{ request: { set: { 'X-Forwarded-For': '10.0.0.1' } } }, 'x-forwarded-for'],
      [{ request: { remove: ['x-forwarded-for'] } }, 'x-forwarded-for'],
      [{ request: { set: { forwarded: 'for=10.0.0.1' } } }, 'forwarded'],
    ] as const) {
      await refused(policyYaml(R.prod, 'forge', 'legit', 'header-injection', ops), new RegExp(`"${name}"`, 'i'), /reserved/);
    }
    await webhook!.without(async () => {
      await written(policyYaml(R.prod, 'forge', 'legit', 'header-injection', { request: { set: { 'x-crossgate-client': `${V.prod}/ops` }, remove: ['x-forwarded-for'] } }));
      await waitForCondition(['apiinstance', 'legit', '-n', R.prod], 'Ready', 'False', { reason: 'InvalidPolicy' });
    });
    const res = await waitFor(async () => {
      const r = await call(gw, '/rogue/api/whoami');
      return r.status === 503 ? r : undefined;
    }, { what: 'the route with the forging policy to be held closed' });
    assert.equal(res.json().type, 'https://crossgate.dev/problems/route-withheld');
    assert.ok(!rogueUp.requests.some((r) => r.headers['x-crossgate-client'] === `${V.prod}/ops`), 'no forged identity reached an upstream');
    await kubectl(['delete', 'policy', 'forge', '-n', R.prod]);
    await waitFor(async () => (await call(gw, '/rogue/api/whoami')).status === 200, { what: "rogue's own route to be served again once the policy is gone" });
  });

  test('5. one bad header value or name cannot crash the gateway or break other routes', async () => {
    await refused(policyYaml(R.prod, 'crash', 'legit', 'header-injection', { response: { set: { 'x-ok': 'a\r\nset-cookie: pwned=1' } } }), /\/spec\/config\/response\/set\/x-ok/);
    await refused(policyYaml(R.prod, 'crash', 'legit', 'header-injection', { response: { set: { 'x-ok': 'caf\u00e9\u0100' } } }), /\/spec\/config\/response\/set\/x-ok/);
    await refused(policyYaml(R.prod, 'crash', 'legit', 'header-injection', { request: { remove: ['x-a\r\nb'] } }), /\/spec\/config\/request\/remove\/0/);
    await webhook!.without(async () => {
      await createdAsJson(policyYaml(R.prod, 'crash', 'legit', 'header-injection', { response: { set: { 'x-ok': 'a\r\nb', 'x-del': '\u007f' } }, request: { set: { 'x-a\r\nb': '1' } } }));
      await waitForCondition(['apiinstance', 'legit', '-n', R.prod], 'Ready', 'False', { reason: 'InvalidPolicy' });
    });
    await waitFor(async () => (await call(gw, '/rogue/api/x')).status === 503, { what: 'the route with the bad header policy held closed' });
    assert.ok(gw.proc.running, 'the gateway process is alive');
    await victimServed();
    await kubectl(['delete', 'policy', 'crash', '-n', R.prod]);
  });

  test('6. one huge object, or one malformed upstream, does not freeze everyone\'s configuration', async () => {
    const set: Record<string, string> = {};
    for (let i = 0; i < 1300; i++) set[`x-h-${i}`] = 'v'.repeat(900);
    const huge = policyYaml(R.prod, 'huge', 'legit', 'header-injection', { request: { set } });
    assert.ok(huge.length > 1_100_000, `the policy is ${huge.length} bytes`);
    await refused(huge, /\/spec\/config\/request\/set: must NOT have more than 32 properties/);
    await webhook!.without(async () => {
      await written(huge);
      await written(instanceYaml(R.prod, 'creds', { basePath: '/rogue/creds', upstream: `http://user:secret@${rogueUp.hostPort}` }));
      await waitForCondition(['apiinstance', 'legit', '-n', R.prod], 'Ready', 'False', { reason: 'InvalidPolicy' });
      const c = await waitForCondition(['apiinstance', 'creds', '-n', R.prod], 'Ready', 'False', { reason: 'UpstreamNotAllowed' });
      assert.doesNotMatch(condition(c, 'Ready')!.message, /secret/);
    });
    // While both exist, the victim's revocation reaches the gateway in under 5 s.
    const spare = await rawKeyOf('spare-apikey', V.prod);
    await waitFor(async () => (await call(gw, '/rail/v2/trains', { 'x-api-key': spare })).status === 200, { what: 'the spare key to work' });
    const t0 = Date.now();
    await kubectl(['patch', 'apikey', 'spare', '-n', V.prod, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitFor(async () => (await call(gw, '/rail/v2/trains', { 'x-api-key': spare })).status === 401, { what: 'the revoked key refused', intervalMs: 50, timeoutMs: 10_000 });
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `revocation took ${ms} ms`);
    await victimServed();
  });

  test("6b. routes filling the victim's route shard cost the attacker's routes, never freeze or close the victim's", async () => {
    // A platform admin gives rogue a hostname space; mallory fills the route shard of the victim's route with
    // 240 legitimate-looking instances of 16 long hostnames each (~4.3 KB a route, ~1 MB in all: over the part budget).
    await applyYaml(orgYaml(rogue, R, `{pathPrefixes: ["/rogue"], hostnames: ["*.${rogue}.example"]}`));
    const shard = routeShardOf(`${V.prod}/rail`, ROUTE_SHARDS);
    const names: string[] = [];
    for (let i = 0; names.length < 240; i++) if (routeShardOf(`${R.prod}/fill-${i}`, ROUTE_SHARDS) === shard) names.push(`fill-${i}`);
    const host = (i: number, j: number) => `${'h'.repeat(40)}-${i}-${j}.${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(40)}.${rogue}.example`;
    const fill = names
      .map((name, i) => instanceYaml(R.prod, name, { basePath: '/', hostnames: Array.from({ length: 16 }, (_, j) => host(i, j)), upstream: rogueUp.url }))
      .join('---\n');
    await written(fill);
    await waitForCondition(['apiinstance', names.at(-1)!, '-n', R.prod], 'Ready', 'True');
    // The victim changes its route: the change reaches the gateway, and the route stays served.
    await applyYaml(policyYaml(V.prod, 'rail-version', 'rail', 'header-injection', { response: { set: { 'x-rail-version': '2' } } }));
    const res = await waitFor(async () => {
      const r = await call(gw, '/rail/v2/trains', { 'x-api-key': victimKey });
      return r.status === 200 && r.headers['x-rail-version'] === '2' ? r : undefined;
    }, { what: "the victim's route change to reach the gateway while its shard is full", timeoutMs: 20_000 });
    assert.equal(res.json().upstream, 'victim');
    await kubectl(['delete', 'policy', 'rail-version', '-n', V.prod]);
    await victimServed();
  });

  test('7. a client address is read from a forwarding header only through a trusted proxy', async () => {
    await applyYaml(instanceYaml(V.prod, 'rail-ops', { basePath: '/rail/ops', upstream: victimUp.url }));
    await applyYaml(policyYaml(V.prod, 'rail-ops-net', 'rail-ops', 'ip-allowlist', { cidrs: ['10.1.2.3/32'], clientIpHeader: 'x-forwarded-for' }));
    await waitForCondition(['apiinstance', 'rail-ops', '-n', V.prod], 'Ready', 'True');
    await waitFor(async () => (await call(gw, '/rail/ops/x')).status === 403, { what: 'the allow-list enforced on the peer address' });
    const forwarded = victimUp.requests.length;
    for (const xff of ['10.1.2.3', '10.1.2.3, 10.1.2.3', '127.0.0.1, 10.1.2.3', 'garbage, 10.1.2.3']) {
      const r = await call(gw, '/rail/ops/x', { 'x-forwarded-for': xff });
      assert.equal(r.status, 403, `x-forwarded-for: ${xff} from an untrusted peer must not pass the allow-list`);
    }
    assert.equal(victimUp.requests.length, forwarded, 'nothing was forwarded');
  });

  test('8. tiers that nothing enforces say so on the instance and on each tier', async () => {
    await written(instanceYaml(R.prod, 'keyless', { basePath: '/rogue/keyless', upstream: rogueUp.url }));
    await written(tierYaml(R.prod, 'gold', 'keyless'));
    const i = await waitForCondition(['apiinstance', 'keyless', '-n', R.prod], 'TiersEnforced', 'False', { reason: 'NoApiKeyPolicy' });
    assert.match(condition(i, 'TiersEnforced')!.message, /api-key/);
    const t = await waitForCondition(['slatier', 'gold', '-n', R.prod], 'Ready', 'False', { reason: 'NotEnforced' });
    assert.match(condition(t, 'Ready')!.message, /api-key/);
    const table = await kubectl(['get', 'apiinstance', 'keyless', '-n', R.prod]);
    assert.match(table.stdout, /NoApiKeyPolicy|False/);
  });

  test('9. gateway names: a fifth gateway besides "default" gets no config (each would get 81 ConfigMaps and a reconcile per event)', async () => {
    const gateways = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];
    const yamlOf = (i: number) => instanceYaml(R.prod, `fan-${i + 1}`, { basePath: `/rogue/fan-${i + 1}`, upstream: rogueUp.url, gateway: gateways[i] });
    for (let i = 0; i < 4; i++) await written(yamlOf(i));
    await refused(yamlOf(4), /spec\.gateway/, /"g5" would be a 5th gateway of Organization "[^"]+" besides "default" \(its ApiInstances already name "g1", "g2", "g3", "g4"; at most 4/);
    await webhook!.without(async () => {
      await written(yamlOf(4));
      await written(yamlOf(5));
      for (const i of [4, 5]) {
        const inst = await waitForCondition(['apiinstance', `fan-${i + 1}`, '-n', R.prod], 'Ready', 'False', { reason: 'TooManyGateways' });
        assert.match(condition(inst, 'Ready')!.message, new RegExp(`the gateway does not serve this route: spec\\.gateway "${gateways[i]}" would be a 5th gateway`));
      }
    });
    const configMaps = async (gateway: string) =>
      JSON.parse((await kubectl(['get', 'configmaps', '-A', '-l', `crossgate.dev/gateway=${gateway}`, '-o', 'json'])).stdout).items.length as number;
    await waitFor(async () => (await configMaps('g4')) > 0, { what: "the config of rogue's fourth gateway" });
    assert.equal(await configMaps('g5'), 0, 'no config for a fifth gateway');
    assert.equal(await configMaps('g6'), 0, 'nor a sixth');
    await victimServed();
  });

  test('while every hostile object exists, the victim is served and its revocation reaches the gateway in under 5 s', async () => {
    await victimServed();
    await victimServed('/rail/v2/x/y');
    await applyYaml(keyYaml(V.prod, 'late', 'rail'));
    await waitFor(async () => (await getJson(['apikey', 'late', '-n', V.prod]))?.status?.state === 'Approved', { what: 'a new victim key approved' });
    const late = await rawKeyOf('late-apikey', V.prod);
    await waitFor(async () => (await call(gw, '/rail/v2/trains', { 'x-api-key': late })).status === 200, { what: 'the new key to work' });
    const t0 = Date.now();
    await kubectl(['patch', 'apikey', 'late', '-n', V.prod, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitFor(async () => (await call(gw, '/rail/v2/trains', { 'x-api-key': late })).status === 401, { what: 'the revoked key refused', intervalMs: 50, timeoutMs: 10_000 });
    assert.ok(Date.now() - t0 < 5000, `revocation took ${Date.now() - t0} ms`);
    assert.equal(rogueUp.requests.filter((r) => r.headers['x-api-key'] !== undefined).length, 0, "no victim key ever reached the rogue upstream");
  });
});
