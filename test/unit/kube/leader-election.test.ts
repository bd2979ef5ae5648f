// Leader election against an in-memory Lease store with the API server's
// optimistic concurrency (resourceVersion → 409), using short timings.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient, type LeaderElectionOptions } from '../../../kube/leader-election.ts';
import { OperatorMetrics } from '../../../kube/metrics.ts';
import { delay, eventually } from '../operator/helpers.ts';

function apiError(code: number, reason: string) {
  // Shaped like client-node 2.x's ApiException: numeric code, body as a JSON string.
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify({ kind: 'Status', code, reason }) });
}

class FakeLeases implements LeaseClient {
  lease: V1Lease | undefined;
  rv = 0;
  writes: V1Lease[] = [];
  /** While true every call fails (API server unreachable). */
  down = false;

  async readNamespacedLease(): Promise<V1Lease> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (!this.lease) throw apiError(404, 'NotFound');
    return structuredClone(this.lease);
  }
  async createNamespacedLease(p: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (this.lease) throw apiError(409, 'AlreadyExists');
    return this.#store(p.body);
  }
  async replaceNamespacedLease(p: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (!this.lease) throw apiError(404, 'NotFound');
    if (p.body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw apiError(409, 'Conflict');
    return this.#store(p.body);
  }
  #store(body: V1Lease): V1Lease {
    // What the API server would store: MicroTime serialized to its JSON string.
    const stored = JSON.parse(JSON.stringify(body)) as V1Lease;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.rv) };
    this.lease = stored;
    this.writes.push(stored);
    return structuredClone(stored);
  }
  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

const FAST = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 50 };

describe('LeaderElector', () => {
  // Every elector is stopped after each test, also when an assertion failed,
  // so no renew loop outlives its test.
  let all: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(all.map((e) => e.stop()));
    all = [];
  });

  function elector(leases: FakeLeases, identity: string, extra: Partial<LeaderElectionOptions> = {}) {
    const events: string[] = [];
    const exits: number[] = [];
    const e = new LeaderElector({
      client: leases,
      name: 'crossgate-operator',
      namespace: 'crossgate-system',
      identity,
      ...FAST,
      onStartedLeading: () => void events.push('started'),
      onStoppedLeading: () => void events.push('stopped'),
      exit: (code) => void exits.push(code),
      ...extra,
    });
    all.push(e);
    return { e, events, exits };
  }

  test('one of two candidates leads; a clean stop releases the lease and the other takes over quickly', async () => {
    const leases = new FakeLeases();
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const a = elector(leases, 'a', { metrics });
    const b = elector(leases, 'b');
    void a.e.run();
    await eventually(() => a.e.isLeader(), 'a leads');
    void b.e.run();
    await delay(150);
    assert.equal(b.e.isLeader(), false, 'b waits while a renews');
    assert.equal(leases.holder(), 'a');
    assert.equal(leases.lease?.spec?.leaseDurationSeconds, 1);
    assert.match(String(leases.lease?.spec?.renewTime), /\.\d{6}Z$/, 'MicroTime with 6 fractional digits');
    assert.ok(leases.writes.length >= 3, 'a keeps renewing');
    assert.match(await metrics.registry.metrics(), /leader_election_master_status\{name="crossgate-operator"\} 1/);

    const t = Date.now();
    await a.e.stop();
    assert.equal(a.e.isLeader(), false);
    assert.deepEqual(a.events, ['started', 'stopped']);
    assert.deepEqual(a.exits, [], 'no exit on a clean stop');
    assert.equal(leases.holder(), '', 'released');
    assert.match(await metrics.registry.metrics(), /leader_election_master_status\{name="crossgate-operator"\} 0/);
    await eventually(() => b.e.isLeader(), 'b takes over');
    assert.ok(Date.now() - t < FAST.leaseDurationMs, 'without waiting out the lease duration');
    assert.equal(leases.lease?.spec?.leaseTransitions, 1, 'one change of holder');
    await b.e.stop();
  });

  test('when the leader dies without releasing, the other takes over after the lease duration', async () => {
    const leases = new FakeLeases();
    const a = elector(leases, 'a', { releaseOnStop: false });
    const b = elector(leases, 'b');
    void a.e.run();
    await eventually(() => a.e.isLeader(), 'a leads');
    void b.e.run();
    await delay(60);
    const t = Date.now();
    await a.e.stop(); // "dies": stops renewing, leaves the lease held
    assert.equal(leases.holder(), 'a');
    await eventually(() => b.e.isLeader(), 'b takes over', 3000);
    const waited = Date.now() - t;
    assert.ok(waited >= FAST.leaseDurationMs - 100, `waited ${waited} ms for expiry`);
    assert.equal(leases.holder(), 'b');
    await b.e.stop();
  });

  test('a leader that cannot renew within renewDeadline stops leading and exits', async () => {
    const leases = new FakeLeases();
    const a = elector(leases, 'a');
    const done = a.e.run();
    await eventually(() => a.e.isLeader(), 'a leads');
    leases.down = true;
    const t = Date.now();
    await done;
    assert.equal(a.e.isLeader(), false);
    assert.ok(Date.now() - t < FAST.leaseDurationMs + 100, 'gives up before the lease could expire for others');
    assert.deepEqual(a.events, ['started', 'stopped']);
    assert.deepEqual(a.exits, [1]);
  });

  test('a leader that sees another holder stops at once', async () => {
    const leases = new FakeLeases();
    const a = elector(leases, 'a');
    const done = a.e.run();
    await eventually(() => a.e.isLeader(), 'a leads');
    // Someone (wrongly or after a long pause of ours) took the lease.
    leases.lease!.spec!.holderIdentity = 'intruder';
    leases.lease!.metadata!.resourceVersion = String(++leases.rv);
    await done;
    assert.deepEqual(a.exits, [1]);
    assert.equal(leases.holder(), 'intruder', 'does not release a lease it does not hold');
  });

  test('two candidates racing for a new lease: exactly one wins', async () => {
    const leases = new FakeLeases();
    const cands = ['a', 'b', 'c'].map((id) => elector(leases, id));
    for (const c of cands) void c.e.run();
    await eventually(() => cands.some((c) => c.e.isLeader()), 'someone leads');
    await delay(200);
    assert.equal(cands.filter((c) => c.e.isLeader()).length, 1);
    await Promise.all(cands.map((c) => c.e.stop()));
  });

  test('default identity is hostname_pid_random and timings are validated', () => {
    const leases = new FakeLeases();
    const e = new LeaderElector({ client: leases, name: 'l', namespace: 'n' }); // never run
    assert.match(e.identity, new RegExp(`_${process.pid}_[0-9a-f]{8}$`));
    assert.equal(e.leaseDurationMs, 15_000);
    assert.equal(e.renewDeadlineMs, 10_000);
    assert.equal(e.retryPeriodMs, 2_000);
    assert.throws(() => new LeaderElector({ client: leases, name: 'l', namespace: 'n', leaseDurationMs: 1000, renewDeadlineMs: 1000 }));
  });
});
