// The operator's informers never stall silently: dropped connections,
// half-open connections and an apiserver restart all end with the next change
// reconciled. Leader election hands over to a standby when the leader dies.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyYaml, kubectl, localOnly, operatorKubeconfig, proxyToApiserver, restartApiserver, startOperator, uniqueName, waitFor, waitForCondition,
  type RunningOperator,
} from './support/index.ts';

const orgs: string[] = [];
async function createOrg(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  orgs.push(name);
  await applyYaml(`apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${name}}
spec: {domain: ${name}, displayName: Resilience, homeNamespace: ${name}-home, environments: [{name: dev, namespace: ${name}-dev}]}
`);
  return name;
}
const ready = (name: string, timeoutMs = 30_000) => waitForCondition(['organization', name], 'Ready', 'True', { timeoutMs });

after(async () => {
  for (const o of orgs) await kubectl(['delete', 'organization', o, '--wait=false', '--ignore-not-found']);
});

describe('informers recover from broken connections', () => {
  test('dropped connections, then a half-open (silent) connection: the next change is still reconciled', async () => {
    const { proxy, kubeconfig: viaProxy } = await proxyToApiserver();
    const kubeconfig = await operatorKubeconfig({ from: viaProxy });
    const lease = uniqueName('lease');
    const op = await startOperator({
      kubeconfig,
      name: 'operator-via-proxy',
      // Leader election off: a lease renewal stuck on a half-open connection would
      // (rightly, as in controller-runtime) end the process; this test is about informers.
      env: { CROSSGATE_LEASE_NAME: lease, CROSSGATE_WATCH_SILENCE_MS: '3000', CROSSGATE_LEADER_ELECT: 'false' },
    });
    try {
      await ready(await createOrg('before-drop'));

      proxy.dropAll();
      const afterDrop = await createOrg('after-drop');
      await ready(afterDrop);

      // Half-open: connections stay up but carry nothing. Only the watchdog can notice.
      proxy.blackhole(true);
      const during = await createOrg('during-silence');
      await new Promise((r) => setTimeout(r, 4000));
      proxy.blackhole(false);
      await ready(during, 60_000);
      const restarts = op.logs().filter((l) => /restart|silent|silence/i.test(String(l['msg'])) || l['reason'] === 'silence');
      assert.ok(restarts.length > 0, 'the operator logged why its watches restarted');
    } finally {
      await op.proc.stop();
      await proxy.close();
    }
  });

  test('an apiserver restart drops every watch; the operator resumes and reconciles', { skip: localOnly }, async () => {
    const op = await startOperator({ name: 'operator-restart', env: { CROSSGATE_LEASE_NAME: uniqueName('lease') } });
    try {
      await ready(await createOrg('before-restart'));
      await restartApiserver();
      const afterRestart = await createOrg('after-restart');
      await ready(afterRestart, 60_000);
    } finally {
      await op.proc.stop();
    }
  });
});

describe('leader election', () => {
  test('two operators: one leads, the other takes over when the leader dies', async () => {
    const lease = uniqueName('lease');
    const env = {
      CROSSGATE_LEASE_NAME: lease,
      CROSSGATE_LEASE_DURATION_MS: '4000',
      CROSSGATE_RENEW_DEADLINE_MS: '3000',
      CROSSGATE_RETRY_PERIOD_MS: '500',
    };
    const first = await startOperator({ name: 'operator-a', env });
    let second: RunningOperator | undefined;
    try {
      second = await startOperator({ name: 'operator-b', env, waitForLeader: false });
      await second.proc.waitForLine(/observed leader|new leader observed/, { timeoutMs: 20_000 });
      assert.ok(!second.proc.lines.some((l) => /became leader/.test(l)), 'the standby does not lead while the leader lives');
      const lease1 = JSON.parse((await kubectl(['get', 'lease', lease, '-n', 'crossgate-system', '-o', 'json'])).stdout);
      assert.match(lease1.spec.holderIdentity, new RegExp(`_${first.proc.pid}_`));

      await ready(await createOrg('led-by-a'));

      // SIGKILL: no lease release; the standby must wait for expiry and take over.
      await first.proc.stop('SIGKILL');
      await second.proc.waitForLine(/became leader/, { timeoutMs: 30_000 });
      await ready(await createOrg('led-by-b'));
      const lease2 = JSON.parse((await kubectl(['get', 'lease', lease, '-n', 'crossgate-system', '-o', 'json'])).stdout);
      assert.match(lease2.spec.holderIdentity, new RegExp(`_${second.proc.pid}_`));
    } finally {
      await first.proc.stop();
      await second?.proc.stop();
    }
  });
});

describe('metrics and probes', () => {
  test('/healthz, /readyz and controller-runtime metric names', async () => {
    const op = await startOperator({ name: 'operator-metrics', env: { CROSSGATE_LEASE_NAME: uniqueName('lease') } });
    try {
      await ready(await createOrg('metrics'));
      assert.equal((await fetch(`${op.healthUrl}/healthz`)).status, 200);
      await waitFor(async () => (await fetch(`${op.healthUrl}/readyz`)).status === 200, { what: 'readyz' });
      const text = await (await fetch(`${op.healthUrl}/metrics`)).text();
      assert.match(text, /controller_runtime_reconcile_total\{controller="organization",result="success"\} [1-9]/);
      assert.match(text, /controller_runtime_reconcile_time_seconds_bucket\{le="[0-9.]+",controller="organization"\}/);
      assert.match(text, /workqueue_depth\{name="organization"\} \d/);
      assert.match(text, /leader_election_master_status\{name="crossgate-operator|leader_election_master_status\{name="lease/);
    } finally {
      await op.proc.stop();
    }
  });
});
