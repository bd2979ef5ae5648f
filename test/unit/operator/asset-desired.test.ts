// Pure decisions of the Asset reconciler: source, ConfigMap reading and
// trimming, status, Events on transitions, ConfigMap → Asset mapping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asset } from '../../../api/v1alpha1/index.ts';
import {
  assetsReferencing, configMapKeys, configMapKeysOnly, MAX_CACHED_CONFIGMAP_KEYS, knownConfigMapKeys, configMapText, desiredAssetStatus, noSpecification, outcomeOfCheck,
  readyCondition, sourceFingerprint, specSourceOf, transitionEvent, type Outcome,
} from '../../../operator/controllers/asset-desired.ts';
import type { Condition } from '../../../kube/conditions.ts';

function asset(spec: Partial<Asset['spec']>, meta: Partial<Asset['metadata']> = {}, status?: Asset['status']): Asset {
  return {
    apiVersion: 'crossgate.dev/v1alpha1',
    kind: 'Asset',
    metadata: { name: 'flights', namespace: 'max-home', uid: 'u1', generation: 3, ...meta },
    spec: { type: 'oas', title: 'Flights EAPI', version: '1.0.0', ...spec },
    ...(status ? { status } : {}),
  } as Asset;
}

const NOW = new Date('2025-01-02T03:04:05Z');
const valid: Outcome = { reason: 'Valid', message: 'OpenAPI 3.0.3 "Flights EAPI" 1.0.0: 2 paths, 3 operations', summary: { title: 'Flights EAPI', pathCount: 2 } };

describe('source', () => {
  test('inline, configMapRef, http', () => {
    assert.deepEqual(specSourceOf(asset({ source: { inline: 'x' } })), { kind: 'inline', text: 'x' });
    assert.deepEqual(specSourceOf(asset({ source: { configMapRef: { name: 'cm', key: 'oas.yaml' } } })), { kind: 'configMap', name: 'cm', key: 'oas.yaml' });
    assert.deepEqual(specSourceOf(asset({ type: 'http', source: { inline: 'x' } })), { kind: 'none' });
    assert.deepEqual(specSourceOf(asset({})), { kind: 'none' });
  });

  test('no specification: Ready for http, SourceNotFound otherwise', () => {
    assert.deepEqual(noSpecification(asset({ type: 'http' })), { reason: 'NoSpecification', message: 'an http asset has no specification' });
    assert.deepEqual(noSpecification(asset({ type: 'http', source: { inline: 'x' } })), {
      reason: 'NoSpecification',
      message: 'an http asset has no specification; spec.source is ignored',
    });
    assert.deepEqual(noSpecification(asset({ type: 'raml' })), { reason: 'SourceNotFound', message: 'a raml asset needs spec.source (inline or configMapRef)' });
    assert.equal(readyCondition(noSpecification(asset({ type: 'http' }))).status, 'True');
  });
});

describe('ConfigMaps', () => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'specs', namespace: 'max-home', uid: 'c1', resourceVersion: '42', labels: { a: 'b' }, annotations: { big: 'x'.repeat(1000) }, managedFields: [] },
    data: { 'flights.yaml': 'openapi: 3.0.3', 'notes.txt': 'hi' },
    binaryData: { 'bin.yaml': Buffer.from('openapi: 3.1.0').toString('base64') },
  };

  test('the cache keeps metadata and key names, never values', () => {
    const t = configMapKeysOnly(structuredClone(cm));
    assert.deepEqual(t, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'specs', namespace: 'max-home', uid: 'c1', resourceVersion: '42', deletionTimestamp: undefined },
      keys: ['bin.yaml', 'flights.yaml', 'notes.txt'],
    });
    assert.deepEqual(configMapKeys(t), configMapKeys(cm));
    assert.deepEqual(knownConfigMapKeys(t), ['bin.yaml', 'flights.yaml', 'notes.txt']);
    assert.equal(knownConfigMapKeys({ metadata: { name: 'specs' } }), undefined, 'metadata only: unknown, read it');
    assert.deepEqual(knownConfigMapKeys({ metadata: { name: 'specs' }, data: {} }), []);
  });

  test('attacker: a ConfigMap of 100,000 key names (~1 MiB, any tenant) costs the cache its metadata only, not the names', () => {
    // Before: every key name was cached, ~1.1 MB of heap per such ConfigMap in the one operator every organization shares.
    const data: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) data[`k${i.toString(36)}`] = '';
    const huge = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flood', namespace: 'mallory-home', uid: 'u', resourceVersion: '7' }, data };
    const t = configMapKeysOnly(structuredClone(huge));
    assert.ok(JSON.stringify(t).length < 512, `cached ${JSON.stringify(t).length} bytes`);
    assert.equal(knownConfigMapKeys(t), undefined, 'keys unknown: the reconciler reads the ConfigMap with a GET');
    // The bound is on the count and on the total length of the names: a few long names are left out too.
    const long = { ...huge, data: { [`${'a'.repeat(250)}1`]: '', [`${'a'.repeat(250)}2`]: '', [`${'a'.repeat(250)}3`]: '', [`${'a'.repeat(250)}4`]: '', [`${'a'.repeat(250)}5`]: '' } };
    assert.equal(knownConfigMapKeys(configMapKeysOnly(structuredClone(long))), undefined);
    // At the bound the names are still cached.
    const many: Record<string, string> = {};
    for (let i = 0; i < MAX_CACHED_CONFIGMAP_KEYS; i++) many[`spec-${i}.yaml`] = '';
    assert.equal(knownConfigMapKeys(configMapKeysOnly({ ...huge, data: many }))?.length, MAX_CACHED_CONFIGMAP_KEYS);
    assert.equal(knownConfigMapKeys(configMapKeysOnly({ ...huge, data: { ...many, extra: '' } })), undefined);
  });

  test('text from data or binaryData; a missing key names the keys there are', () => {
    assert.deepEqual(configMapText(cm, 'flights.yaml'), { text: 'openapi: 3.0.3' });
    assert.deepEqual(configMapText(cm, 'bin.yaml'), { text: 'openapi: 3.1.0' });
    assert.deepEqual(configMapText(cm, 'nope.yaml'), {
      outcome: { reason: 'SourceNotFound', message: 'ConfigMap "specs" has no key "nope.yaml" (its keys: "bin.yaml", "flights.yaml", "notes.txt")' },
    });
    assert.deepEqual(configMapText({ metadata: { name: 'empty' } }, 'k'), { outcome: { reason: 'SourceNotFound', message: 'ConfigMap "empty" has no key "k" (it has no keys)' } });
  });

  test('a ConfigMap event maps to the Assets of its namespace that reference it', () => {
    const assets = [
      asset({ source: { configMapRef: { name: 'specs', key: 'a' } } }, { name: 'a1' }),
      asset({ source: { configMapRef: { name: 'specs', key: 'b' } } }, { name: 'a2' }),
      asset({ source: { configMapRef: { name: 'specs', key: 'a' } } }, { name: 'other-ns', namespace: 'mule-home' }),
      asset({ source: { configMapRef: { name: 'other', key: 'a' } } }, { name: 'other-cm' }),
      asset({ source: { inline: 'x' } }, { name: 'inline' }),
      asset({ type: 'http', source: { configMapRef: { name: 'specs', key: 'a' } } }, { name: 'http' }),
    ];
    assert.deepEqual(assetsReferencing(assets, 'max-home', 'specs'), ['max-home/a1', 'max-home/a2']);
    assert.deepEqual(assetsReferencing(assets, undefined, 'specs'), []);
  });

  test('fingerprints change with the generation and the ConfigMap version', () => {
    const a = asset({});
    assert.equal(sourceFingerprint(a), 'u1/3/');
    assert.equal(sourceFingerprint(a, '42'), 'u1/3/42');
    assert.notEqual(sourceFingerprint(asset({}, { generation: 4 }), '42'), sourceFingerprint(a, '42'));
  });
});

describe('status', () => {
  test('Valid: Ready True with observedGeneration and the summary', () => {
    const s = desiredAssetStatus(asset({}), valid, NOW);
    assert.deepEqual(s, {
      observedGeneration: 3,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Valid', message: valid.message, lastTransitionTime: '2025-01-02T03:04:05Z', observedGeneration: 3 }],
      summary: { title: 'Flights EAPI', pathCount: 2 },
    });
  });

  test('InvalidSpec drops the summary; the transition time moves only with the status', () => {
    const before: Condition[] = [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'm', lastTransitionTime: '2024-01-01T00:00:00Z', observedGeneration: 2 }];
    const bad = outcomeOfCheck({ valid: false, message: 'invalid OpenAPI 3.0.3 document: $.info must have required property "title"' });
    const s = desiredAssetStatus(asset({}, {}, { conditions: before, summary: { title: 'old' } }), bad, NOW);
    assert.equal(s.summary, undefined);
    assert.deepEqual(s.conditions[0], {
      type: 'Ready', status: 'False', reason: 'InvalidSpec', message: bad.message, lastTransitionTime: '2025-01-02T03:04:05Z', observedGeneration: 3,
    });
    const again = desiredAssetStatus(asset({}, { generation: 4 }, { conditions: s.conditions }), { reason: 'SourceNotFound', message: 'x' }, new Date('2026-01-01T00:00:00Z'));
    assert.equal(again.conditions[0]!.lastTransitionTime, '2025-01-02T03:04:05Z', 'still False: same transition time');
  });
});

describe('events', () => {
  const cond = (reason: string, message: string, status: 'True' | 'False' = 'True'): Condition[] => [
    { type: 'Ready', status, reason, message, lastTransitionTime: '2025-01-01T00:00:00Z' },
  ];
  test('first conclusion, and every change of reason or message, is an Event', () => {
    assert.deepEqual(transitionEvent(undefined, valid), { type: 'Normal', reason: 'SpecValidated', message: valid.message });
    assert.deepEqual(transitionEvent(cond('Valid', valid.message), { reason: 'InvalidSpec', message: 'bad' }), { type: 'Warning', reason: 'InvalidSpec', message: 'bad' });
    assert.deepEqual(transitionEvent(cond('InvalidSpec', 'bad', 'False'), { reason: 'InvalidSpec', message: 'worse' }), { type: 'Warning', reason: 'InvalidSpec', message: 'worse' });
    assert.deepEqual(transitionEvent(cond('Valid', valid.message), { reason: 'SourceNotFound', message: 'gone' }), { type: 'Warning', reason: 'SourceNotFound', message: 'gone' });
    assert.deepEqual(transitionEvent(cond('SourceNotFound', 'gone', 'False'), valid), { type: 'Normal', reason: 'SpecValidated', message: valid.message });
  });
  test('the same conclusion again (a resync) is not an Event; http assets have none', () => {
    assert.equal(transitionEvent(cond('Valid', valid.message), valid), undefined);
    assert.equal(transitionEvent(undefined, { reason: 'NoSpecification', message: 'an http asset has no specification' }), undefined);
  });
});
