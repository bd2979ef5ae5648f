// The day figures' wire format: latency buckets, histograms that sum across
// replicas, the client cap, and the replicas' answers summed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BOUNDS_MS, OTHER_CLIENTS, addHistogram, capClients, latencyBucket, mergeApiDays, mergeDays, percentileMs, type Histogram } from '../../../api/analytics.ts';

const hist = (samplesMs: number[]): Histogram => {
  const h: Histogram = {};
  for (const ms of samplesMs) h[latencyBucket(ms)] = (h[latencyBucket(ms)] ?? 0) + 1;
  return h;
};

describe('latency histogram', () => {
  test('bounds rise by 1.25 from 0.1 ms to about two minutes; a duration falls in the first bucket whose bound is not below it', () => {
    assert.equal(LATENCY_BOUNDS_MS[0], 0.1);
    assert.ok(LATENCY_BOUNDS_MS.at(-1)! > 120_000);
    for (let i = 1; i < LATENCY_BOUNDS_MS.length; i++) assert.ok(LATENCY_BOUNDS_MS[i]! > LATENCY_BOUNDS_MS[i - 1]!);
    assert.equal(latencyBucket(0), 0);
    assert.equal(latencyBucket(0.1), 0);
    for (const ms of [0.11, 1, 3.3, 10, 57, 250, 999, 30_000]) {
      const i = latencyBucket(ms);
      assert.ok(LATENCY_BOUNDS_MS[i]! >= ms && (i === 0 || LATENCY_BOUNDS_MS[i - 1]! < ms), `${ms} ms in bucket ${i}`);
    }
    assert.equal(latencyBucket(10 * 60_000), LATENCY_BOUNDS_MS.length, 'past the last bound: the overflow bucket');
  });

  test('percentiles come from the summed histogram (upper bound of the bucket), never from averaging per-replica percentiles', () => {
    // Replica A: 99 fast requests; replica B: 1 fast, 1 slow. Averaging their p99s would say ~half a second.
    const a = hist(Array(99).fill(2));
    const b = hist([2, 800]);
    const sum = addHistogram(addHistogram({}, a), b);
    assert.equal(Object.values(sum).reduce((x, y) => x + y, 0), 101);
    assert.equal(percentileMs(sum, 0.5), LATENCY_BOUNDS_MS[latencyBucket(2)]);
    assert.equal(percentileMs(sum, 0.99), LATENCY_BOUNDS_MS[latencyBucket(2)], '100 of 101 requests are fast: p99 is fast');
    assert.equal(percentileMs(sum, 1), LATENCY_BOUNDS_MS[latencyBucket(800)]);
    assert.ok(percentileMs(sum, 0.5) / 2 <= 1.25, 'within 25 % of the true value');
    assert.equal(percentileMs({}, 0.99), 0);
    assert.equal(percentileMs({ [LATENCY_BOUNDS_MS.length]: 3 }, 0.5), LATENCY_BOUNDS_MS.at(-1), 'overflow reads as the last bound');
  });

  test('merging ignores what is not a bucket index or a count (a replica answering garbage)', () => {
    assert.deepEqual(addHistogram({ '3': 1 }, { '3': 2, x: 5, '-1': 4, '9999': 1, '4': -2, '5': Number.NaN } as Histogram), { '3': 3 });
  });
});

describe('clients', () => {
  test('capClients keeps the busiest and folds the rest, "_other" included, into one "_other" of at most max entries', () => {
    const c = (requests: number, errors = 0) => ({ requests, errors, latency: { '10': requests } });
    const out = capClients({ 'a/1': c(5), 'a/2': c(9, 1), 'a/3': c(1, 1), [OTHER_CLIENTS]: c(2), '-': c(3) }, 3);
    assert.deepEqual(Object.keys(out).sort(), [OTHER_CLIENTS, 'a/1', 'a/2']);
    assert.deepEqual(out[OTHER_CLIENTS], { requests: 6, errors: 1, latency: { '10': 6 } }, '"-", a/3 and the old _other');
    assert.deepEqual(capClients({ 'a/1': c(1) }, 3), { 'a/1': c(1) }, 'under the cap: as is');
  });

  test('mergeApiDays sums replicas and re-caps clients after summing (a client small on each replica may be big in total)', () => {
    const r1 = { requests: 10, clientErrors: 1, serverErrors: 0, lastRequest: 1000, latency: { '5': 10 }, clients: { 'k/a': { requests: 6, errors: 1, latency: { '5': 6 } }, 'k/b': { requests: 4, errors: 0, latency: { '5': 4 } } } };
    const r2 = { requests: 7, clientErrors: 0, serverErrors: 2, lastRequest: 3000, latency: { '9': 7 }, clients: { 'k/b': { requests: 5, errors: 2, latency: { '9': 5 } }, 'k/c': { requests: 2, errors: 0, latency: { '9': 2 } } } };
    const m = mergeApiDays([r1, r2], 2);
    assert.equal(m.requests, 17);
    assert.equal(m.clientErrors, 1);
    assert.equal(m.serverErrors, 2);
    assert.equal(m.lastRequest, 3000);
    assert.deepEqual(m.latency, { '5': 10, '9': 7 });
    assert.deepEqual(m.clients['k/b'], { requests: 9, errors: 2, latency: { '5': 4, '9': 5 } });
    assert.deepEqual(m.clients[OTHER_CLIENTS], { requests: 8, errors: 1, latency: { '5': 6, '9': 2 } });
    assert.equal(Object.keys(m.clients).length, 2);
  });

  test('mergeDays counts, per route, the replicas that serve it', () => {
    const m = mergeDays(
      [
        { bucketSeconds: 3600, buckets: 24, windowSeconds: 86400, routes: ['ns/a', 'ns/b'], apis: { 'ns/a': { requests: 1, clientErrors: 0, serverErrors: 0, latency: {}, clients: {} } } },
        { bucketSeconds: 3600, buckets: 24, windowSeconds: 86400, routes: ['ns/a'], apis: { 'ns/a': { requests: 2, clientErrors: 0, serverErrors: 1, latency: {}, clients: {} } } },
      ],
      10,
    );
    assert.equal(m.replicas, 2);
    assert.equal(m.bucketSeconds, 3600);
    assert.deepEqual([...m.routes], [['ns/a', 2], ['ns/b', 1]]);
    assert.equal(m.apis.get('ns/a')?.requests, 3);
    assert.equal(m.apis.get('ns/a')?.serverErrors, 1);
  });
});
