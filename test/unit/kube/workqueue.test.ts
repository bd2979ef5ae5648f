import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  NamespaceFairBucketRateLimiter,
  WorkQueue,
  defaultControllerRateLimiter,
  type WorkQueueMetrics,
} from '../../../kube/workqueue.ts';
import { delay } from '../operator/helpers.ts';

function countingMetrics() {
  const m = { adds: 0, retries: 0, depth: 0, latencies: 0, works: 0 };
  const hooks: WorkQueueMetrics = {
    add: () => void m.adds++,
    retry: () => void m.retries++,
    depth: (n) => void (m.depth = n),
    queueLatency: () => void m.latencies++,
    workDuration: () => void m.works++,
  };
  return { m, hooks };
}

describe('WorkQueue', () => {
  test("attacker: 5000 waiting keys of one namespace delay another namespace's key by one, not 5000", async () => {
    const q = new WorkQueue({ name: 't' });
    for (let i = 0; i < 5000; i++) q.add(`mallory-prod/p${i}`);
    q.add('max-prod/flights');
    q.add('cluster-scoped');
    // Before: a single FIFO handed out all 5000 of mallory's keys first.
    const firstFour = [await q.get(), await q.get(), await q.get(), await q.get()];
    assert.deepEqual(firstFour, ['mallory-prod/p0', 'max-prod/flights', 'cluster-scoped', 'mallory-prod/p1']);
    for (const k of firstFour) q.done(k!);
    // A storm: mallory re-adds each key as soon as it is done; the victim's next key still waits for one of hers.
    for (let i = 0; i < 100; i++) q.add(`mallory-prod/p${i}`);
    q.add('max-prod/flights');
    const next = [await q.get(), await q.get()];
    assert.deepEqual(next, ['mallory-prod/p2', 'max-prod/flights']);
    // p0 and p1 were done, so re-added at the end of mallory's lane; p2…p99 were still waiting.
    assert.equal(q.len(), 4999);
    // Within a namespace the order stays FIFO.
    const rest: string[] = [];
    while (q.len() > 0) rest.push((await q.get())!);
    assert.deepEqual(rest, [...Array.from({ length: 4997 }, (_, i) => `mallory-prod/p${i + 3}`), 'mallory-prod/p0', 'mallory-prod/p1']);
    q.shutDown();
  });

  test('de-duplicates keys waiting in the queue', async () => {
    const { m, hooks } = countingMetrics();
    const q = new WorkQueue({ name: 't', metrics: hooks });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(m.adds, 2, 'duplicates are not counted as adds');
    assert.equal(m.depth, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
    assert.equal(m.depth, 0);
    assert.equal(m.latencies, 2);
    q.shutDown();
  });

  test('a key is never handed to two workers; re-added while processing → processed again after done', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a'); // arrives while "a" is being processed
    assert.equal(q.len(), 0, 'not queued while processing');
    let second: string | undefined;
    const waiting = q.get().then((k) => (second = k));
    await delay(10);
    assert.equal(second, undefined, 'second worker does not get "a" concurrently');
    q.add('a'); // still de-duplicated (dirty)
    q.done('a');
    await waiting;
    assert.equal(second, 'a', 'processed again after done');
    q.done('a');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  test('concurrent workers never overlap on a key', async () => {
    const q = new WorkQueue({ name: 't' });
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        await delay(1);
        active.delete(k);
        processed++;
        q.done(k);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let round = 0; round < 20; round++) {
      for (const k of ['a', 'b', 'c']) q.add(k);
      await delay(0);
    }
    while (q.len() > 0 || q.processingCount() > 0) await delay(2);
    await q.shutDownWithDrain();
    await Promise.all(workers);
    assert.equal(overlaps, 0);
    assert.ok(processed >= 3 && processed <= 60);
  });

  test('addAfter delays, and keeps the earliest deadline for a key', async () => {
    const q = new WorkQueue({ name: 't' });
    const t0 = Date.now();
    q.addAfter('a', 40);
    q.addAfter('a', 500); // later: ignored
    assert.equal(q.len(), 0);
    assert.equal(q.delayedCount(), 1);
    assert.equal(await q.get(), 'a');
    const waited = Date.now() - t0;
    assert.ok(waited >= 35 && waited < 400, `waited ${waited} ms`);
    q.done('a');

    q.addAfter('b', 500);
    q.addAfter('b', 20); // earlier: replaces
    const t1 = Date.now();
    assert.equal(await q.get(), 'b');
    assert.ok(Date.now() - t1 < 400);
    q.done('b');
    q.addAfter('c', 0); // non-positive → immediate
    assert.equal(q.len(), 1);
    q.shutDown();
  });

  test('addRateLimited backs off per key; forget resets; numRequeues counts', async () => {
    const { m, hooks } = countingMetrics();
    const q = new WorkQueue({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000), metrics: hooks });
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.numRequeues('a'), 2);
    assert.equal(m.retries, 2);
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    assert.equal(q.numRequeues('never'), 0);
    q.shutDown();
  });

  test('shutDown wakes waiting getters with undefined and ignores later adds', async () => {
    const q = new WorkQueue({ name: 't' });
    const pending = [q.get(), q.get()];
    q.addAfter('later', 10_000); // a timer that shutDown must clear
    q.shutDown();
    assert.deepEqual(await Promise.all(pending), [undefined, undefined]);
    q.add('x');
    q.addAfter('y', 1);
    q.addRateLimited('z');
    assert.equal(q.len(), 0);
    assert.equal(q.delayedCount(), 0);
    assert.equal(await q.get(), undefined);
    assert.equal(q.isShuttingDown(), true);
  });

  test('shutDownWithDrain waits for in-flight keys and drops queued ones', async () => {
    const { m, hooks } = countingMetrics();
    const q = new WorkQueue({ name: 't', metrics: hooks });
    q.add('busy');
    q.add('queued');
    const k = await q.get();
    assert.equal(k, 'busy');
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    await delay(10);
    assert.equal(drained, false, 'still processing');
    assert.equal(q.len(), 0, 'queued keys dropped');
    q.done('busy');
    await drain;
    assert.equal(drained, true);
    assert.equal(m.works, 1);
    assert.equal(await q.get(), undefined);
  });

  test('shutDownWithDrain gives up after its timeout', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('stuck');
    await q.get();
    const t = Date.now();
    await q.shutDownWithDrain(30);
    assert.ok(Date.now() - t < 500);
  });

  test('in-flight seconds for the unfinished-work gauges', async () => {
    let now = 1000;
    const q = new WorkQueue({ name: 't', now: () => now });
    q.add('a');
    q.add('b');
    await q.get();
    now += 2000;
    await q.get();
    now += 1000;
    const s = q.inFlightSeconds();
    assert.equal(s.longest, 3);
    assert.equal(s.unfinished, 4);
    q.shutDown();
  });
});

describe('rate limiters', () => {
  test('exponential: 5 ms doubling per failure, capped at 1000 s, per key', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    const seen = Array.from({ length: 5 }, () => rl.when('a'));
    assert.deepEqual(seen, [5, 10, 20, 40, 80]);
    assert.equal(rl.when('b'), 5, 'keys are independent');
    for (let i = 0; i < 30; i++) rl.when('a');
    assert.equal(rl.when('a'), 1_000_000, 'capped at 1000 s');
    for (let i = 0; i < 2000; i++) rl.when('a');
    assert.equal(rl.when('a'), 1_000_000, 'no overflow to Infinity/NaN');
    assert.equal(rl.numRequeues('a'), 2037);
    rl.forget('a');
    assert.equal(rl.when('a'), 5);
  });

  test('bucket: burst passes, then qps spacing', () => {
    let now = 0;
    const rl = new BucketRateLimiter(10, 3, () => now);
    assert.deepEqual([rl.when('a'), rl.when('b'), rl.when('c')], [0, 0, 0]);
    assert.equal(rl.when('d'), 100);
    assert.equal(rl.when('e'), 200);
    now = 1000; // refill
    assert.equal(rl.when('f'), 0);
  });

  test('max-of and the controller default', () => {
    const rl = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1000), new ItemExponentialFailureRateLimiter(1, 10));
    assert.equal(rl.when('a'), 5);
    assert.equal(rl.when('a'), 10);
    assert.equal(rl.numRequeues('a'), 2);
    rl.forget('a');
    assert.equal(rl.numRequeues('a'), 0);
    const d = defaultControllerRateLimiter();
    assert.equal(d.when('x'), 5);
    assert.equal(d.when('x'), 10);
  });

  test("attacker: 10,000 failures in one namespace leave another namespace's first retry at its own back-off", () => {
    const d = defaultControllerRateLimiter();
    for (let i = 0; i < 10_000; i++) d.when(`mallory-prod/p${i}`);
    // Before: one overall bucket (10 qps, burst 100), 9,900 tokens in debt: the victim's retry waited ~990 s.
    assert.equal(d.when('max-prod/flights'), 5);
    // The attacker's own keys wait behind its own namespace's bucket.
    assert.ok(d.when('mallory-prod/next') > 900_000);
  });

  test('NamespaceFairBucketRateLimiter: each namespace its burst and rate, within the overall bucket; full buckets are dropped', () => {
    let now = 0;
    const rl = new NamespaceFairBucketRateLimiter({ qps: 10, burst: 2, overallQps: 10, overallBurst: 3, now: () => now });
    assert.equal(rl.when('a/1'), 0);
    assert.equal(rl.when('a/2'), 0);
    assert.equal(rl.when('a/3'), 100, "a's own bucket: 1 token in debt at 10 qps");
    assert.equal(rl.when('b/1'), 0, 'the overall bucket was charged only twice by a');
    assert.equal(rl.when('b/2'), 100, 'now the overall bucket (every namespace at once) is in debt');
    assert.equal(rl.laneCount(), 2);
    now = 10_000;
    for (let i = 0; i < 1024; i++) rl.when(`n${i}/x`);
    assert.ok(rl.laneCount() <= 1024, `${rl.laneCount()} buckets`);
  });
});
