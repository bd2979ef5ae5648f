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
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
    await applyYaml(keyYaml(P.prod, 'pk'));
    await approved(P.prod, 'pk');
    const preyKey = await rawKeyOf('pk-apikey', P.prod);
    await served(`/${prey}/rail/x`, preyKey, "prey's key to be served");
    // The first byte of prey's hash decides its credential shard.
    const preyShardByte = createHash('sha256').update(preyKey).digest('hex').slice(0, 2);

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

    // prey's key still works, and its revocation reaches the gateway within 5 s (a config write or two after the forgeries).
    await new Promise((r) => setTimeout(r, 2_000));
    await served(`/${prey}/rail/x`, preyKey, "prey's key to be served");
    const t0 = Date.now();
    await kubectl(['patch', 'apikey', 'pk', '-n', P.prod, '--type=merge', '-p', '{"spec":{"revoked":true}}']);
    await waitFor(async () => (await get(`/${prey}/rail/x`, preyKey)).status === 401 || undefined, { what: "prey's revoked key refused", intervalMs: 50, timeoutMs: 10_000 });
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `revocation took ${ms} ms`);

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
});
