// Rule: an ApiPromotion copies only between two environments of one
// organization, into its own namespace (model/promotion.ts). The operator makes
// the same decision before it copies anything, as the webhook can be skipped.
import { ALLOW, deny, describe, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { ApiPromotion } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { promotionRefusal } from '../../model/promotion.ts';

export function apiPromotionRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const sourceNamespace = specOf<ApiPromotion['spec']>(request.object).source?.namespace;
  // A missing or malformed source is the schema's to refuse (matchesSchema runs last).
  if (typeof sourceNamespace !== 'string') return ALLOW;
  const refusal = promotionRefusal(snapshot, { namespace: objectNamespace(request), sourceNamespace });
  return refusal ? deny(`${describe('ApiPromotion', objectName(request))}: ${refusal.message}`, refusal.field) : ALLOW;
}
