import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, isFalse, isTrue, ownConditions, removeCondition, rfc3339, setCondition, setConditions, type Condition } from '../../../kube/conditions.ts';

const T1 = new Date('2025-01-01T00:00:00.123Z');
const T2 = new Date('2025-01-01T01:00:00Z');

test('setCondition adds a new condition with the transition time at second precision', () => {
  const out = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting' }, 3, T1);
  assert.deepEqual(out, [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 3 }]);
});

test('same status keeps lastTransitionTime but refreshes reason, message and observedGeneration', () => {
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting' }, 1, T1);
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'StillPending', message: 'still waiting' }, 2, T2);
  assert.equal(b[0]!.lastTransitionTime, '2025-01-01T00:00:00Z');
  assert.equal(b[0]!.reason, 'StillPending');
  assert.equal(b[0]!.message, 'still waiting');
  assert.equal(b[0]!.observedGeneration, 2);
});

test('a status change moves lastTransitionTime', () => {
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending', message: '' }, 1, T1);
  const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }, 1, T2);
  assert.equal(b[0]!.lastTransitionTime, '2025-01-01T01:00:00Z');
  assert.ok(isTrue(b, 'Ready'));
  assert.ok(!isFalse(b, 'Ready'));
});

test('pure: input untouched, order kept, unchanged input gives a deep-equal result', () => {
  const existing: Condition[] = [
    { type: 'A', status: 'True', reason: 'R', message: 'm', lastTransitionTime: '2024-01-01T00:00:00Z', observedGeneration: 1 },
    { type: 'B', status: 'False', reason: 'R', message: 'm', lastTransitionTime: '2024-01-01T00:00:00Z', observedGeneration: 1 },
  ];
  const frozen = structuredClone(existing);
  const out = setCondition(existing, { type: 'A', status: 'True', reason: 'R', message: 'm' }, 1, T2);
  assert.deepEqual(existing, frozen);
  assert.deepEqual(out, existing);
  assert.notEqual(out, existing);
  const out2 = setCondition(existing, { type: 'A', status: 'False', reason: 'X', message: 'y' }, 2, T2);
  assert.deepEqual(out2.map((c) => c.type), ['A', 'B']);
});

test('setConditions, findCondition, removeCondition, missing conditions', () => {
  const out = setConditions(undefined, [
    { type: 'Ready', status: 'True', reason: 'Ok', message: '' },
    { type: 'Mutual', status: 'Unknown', reason: 'Checking', message: '' },
  ], 4, T1);
  assert.equal(findCondition(out, 'Mutual')?.status, 'Unknown');
  assert.equal(findCondition(out, 'Nope'), undefined);
  assert.equal(isTrue(undefined, 'Ready'), false);
  assert.deepEqual(removeCondition(out, 'Ready').map((c) => c.type), ['Mutual']);
  const noGen = setCondition([], { type: 'X', status: 'True', reason: 'R', message: '' }, undefined, T1);
  assert.equal('observedGeneration' in noGen[0]!, false);
  assert.equal(rfc3339(new Date('2025-06-07T08:09:10.999Z')), '2025-06-07T08:09:10Z');
});

test('ownConditions: only the given types, in their order, each timed as setConditions times it', () => {
  const existing = setConditions(undefined, [
    { type: 'Analysed', status: 'True', reason: 'Read', message: '' },
    { type: 'Ready', status: 'True', reason: 'Ok', message: '' },
    { type: 'TiersEnforced', status: 'True', reason: 'Ok', message: '' },
  ], 1, T1);
  const mine = ownConditions(existing, [
    { type: 'TiersEnforced', status: 'False', reason: 'NoKeyPolicy', message: 'm' },
    { type: 'Ready', status: 'True', reason: 'Routed', message: 'r' },
  ], 2, T2);
  assert.deepEqual(mine.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]), [
    ['TiersEnforced', rfc3339(T2), 2], // its status moved
    ['Ready', rfc3339(T1), 2], // its status held
  ]);
  assert.deepEqual(ownConditions(undefined, [], 1, T1), []);
});
