// Tenant isolation of the consumer side, played by the attacker: mallory, an
// organization admin of "evil" (impersonated: crossgate-edit in evil's
// namespaces, and Kubernetes' `edit` in evil's environment namespace, which
// the platform gives consumers so that they can read their keys' Secrets).
// Another organization, "prey", serves its own API on the same gateway with
// its own key.
//
// 1. mallory edits the hash annotations of her own key Secrets (what the
//    operator reads back into the credential shards all organizations share):
//    a value that is no hex at all, and one whose first byte is that of prey's
//    key hash. prey's key keeps working, and its revocation still reaches the
//    gateway within 5 s; mallory's keys are issued again, with an Event saying
//    why.
// 2. mallory fills prey's credential shard: Applications with 16 entries of
//    16 long endpoints each (~100 KB a hash), whose hash annotations (current
//    and previous, well-formed) she points at prey's shard. The shard would be
//    over the part budget, never written again, and prey's revocation would
//    never arrive: evil gives up its own credentials instead (Event
//    CredentialTooLarge), prey's revocation reaches the gateway within 5 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  applyYaml, getJson, kubectl, organizationYaml, rawKeyOf, startGatewayProcess, startOperator, startUpstream, uniqueName, waitFor, waitForCondition,
  type RunningGateway, type RunningOperator, type Upstream,
} from './support/index.ts';

const evil = uniqueName('evil');
const prey = uniqueName('prey');
const E = { home: `${evil}-home`, prod: `${evil}-prod` };
const P = { home: `${prey}-home`, prod: `${prey}-prod` };
/** The attacker: an organization admin of evil. */
const MALLORY = { as: 'mallory', groups: [`${evil}:admins`] };
const HASH_ANNOTATION = 'crossgate.dev/key-sha256';

/** An organization with one API under /<org>/rail behind an api-key policy, at an automatic tier "gold". */
const apiYaml = (org: string, home: string, prod: string, upstream: string) => `${organizationYaml({ name: org, homeNamespace: home, environments: [{ namespace: prod }], routes: `{pathPrefixes: ["/${org}"]}` })}---
apiVersion: crossgate.dev/v1alpha1
kind: Asset
metadata: {name: api, namespace: ${home}}
spec: {type: http, title: API, version: 1.0.0}
---
apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: rail, namespace: ${prod}}
spec: {assetRef: {name: api, namespace: ${home}}, basePath: "/${org}/rail", upstream: {url: "${upstream}"}}
---
apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: rail-keys, namespace: ${prod}}
spec: {type: api-key, targetRef: {name: rail}, config: {header: x-api-key}}
---
apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: gold, namespace: ${prod}}
spec: {apiInstanceRef: {name: rail}, limits: [{requests: 1000, period: minute}], approval: automatic}
`;
const keyYaml = (ns: string, name: string, instance = 'rail', tier = 'gold') => `apiVersion: crossgate.dev/v1alpha1
kind: ApiKey
metadata: {name: ${name}, namespace: ${ns}}
spec: {apiInstanceRef: {name: ${instance}}, tier: ${tier}}
`;

describe('credential Secrets and Contracts (the attacker is an organization admin)', () => {
  let op: RunningOperator;
  let gw: RunningGateway;
  let up: Upstream;
  let env: NodeJS.ProcessEnv;

  const get = (path: string, key: string) => fetch(`${gw.url}${path}`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(10_000) });
  const approved = (ns: string, name: string) =>
    waitFor(async () => (await getJson(['apikey', name, '-n', ns]))?.status?.state === 'Approved' || undefined, { what: `ApiKey ${ns}/${name} approved` });
  const served = (path: string, key: string, what: string) => waitFor(async () => (await get(path, key)).status === 200 || undefined, { what, timeoutMs: 15_000 });
  /** A key of prey's, served, and the first byte of its hash (which decides its credential shard). */
  async function preyKey(name: string): Promise<{ key: string; shardByte: string }> {
    await applyYaml(keyYaml(P.prod, name));
    await approved(P.prod, name);
    const key = await rawKeyOf(`${name}-apikey`, P.prod);
    await served(`/${prey}/rail/x`, key, `prey's key ${name} to be served`);
    return { key, shardByte: createHash('sha256').update(key).digest('hex').slice(0, 2) };
  }
  /** prey's key still works a config write or two after the attack, and its revocation reaches the gateway within 5 s. */
  async function revokedInTime(name: string, key: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 3_000));
    await served(`/${prey}/rail/x`, key, `prey's key ${name} to be served`);
    const t0 = Date.now();
    await kubectl(['patch', 'apikey', name, '-n', P.prod, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitFor(async () => (await get(`/${prey}/rail/x`, key)).status === 401 || undefined, { what: `prey's revoked key ${name} refused`, intervalMs: 50, timeoutMs: 10_000 });
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `revocation took ${ms} ms`);
  }

  before(async () => {
    up = await startUpstream();
    env = { CROSSGATE_LOOPBACK_UPSTREAMS: up.hostPort };
    op = await startOperator({ env });
    await applyYaml(apiYaml(evil, E.home, E.prod, up.url));
    await applyYaml(apiYaml(prey, P.home, P.prod, up.url));
    await waitForCondition(['organization', evil], 'Ready', 'True');
    await waitForCondition(['organization', prey], 'Ready', 'True');
    // The platform lets consumers read (and so write) the Secrets of their environment namespaces.
    await kubectl(['create', 'rolebinding', 'admins-edit', '--clusterrole=edit', `--group=${evil}:admins`, '-n', E.prod]);
    gw = await startGatewayProcess({ env });
  });

  after(async () => {
    await gw?.stop();
    await kubectl(['delete', 'organization', evil, prey, '--ignore-not-found', '--wait=true', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'namespace', E.home, E.prod, P.home, P.prod, '--ignore-not-found', '--wait=false'], { allowFail: true });
    await op?.proc.stop();
    await up?.close();
  });

  test("1. hand-written hash annotations on the attacker's own key Secrets neither freeze nor break another organization's keys", async () => {
    const { key: preyKeyRaw, shardByte: preyShardByte } = await preyKey('pk');

    for (const name of ['nohex', 'sameshard']) {
      const r = await applyYaml(keyYaml(E.prod, name), { ...MALLORY, allowFail: true, serverSide: true });
      assert.equal(r.code, 0, r.stderr);
      await approved(E.prod, name);
    }
    const forged = { nohex: 'zz'.repeat(32), sameshard: `${preyShardByte}${'g'.repeat(62)}` };
    for (const [name, value] of Object.entries(forged)) {
      const r = await kubectl(['annotate', 'secret', `${name}-apikey`, '-n', E.prod, `${HASH_ANNOTATION}=${value}`, '--overwrite'], { ...MALLORY, allowFail: true });
      assert.equal(r.code, 0, `mallory may write her own Secrets: ${r.stderr}`);
    }

    await revokedInTime('pk', preyKeyRaw);

    // The operator issues each key again: a well-formed hash, and an Event naming what happened.
    for (const name of Object.keys(forged)) {
      await waitFor(async () => /^[0-9a-f]{64}$/.test((await getJson(['secret', `${name}-apikey`, '-n', E.prod]))?.metadata?.annotations?.[HASH_ANNOTATION] ?? '') || undefined, {
        what: `Secret ${name}-apikey to hold a key hash again`,
      });
      const key = await getJson(['apikey', name, '-n', E.prod]);
      const events = await getJson(['events', '-n', E.prod, '--field-selector', `involvedObject.kind=ApiKey,involvedObject.uid=${key.metadata.uid},reason=CredentialReissued`]);
      assert.equal(events.items.length, 1, `one CredentialReissued Event for ${name}`);
      assert.match(
        events.items[0].message,
        new RegExp(`^Secret "${name}-apikey" held no valid key hash \\(annotation crossgate\\.dev/key-sha256 is not 64 lower-case hex digits; it was changed by hand\\): a new key was issued into it and the one it held no longer works; key [0-9a-f]{12} written to Secret ${name}-apikey`),
      );
      assert.equal(key.status.state, 'Approved');
      await served(`/${evil}/rail/x`, await rawKeyOf(`${name}-apikey`, E.prod), `mallory's reissued key ${name} to be served`);
    }
  });

  test("2. credentials filling another organization's credential shard cost the attacker's own, never the shard", async () => {
    const { key: preyKeyRaw, shardByte: preyShardByte } = await preyKey('pk2');

    // 16 APIs of evil's own, an automatic tier each, and 6 Applications asking for all of them with 16 long endpoints each.
    const APIS = 16;
    const objects: unknown[] = [];
    for (let i = 0; i < APIS; i++) {
      objects.push({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance', metadata: { name: `a${i}`, namespace: E.prod }, spec: { assetRef: { name: 'api', namespace: E.home }, basePath: `/${evil}/a${i}`, upstream: { url: up.url } } });
      objects.push({ apiVersion: 'crossgate.dev/v1alpha1', kind: 'SlaTier', metadata: { name: `t${i}`, namespace: E.prod }, spec: { apiInstanceRef: { name: `a${i}` }, limits: [{ requests: 10, period: 'minute' }], approval: 'automatic' } });
    }
    const endpoints = Array.from({ length: 16 }, (_, e) => ({ methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], path: `/${evil}/${e}/${'p'.repeat(230)}` }));
    const APPS = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
    for (const name of APPS) {
      objects.push({
        apiVersion: 'crossgate.dev/v1alpha1', kind: 'Application', metadata: { name, namespace: E.prod },
        spec: { access: Array.from({ length: APIS }, (_, i) => ({ apiInstanceRef: { name: `a${i}` }, tier: `t${i}`, endpoints })) },
      });
    }
    const r = await applyYaml(objects.map((o) => JSON.stringify(o)).join('\n---\n'), { ...MALLORY, allowFail: true, serverSide: true });
    assert.equal(r.code, 0, r.stderr);
    for (const name of APPS) {
      await waitFor(async () => (await getJson(['application', name, '-n', E.prod]))?.status?.approved === APIS || undefined, { what: `Application ${name} approved on every entry`, timeoutMs: 60_000 });
    }
    // Each app's current and previous hash, well-formed, in prey's shard (a previous hash valid for a year).
    const inShard = () => `${preyShardByte}${randomBytes(31).toString('hex')}`;
    for (const name of APPS) {
      const a = await kubectl(
        ['annotate', 'secret', `${name}-client`, '-n', E.prod, '--overwrite', `crossgate.dev/key-sha256=${inShard()}`, `crossgate.dev/previous-key-sha256=${inShard()}`, 'crossgate.dev/previous-key-valid-until=2099-01-01T00:00:00Z'],
        { ...MALLORY, allowFail: true },
      );
      assert.equal(a.code, 0, a.stderr);
    }

    await revokedInTime('pk2', preyKeyRaw);

    // evil gives up credentials of its own, and is told so on them.
    const told = await waitFor(async () => {
      for (const name of APPS) {
        const app = await getJson(['application', name, '-n', E.prod]);
        const ev = await getJson(['events', '-n', E.prod, '--field-selector', `involvedObject.kind=Application,involvedObject.uid=${app.metadata.uid},reason=CredentialTooLarge`]);
        if (ev?.items?.length) return ev.items[0];
      }
      return undefined;
    }, { what: 'a CredentialTooLarge Event on one of mallory\'s Applications', timeoutMs: 30_000 });
    assert.equal(told.type, 'Warning');
    assert.match(
      told.message,
      new RegExp(`^the gateway config leaves out this credential \\(id ${preyShardByte}[0-9a-f]{10}\\): credential shard \\d+ is over the \\d+-byte budget of one config part, and Organization "${evil}", which takes the most of it \\(\\d+ bytes\\), gives up its largest credentials first\\. Make its access entries smaller \\(fewer endpoints, smaller ApiGroups\\) or fewer$`),
    );
  });
});
