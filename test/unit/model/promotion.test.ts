// model/promotion.ts: who may promote what where, decided from the Organizations' specs only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotFrom } from '../../../model/snapshot.ts';
import { promotionRefusal } from '../../../model/promotion.ts';
import { maxAirlines, muleUnited, organization } from '../webhook/fixtures.ts';

describe('promotionRefusal', () => {
  const snap = snapshotFrom({ organizations: [maxAirlines, muleUnited], namespaces: [] });

  test('two environments of one organization: allowed, either way', () => {
    assert.equal(promotionRefusal(snap, { namespace: 'max-airlines-prod', sourceNamespace: 'max-airlines-sandbox' }), undefined);
    assert.equal(promotionRefusal(snap, { namespace: 'max-airlines-sandbox', sourceNamespace: 'max-airlines-prod' }), undefined);
  });

  test('each refusal has its reason and the field to blame', () => {
    const r = (namespace: string, sourceNamespace: string) => {
      const v = promotionRefusal(snap, { namespace, sourceNamespace });
      return v && `${v.reason} ${v.field}`;
    };
    assert.equal(r('mule-united-prod', 'max-airlines-sandbox'), 'CrossOrganization spec.source.namespace');
    assert.equal(r('max-airlines-home', 'max-airlines-sandbox'), 'TargetNotEnvironment metadata.namespace');
    assert.equal(r('nobody', 'max-airlines-sandbox'), 'TargetNotEnvironment metadata.namespace');
    assert.equal(r('max-airlines-prod', 'max-airlines-home'), 'SourceNotEnvironment spec.source.namespace');
    assert.equal(r('max-airlines-prod', 'nobody'), 'SourceNotEnvironment spec.source.namespace');
    assert.equal(r('max-airlines-prod', 'max-airlines-prod'), 'SameEnvironment spec.source.namespace');
  });

  test('a namespace listed by a younger organization too stays the older one\'s: the younger cannot promote from it', () => {
    const squatter = organization('squatter', 'squatter', 'squatter-home', [['production', 'squatter-prod'], ['stolen', 'max-airlines-sandbox']], '2026-01-01T00:00:00Z');
    const s = snapshotFrom({ organizations: [maxAirlines, muleUnited, squatter], namespaces: [] });
    assert.equal(promotionRefusal(s, { namespace: 'squatter-prod', sourceNamespace: 'max-airlines-sandbox' })?.reason, 'CrossOrganization');
  });
});
