// What an ApiPromotion copies: the instance with its overrides last, the policies that apply to it (automated
// ones bound by targetRef), its tiers and alerts; never another instance's; clashes and stale copies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, ApiInstance, ApiPromotion, Policy, SlaTier } from '../../../api/v1alpha1/index.ts';
import { ANNOTATION_PROMOTED_FROM, ANNOTATION_PROMOTED_SOURCE_GENERATION, LABEL_PROMOTION } from '../../../api/labels.ts';
import { desiredCopies, nameClashes, staleCopies, updateBody, upToDate, madeBy } from '../../../operator/controllers/apipromotion-desired.ts';

const SBX = 'max-airlines-sandbox';
const PROD = 'max-airlines-prod';
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: SBX, ...extra });

const instance = {
  apiVersion: 'crossgate.dev/v1alpha1', kind: 'ApiInstance',
  metadata: meta('baggage', { generation: 4, labels: { tier: 'partner' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
  spec: { assetRef: { name: 'baggage-eapi' }, basePath: '/flights/baggage/sandbox/v1', upstream: { url: 'http://baggage.max-airlines-sandbox.svc:8080' } },
} as unknown as ApiInstance;
const other = { ...instance, metadata: meta('lounges', { labels: {} }) } as unknown as ApiInstance;
const policy = (name: string, spec: Partial<Policy['spec']>) => ({ metadata: meta(name), spec: { type: 'api-key', ...spec } }) as unknown as Policy;
const policies = [
  policy('baggage-key', { targetRef: { name: 'baggage' }, order: 10, config: { header: 'x-api-key' } }),
  policy('partner-cors', { type: 'cors', selector: { matchLabels: { tier: 'partner' } }, config: { allowOrigins: ['https://a.example'] } }),
  policy('lounges-key', { targetRef: { name: 'lounges' } }),
  policy('internal-only', { type: 'ip-allowlist', selector: { matchLabels: { tier: 'internal' } } }),
];
const tiers = [
  { metadata: meta('gold'), spec: { apiInstanceRef: { name: 'baggage' }, limits: [{ requests: 10, period: 'minute' }], approval: 'automatic' } },
  { metadata: meta('lounge-gold'), spec: { apiInstanceRef: { name: 'lounges' }, limits: [{ requests: 10, period: 'minute' }], approval: 'automatic' } },
] as unknown as SlaTier[];
const alerts = [{ metadata: meta('baggage-errors'), spec: { apiInstanceRef: { name: 'baggage' }, severity: 'warning', condition: { type: 'request-count', threshold: 5, periodSeconds: 60 } } }] as unknown as Alert[];

const promotion = {
  metadata: { name: 'baggage-to-prod', namespace: PROD, generation: 1 },
  spec: { source: { namespace: SBX, name: 'baggage' }, overrides: { upstream: { url: 'https://baggage.max-airlines.example' }, basePath: '/flights/baggage/v1' } },
} as unknown as ApiPromotion;

describe('desiredCopies', () => {
  const { copies, problems } = desiredCopies(promotion, { instance, policies: [...policies], tiers, alerts });

  test("the instance's policies, tiers and alerts, the instance last; nothing of another instance", () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(copies.map((c) => `${c.kind}/${c.object.metadata.name}<-${c.source}`), [
      'Policy/baggage-key<-baggage-key',
      'Policy/partner-cors-baggage<-partner-cors',
      'SlaTier/gold<-gold',
      'Alert/baggage-errors<-baggage-errors',
      'ApiInstance/baggage<-baggage',
    ]);
    assert.ok(copies.every((c) => c.object.metadata.namespace === PROD));
  });

  test('an automated policy is bound to the copy by targetRef, its selector dropped', () => {
    const cors = copies.find((c) => c.source === 'partner-cors')!;
    assert.deepEqual(cors.object.spec, { type: 'cors', targetRef: { name: 'baggage' }, config: { allowOrigins: ['https://a.example'] } });
    assert.deepEqual(copies[0]!.object.spec, { type: 'api-key', targetRef: { name: 'baggage' }, order: 10, config: { header: 'x-api-key' } });
  });

  test('overrides replace whole fields of the instance; the rest is the source\'s', () => {
    const copy = copies.at(-1)!.object;
    assert.deepEqual(copy.spec, {
      assetRef: { name: 'baggage-eapi' },
      basePath: '/flights/baggage/v1',
      upstream: { url: 'https://baggage.max-airlines.example' },
    });
    assert.equal(instance.spec.upstream.url, 'http://baggage.max-airlines-sandbox.svc:8080', 'the source is not touched');
  });

  test('copies carry the promotion label, where they come from and the source generation; no source annotations', () => {
    const copy = copies.at(-1)!.object;
    assert.deepEqual(copy.metadata.labels, { tier: 'partner', [LABEL_PROMOTION]: 'baggage-to-prod' });
    assert.deepEqual(copy.metadata.annotations, { [ANNOTATION_PROMOTED_FROM]: `${SBX}/baggage`, [ANNOTATION_PROMOTED_SOURCE_GENERATION]: '4' });
  });

  test('a name too long for the copy of an automated policy is a problem, not a truncation', () => {
    const long = policy('p'.repeat(250), { selector: {} });
    assert.match(desiredCopies(promotion, { instance, policies: [long], tiers: [], alerts: [] }).problems[0]!, /longer than 253 characters/);
  });

  test('two source objects that would be copied under one name are a problem', () => {
    const twin = policy('partner-cors-baggage', { targetRef: { name: 'baggage' } });
    assert.deepEqual(desiredCopies(promotion, { instance, policies: [...policies, twin], tiers: [], alerts: [] }).problems, [
      'two objects of the source would both be copied as Policy "partner-cors-baggage"',
    ]);
  });

  test('a name taken by an object the promotion did not make is a clash; its own copies are not', () => {
    const existing = (kind: string, name: string): { metadata: { name: string; labels: Record<string, string> } } | undefined =>
      kind === 'SlaTier' && name === 'gold' ? { metadata: { name, labels: {} } } :
      kind === 'Policy' && name === 'baggage-key' ? { metadata: { name, labels: { [LABEL_PROMOTION]: 'baggage-to-prod' } } } : undefined;
    assert.deepEqual(nameClashes(copies, existing, 'baggage-to-prod'), ['SlaTier "gold"']);
    assert.deepEqual(nameClashes(copies, existing, 'another-promotion'), ['Policy "baggage-key"', 'SlaTier "gold"']);
  });

  test('stale copies: made by the promotion and no longer wanted', () => {
    const made = [
      { kind: 'Policy', metadata: { name: 'baggage-key' } },
      { kind: 'Policy', metadata: { name: 'old-headers' } },
      { kind: 'SlaTier', metadata: { name: 'baggage-key' } },
    ];
    assert.deepEqual(staleCopies(made, copies).map((o) => `${o.kind}/${o.metadata.name}`), ['Policy/old-headers', 'SlaTier/baggage-key']);
  });

  test("an update keeps the copy's own metadata and sets the desired labels, annotations and spec", () => {
    const existing = { metadata: { name: 'baggage', namespace: PROD, resourceVersion: '42', finalizers: ['x'], managedFields: [{}], labels: { stale: 'yes' }, annotations: { note: 'kept' } } };
    const body = updateBody(existing, copies.at(-1)!) as { metadata: Record<string, unknown>; spec: unknown };
    assert.equal(body.metadata.resourceVersion, '42');
    assert.deepEqual(body.metadata.finalizers, ['x']);
    assert.equal(body.metadata.managedFields, undefined);
    assert.deepEqual(body.metadata.labels, { tier: 'partner', [LABEL_PROMOTION]: 'baggage-to-prod' });
    assert.equal((body.metadata.annotations as Record<string, string>).note, 'kept');
    assert.deepEqual(body.spec, copies.at(-1)!.object.spec);
    assert.ok(madeBy(body as never, 'baggage-to-prod'));
  });

  test('UpToDate says when the source has moved on', () => {
    assert.equal(upToDate(4, 4)?.status, 'True');
    assert.deepEqual(upToDate(5, 4), {
      type: 'UpToDate', status: 'False', reason: 'SourceChanged',
      message: 'the source is at generation 5, the copies are from generation 4: raise spec.revision to promote again',
    });
    assert.equal(upToDate(undefined, 4), undefined);
  });

  test('another instance of the source namespace is not copied', () => {
    const forOther = desiredCopies(promotion, { instance: other, policies: [...policies], tiers, alerts }).copies;
    assert.deepEqual(forOther.map((c) => `${c.kind}/${c.object.metadata.name}`), ['Policy/lounges-key', 'SlaTier/lounge-gold', 'ApiInstance/lounges']);
  });
});
