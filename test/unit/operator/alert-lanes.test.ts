// NotificationLanes (operator/controllers/alert-lanes.ts): one lane per
// namespace, a bounded number in flight in each, one waiting job per key.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationLanes } from '../../../operator/controllers/alert-lanes.ts';
import { eventually } from './helpers.ts';

/** A job that records its start and finishes when released. */
function gated(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return { job: async () => { log.push(name); await gate; }, release: () => release() };
}

describe('NotificationLanes', () => {
  test('a full lane does not hold back another namespace', async () => {
    const lanes = new NotificationLanes(2);
    const started: string[] = [];
    const attacker = Array.from({ length: 5 }, (_, i) => gated(started, `a${i}`));
    attacker.forEach((g, i) => lanes.submit('attacker', `attacker/a${i}`, g.job));
    const victim = gated(started, 'v');
    lanes.submit('victim', 'victim/v', victim.job);
    await eventually(() => started.includes('v'), 'the victim started');
    assert.deepEqual(started, ['a0', 'a1', 'v'], 'two of the attacker\'s at a time, the victim at once');
    victim.release();
    attacker[0]!.release();
    await eventually(() => started.includes('a2'), 'the attacker\'s next one');
    for (const g of attacker) g.release();
    await eventually(() => lanes.size === 0, 'every lane drained');
  });

  test('a waiting job of a key is replaced by its newer one; a key never runs twice at once', async () => {
    const lanes = new NotificationLanes(2);
    const started: string[] = [];
    const first = gated(started, 'k:firing');
    lanes.submit('ns', 'ns/k', first.job);
    lanes.submit('ns', 'ns/k', gated(started, 'k:resolved').job);
    const newest = gated(started, 'k:firing-again');
    lanes.submit('ns', 'ns/k', newest.job);
    await eventually(() => started.length === 1, 'the first started');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(started, ['k:firing'], 'the key\'s next job waits although the lane has room');
    first.release();
    await eventually(() => started.length === 2, 'the newest started');
    assert.deepEqual(started, ['k:firing', 'k:firing-again']);
    newest.release();
    await eventually(() => lanes.size === 0, 'drained');
  });

  test('a job that throws does not stop its lane', async () => {
    const lanes = new NotificationLanes(1);
    let ran = false;
    lanes.submit('ns', 'ns/a', async () => { throw new Error('boom'); });
    lanes.submit('ns', 'ns/b', async () => { ran = true; });
    await eventually(() => ran, 'the next job ran');
  });
});
