// Promotion between environments (issue 18, part 1), end to end: the sandbox
// Baggage API of examples/max-airlines promoted to production by
// 70-apipromotion-baggage-prod.yaml, written by Max Airlines' admin
// (impersonated: a user in its adminGroups, nothing more). Copies with
// policies bound by targetRef and no keys or contracts; a sandbox change
// reaches production only with the next promotion; a name taken in production
// blocks the promotion and nothing is overwritten; another organization's admin
// cannot promote Max Airlines' instance into its own namespace, refused at
// admission and, with the webhook out of the way, by the operator; a deleted
// source leaves the copies and says so; deletionPolicy Delete removes them; a
// copy the target would refuse (a path of another organization, a metadata
// address) is refused at admission and, without the webhook, the operator
// writes nothing at all (no policy, tier or alert before a missing instance).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, condition, ex, getJson, kubectl, organizationYaml, SkippableWebhook, startOperator, uniqueName, waitFor, waitForCondition,
  type RunningOperator,
} from './support/index.ts';
import { LABEL_PROMOTION } from '../../api/labels.ts';

const SBX = 'max-airlines-sandbox';
const PROD = 'max-airlines-prod';
const MAX_ADMIN = { as: 'max-admin', groups: ['max-airlines:admins'] };
const rogue = uniqueName('rogue');
const R = { home: `${rogue}-home`, prod: `${rogue}-prod` };
const MALLORY = { as: 'mallory', groups: [`${rogue}:admins`] };
const COPIED = 'apiinstances,policies,slatiers,alerts';

/** Applies as `who` until admission agrees (the webhook's cache may trail what was applied just before); returns kubectl's last answer. */
async function applyAs(who: { as: string; groups: string[] }, fileOrYaml: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const r = await applyYaml(fileOrYaml, { ...who, allowFail: true });
      last = r.stderr.trim();
      return r.code === 0;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `apply ${fileOrYaml.slice(0, 80)}` },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; kubectl said: ${last}`);
  });
}

const promotionYaml = (namespace: string, source: { namespace: string; name: string }, name = 'baggage') => `apiVersion: crossgate.dev/v1alpha1
kind: ApiPromotion
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  source: {namespace: ${source.namespace}, name: ${source.name}}
`;

const names = async (kinds: string, namespace: string, selector?: string) =>
  (await kubectl(['get', kinds, '-n', namespace, '-o', 'name', ...(selector ? ['-l', selector] : [])])).stdout.trim().split('\n').filter(Boolean).sort();

describe('ApiPromotion: sandbox to production', () => {
  let webhook: SkippableWebhook;
  let op: RunningOperator;

  before(async () => {
    webhook = new SkippableWebhook();
    await webhook.start();
    op = await startOperator();
    await applyYaml(ex('max-airlines', '00-organization.yaml'));
    await applyYaml(organizationYaml({ name: rogue, homeNamespace: R.home, environments: [{ namespace: R.prod }], routes: '{pathPrefixes: ["/rogue"]}' }));
    await waitForCondition(['organization', 'max-airlines'], 'Ready', 'True', { timeoutMs: 60_000 });
    await waitForCondition(['organization', rogue], 'Ready', 'True', { timeoutMs: 60_000 });
    await applyYaml(ex('max-airlines', '22-asset-baggage-eapi.yaml'));
    for (const f of ['60-sandbox-apiinstance-baggage.yaml', '61-sandbox-policies-baggage.yaml', '62-sandbox-slatiers-baggage.yaml', '63-sandbox-alert-baggage.yaml']) {
      await applyAs(MAX_ADMIN, ex('max-airlines', f));
    }
  });

  after(async () => {
    await kubectl(['delete', 'apipromotions', '--all', '-n', PROD, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'apipromotions', '--all', '-n', R.prod, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    for (const ns of [PROD, R.prod]) await kubectl(['delete', COPIED, '--all', '-n', ns, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', COPIED, '--all', '-n', SBX, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', 'organization', rogue, '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await kubectl(['delete', '-f', ex('max-airlines'), '--ignore-not-found', '--timeout=60s'], { allowFail: true });
    await op?.proc.stop();
    await webhook?.stop();
  });

  test('promoting copies the instance with its overrides, its policies bound by targetRef, tiers and alert; no keys or contracts', async () => {
    await applyAs(MAX_ADMIN, ex('max-airlines', '70-apipromotion-baggage-prod.yaml'));
    const p = await waitForCondition(['apipromotion', 'baggage', '-n', PROD], 'Ready', 'True', { reason: 'Promoted', timeoutMs: 60_000 });
    assert.equal(p.status.state, 'Promoted');
    assert.equal(p.status.copiedCount, 6);
    assert.equal(p.status.sourceGeneration, 1);
    assert.equal(condition(p, 'UpToDate')?.status, 'True');
    assert.deepEqual(
      p.status.copied.map((c: { kind: string; name: string; source: string; action: string }) => `${c.kind}/${c.name}<-${c.source}:${c.action}`).sort(),
      [
        'Alert/baggage-server-errors<-baggage-server-errors:Created',
        'ApiInstance/baggage<-baggage:Created',
        'Policy/baggage-api-key<-baggage-api-key:Created',
        'Policy/public-cors-baggage<-public-cors:Created',
        'SlaTier/baggage-gold<-baggage-gold:Created',
        'SlaTier/baggage-platinum<-baggage-platinum:Created',
      ],
    );

    const instance = await getJson(['apiinstance', 'baggage', '-n', PROD]);
    assert.equal(instance.spec.basePath, '/flights/baggage/v1');
    assert.deepEqual(instance.spec.upstream, { url: 'http://baggage.max-airlines-prod.svc.cluster.local:8080', timeoutSeconds: 10 });
    assert.equal(instance.metadata.labels[LABEL_PROMOTION], 'baggage');
    assert.equal(instance.metadata.annotations['crossgate.dev/promoted-from'], `${SBX}/baggage`);
    assert.equal(instance.metadata.annotations['crossgate.dev/promoted-source-generation'], '1');
    // The sandbox instance is untouched.
    assert.equal((await getJson(['apiinstance', 'baggage', '-n', SBX])).spec.basePath, '/flights/sandbox/baggage/v1');

    const cors = await getJson(['policy', 'public-cors-baggage', '-n', PROD]);
    assert.deepEqual(cors.spec.targetRef, { name: 'baggage' });
    assert.equal(cors.spec.selector, undefined, 'the automated policy is bound to the copy, its selector dropped');
    assert.deepEqual((await getJson(['policy', 'baggage-api-key', '-n', PROD])).spec.targetRef, { name: 'baggage' });
    assert.deepEqual((await getJson(['slatier', 'baggage-gold', '-n', PROD])).spec.limits, [{ requests: 600, period: 'minute' }]);

    // Bound by targetRef: another public instance of production is not selected by the copy.
    await applyAs(MAX_ADMIN, `apiVersion: crossgate.dev/v1alpha1
kind: ApiInstance
metadata: {name: lounges, namespace: ${PROD}, labels: {exposure: public}}
spec:
  assetRef: {name: baggage-eapi, namespace: max-airlines}
  basePath: /flights/lounges/v1
  upstream: {url: "http://lounges.${PROD}.svc.cluster.local:8080"}
`);
    await waitFor(async () => JSON.stringify((await getJson(['policy', 'public-cors-baggage', '-n', PROD]))?.status?.appliedTo) === '["baggage"]', {
      what: 'the copied CORS policy applied to the copy only',
    });
    // Never keys, contracts or applications.
    assert.deepEqual(await names('apikeys,contracts,applications', PROD), []);

    const table = (await kubectl(['get', 'apipromotions', '-n', PROD])).stdout;
    assert.match(table, /^NAME\s+SOURCE NS\s+SOURCE\s+STATE\s+COPIED\s+READY\s+REASON\s+AGE$/m);
    assert.match(table, /^baggage\s+max-airlines-sandbox\s+baggage\s+Promoted\s+6\s+True\s+Promoted\s/m);
  });

  test('a sandbox change reaches production only with the next promotion (spec.revision)', async () => {
    await kubectl(['patch', 'slatier', 'baggage-gold', '-n', SBX, '--type=merge', '-p', '{"spec":{"limits":[{"requests":900,"period":"minute"}]}}'], MAX_ADMIN);
    await kubectl(['patch', 'apiinstance', 'baggage', '-n', SBX, '--type=merge', '-p', '{"spec":{"upstream":{"timeoutSeconds":20}}}'], MAX_ADMIN);
    const moved = await waitForCondition(['apipromotion', 'baggage', '-n', PROD], 'UpToDate', 'False', { reason: 'SourceChanged' });
    assert.equal(condition(moved, 'UpToDate')?.message, 'the source is at generation 2, the copies are from generation 1: raise spec.revision to promote again');
    assert.deepEqual((await getJson(['slatier', 'baggage-gold', '-n', PROD])).spec.limits, [{ requests: 600, period: 'minute' }], 'production waits for the promotion');

    await kubectl(['patch', 'apipromotion', 'baggage', '-n', PROD, '--type=merge', '-p', '{"spec":{"revision":2}}'], MAX_ADMIN);
    const p = await waitFor(async () => {
      const o = await getJson(['apipromotion', 'baggage', '-n', PROD]);
      return o?.status?.sourceGeneration === 2 && condition(o, 'UpToDate')?.status === 'True' ? o : undefined;
    }, { what: 'the second promotion' });
    assert.equal(condition(p, 'Ready')?.message, `6 object(s) copied from ApiInstance ${SBX}/baggage at generation 2`);
    const gold = p.status.copied.find((c: { name: string }) => c.name === 'baggage-gold');
    assert.equal(gold.action, 'Updated');
    const tier = await getJson(['slatier', 'baggage-gold', '-n', PROD]);
    assert.deepEqual(tier.spec.limits, [{ requests: 900, period: 'minute' }]);
    assert.equal(tier.metadata.annotations['crossgate.dev/promoted-source-generation'], '2');
    // The override still wins over the source's upstream.
    assert.deepEqual((await getJson(['apiinstance', 'baggage', '-n', PROD])).spec.upstream, { url: 'http://baggage.max-airlines-prod.svc.cluster.local:8080', timeoutSeconds: 10 });
  });

  test('a name taken in production by an object the promotion did not make blocks it: a condition names it, nothing is overwritten', async () => {
    // Production's own tier of the lounges instance, and a sandbox tier of the same name on baggage.
    const silver = (namespace: string, instance: string, requests: number) => `apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: baggage-silver, namespace: ${namespace}}
spec:
  apiInstanceRef: {name: ${instance}}
  limits: [{requests: ${requests}, period: minute}]
  approval: automatic
`;
    await applyAs(MAX_ADMIN, silver(PROD, 'lounges', 5));
    await applyAs(MAX_ADMIN, silver(SBX, 'baggage', 300));
    await kubectl(['patch', 'alert', 'baggage-server-errors', '-n', SBX, '--type=merge', '-p', '{"spec":{"condition":{"threshold":20}}}'], MAX_ADMIN);
    await kubectl(['patch', 'apipromotion', 'baggage', '-n', PROD, '--type=merge', '-p', '{"spec":{"revision":3}}'], MAX_ADMIN);
    const p = await waitForCondition(['apipromotion', 'baggage', '-n', PROD], 'Ready', 'False', { reason: 'NameTaken' });
    assert.equal(p.status.state, 'Blocked');
    assert.equal(
      condition(p, 'Ready')?.message,
      'SlaTier "baggage-silver" already exist(s) in this namespace and were not made by this promotion; nothing is overwritten and nothing is copied: rename or delete them',
    );
    const theirs = await getJson(['slatier', 'baggage-silver', '-n', PROD]);
    assert.deepEqual(theirs.spec.apiInstanceRef, { name: 'lounges' });
    assert.equal(theirs.metadata.labels?.[LABEL_PROMOTION], undefined);
    assert.equal((await getJson(['alert', 'baggage-server-errors', '-n', PROD])).spec.condition.threshold, 10, 'nothing half-copied');
    assert.match((await kubectl(['get', 'apipromotions', '-n', PROD])).stdout, /^baggage\s+max-airlines-sandbox\s+baggage\s+Blocked\s+6\s+False\s+NameTaken\s/m);

    // Once the name is free, the same promotion goes through (level-triggered: no new revision needed).
    await kubectl(['delete', 'slatier', 'baggage-silver', '-n', PROD], MAX_ADMIN);
    const done = await waitForCondition(['apipromotion', 'baggage', '-n', PROD], 'Ready', 'True', { reason: 'Promoted' });
    assert.equal(done.status.copiedCount, 7);
    assert.equal((await getJson(['slatier', 'baggage-silver', '-n', PROD])).metadata.labels[LABEL_PROMOTION], 'baggage');
    assert.equal((await getJson(['alert', 'baggage-server-errors', '-n', PROD])).spec.condition.threshold, 20);
  });

  test("another organization's admin cannot promote Max Airlines' instance into its own namespace: refused at admission, and by the operator without the webhook", async () => {
    const attack = promotionYaml(R.prod, { namespace: SBX, name: 'baggage' }, 'stolen');
    const r = await applyYaml(attack, { ...MALLORY, allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(
        `denied the request: ApiPromotion "stolen": spec.source.namespace "${SBX}" belongs to Organization "max-airlines", but this ApiPromotion is in "${R.prod}" of Organization "${rogue}": ` +
          `a promotion copies only between environments of one organization; Organization "${rogue}" has no other environment`,
      ),
    );
    // And Max Airlines' admin cannot push into the other organization's namespace at all (RBAC), nor can a cluster admin (admission).
    const push = await applyYaml(promotionYaml(R.prod, { namespace: SBX, name: 'baggage' }, 'pushed'), { ...MAX_ADMIN, allowFail: true });
    assert.match(push.stderr, /forbidden/i);

    await webhook.without(async () => {
      await applyAs(MALLORY, attack);
      const p = await waitForCondition(['apipromotion', 'stolen', '-n', R.prod], 'Ready', 'False', { reason: 'CrossOrganization' });
      assert.equal(p.status.state, 'Refused');
      assert.match(condition(p, 'Ready')!.message, new RegExp(`belongs to Organization "max-airlines", but this ApiPromotion is in "${R.prod}" of Organization "${rogue}".*; nothing is copied$`));
      assert.deepEqual(await names(COPIED, R.prod), [], "nothing of Max Airlines' is copied");
    });
    assert.match((await kubectl(['get', 'apipromotions', '-n', R.prod])).stdout, /^stolen\s+max-airlines-sandbox\s+baggage\s+Refused\s+False\s+CrossOrganization\s/m);
    assert.deepEqual(await names(COPIED, R.prod), []);
  });

  test("a copy the target would refuse (another organization's path, a metadata address) is refused at admission; without the webhook the operator writes nothing at all and says why; a missing source says so", async () => {
    // Production's own lounges instance, with a tier, a policy and an alert, promoted back to the sandbox.
    await applyAs(MAX_ADMIN, `apiVersion: crossgate.dev/v1alpha1
kind: SlaTier
metadata: {name: lounges-gold, namespace: ${PROD}}
spec:
  apiInstanceRef: {name: lounges}
  limits: [{requests: 60, period: minute}]
  approval: automatic
---
apiVersion: crossgate.dev/v1alpha1
kind: Policy
metadata: {name: lounges-api-key, namespace: ${PROD}}
spec:
  type: api-key
  targetRef: {name: lounges}
  config: {header: x-api-key}
---
apiVersion: crossgate.dev/v1alpha1
kind: Alert
metadata: {name: lounges-errors, namespace: ${PROD}}
spec: {apiInstanceRef: {name: lounges}, severity: warning, condition: {type: response-codes, statusCodes: [500], threshold: 5, periodSeconds: 60}}
`);
    // Max Airlines' admin aims the copy at the path the other organization holds.
    const stealPath = `${promotionYaml(SBX, { namespace: PROD, name: 'lounges' }, 'lounges')}  overrides: {basePath: /rogue/v1}
`;
    const refusedAt = await applyYaml(stealPath, { ...MAX_ADMIN, allowFail: true });
    assert.notEqual(refusedAt.code, 0);
    assert.match(
      refusedAt.stderr,
      new RegExp(
        `denied the request: ApiPromotion "lounges": it would create ApiInstance "lounges" in "${SBX}" with spec.basePath set by spec.overrides.basePath, which its admission refuses: ` +
          'spec.basePath "/rogue/v1" on the gateway\'s shared host \\(no spec.hostnames\\) is outside the route space of Organization "max-airlines": it claims path prefixes "/flights"',
      ),
    );
    const metadata = await applyYaml(`${promotionYaml(SBX, { namespace: PROD, name: 'lounges' }, 'lounges')}  overrides: {basePath: /flights/lounges/sbx/v1, upstream: {url: "http://169.254.169.254/latest"}}
`, { ...MAX_ADMIN, allowFail: true });
    assert.match(
      metadata.stderr,
      /denied the request: ApiPromotion "lounges": it would create ApiInstance "lounges" in "max-airlines-sandbox" with spec.upstream.url set by spec.overrides.upstream.url, which its admission refuses: spec.upstream.url names host "169.254.169.254"/,
    );
    assert.equal(await getJson(['apipromotion', 'lounges', '-n', SBX]), undefined);

    await webhook.without(async () => {
      await applyAs(MAX_ADMIN, stealPath);
      const p = await waitForCondition(['apipromotion', 'lounges', '-n', SBX], 'Ready', 'False', { reason: 'CopyWouldBeRefused' });
      assert.equal(p.status.state, 'Blocked');
      assert.match(
        condition(p, 'Ready')!.message,
        new RegExp(`^it would create ApiInstance "lounges" in "${SBX}" with spec.basePath set by spec.overrides.basePath, which its admission refuses: spec.basePath "/rogue/v1" .*; nothing is copied$`),
      );
      // Nothing half-copied: no policy, tier or alert before an instance that never comes.
      assert.deepEqual(await names(COPIED, SBX, `${LABEL_PROMOTION}=lounges`), []);
      for (const [kind, n] of [['slatier', 'lounges-gold'], ['policy', 'lounges-api-key'], ['alert', 'lounges-errors'], ['apiinstance', 'lounges']]) {
        assert.equal(await getJson([kind!, n!, '-n', SBX]), undefined, `${kind} ${n} is not copied`);
      }
    });
    assert.match((await kubectl(['get', 'apipromotions', '-n', SBX])).stdout, /^lounges\s+max-airlines-prod\s+lounges\s+Blocked\s+False\s+CopyWouldBeRefused\s/m);
    assert.deepEqual(await names(COPIED, SBX, `${LABEL_PROMOTION}=lounges`), []);

    await applyAs(MAX_ADMIN, promotionYaml(SBX, { namespace: PROD, name: 'not-there' }, 'ghost'));
    const ghost = await waitForCondition(['apipromotion', 'ghost', '-n', SBX], 'Ready', 'False', { reason: 'SourceNotFound' });
    assert.equal(condition(ghost, 'Ready')?.message, `ApiInstance ${PROD}/not-there does not exist (yet); nothing is copied`);
    assert.equal(ghost.status.state, 'SourceNotFound');
    await kubectl(['delete', 'apipromotion', 'lounges', 'ghost', '-n', SBX], MAX_ADMIN);
  });

  test('deleting the source leaves the copies and says so; with deletionPolicy Delete, deleting the promotion removes them', async () => {
    const before = await names(COPIED, PROD, `${LABEL_PROMOTION}=baggage`);
    assert.equal(before.length, 7);
    await kubectl(['delete', 'apiinstance', 'baggage', '-n', SBX], MAX_ADMIN);
    const p = await waitForCondition(['apipromotion', 'baggage', '-n', PROD], 'Ready', 'False', { reason: 'SourceDeleted' });
    assert.equal(p.status.state, 'SourceDeleted');
    assert.equal(
      condition(p, 'Ready')?.message,
      `ApiInstance ${SBX}/baggage was deleted; the 7 copies made from its generation 2 stay (delete them, or this promotion with spec.deletionPolicy Delete)`,
    );
    assert.equal(condition(p, 'UpToDate'), undefined);
    assert.deepEqual(await names(COPIED, PROD, `${LABEL_PROMOTION}=baggage`), before);

    await kubectl(['patch', 'apipromotion', 'baggage', '-n', PROD, '--type=merge', '-p', '{"spec":{"deletionPolicy":"Delete"}}'], MAX_ADMIN);
    await waitFor(async () => (await getJson(['apipromotion', 'baggage', '-n', PROD]))?.metadata?.finalizers?.includes('crossgate.dev/apipromotion-cleanup'), { what: 'the cleanup finalizer' });
    await kubectl(['delete', 'apipromotion', 'baggage', '-n', PROD, '--timeout=60s'], MAX_ADMIN);
    assert.deepEqual(await names(COPIED, PROD, `${LABEL_PROMOTION}=baggage`), []);
    assert.deepEqual(await names('apiinstances', PROD), ['apiinstance.crossgate.dev/lounges'], 'what the promotion did not make stays');
  });
});
