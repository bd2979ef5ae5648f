// Rule: an ApiPromotion copies only between two environments of one
// organization, into its own namespace (model/promotion.ts), and only an
// instance copy the target would admit and serve (model/promotion-copy.ts: the
// ApiInstance rule's checks on the copy, overrides applied). The operator makes
// both decisions again before it copies anything, as the webhook can be skipped.
import { ALLOW, deny, describe, isBeingDeleted, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { ApiPromotion } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { promotionRefusal } from '../../model/promotion.ts';
import { instanceCopyRefusal } from '../../model/promotion-copy.ts';
import { LABEL_PROMOTION } from '../../api/labels.ts';

export function apiPromotionRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const spec = specOf<ApiPromotion['spec']>(request.object);
  const sourceNamespace = spec.source?.namespace;
  // A missing or malformed source is the schema's to refuse (matchesSchema runs last).
  if (typeof sourceNamespace !== 'string') return ALLOW;
  const namespace = objectNamespace(request);
  const refusal = promotionRefusal(snapshot, { namespace, sourceNamespace });
  if (refusal) return deny(`${describe('ApiPromotion', objectName(request))}: ${refusal.message}`, refusal.field);
  // The copy is judged when the spec that makes it is written, never on a finalizer or label change (deletion must not be blocked).
  if (isBeingDeleted(request.object) || (request.operation === 'UPDATE' && JSON.stringify(specOf(request.oldObject)) === JSON.stringify(spec))) return ALLOW;
  const source = snapshot.apiInstances(sourceNamespace).find((i) => i.metadata?.name === spec.source?.name && !i.metadata?.deletionTimestamp);
  // No source yet: nothing to judge; the operator judges the copy when the source appears.
  if (!source) return ALLOW;
  // Only this promotion's own earlier copy keeps its age; another object of that name is the operator's NameTaken.
  const existing = snapshot.apiInstances(namespace).find((i) => i.metadata?.name === source.metadata?.name && i.metadata?.labels?.[LABEL_PROMOTION] === objectName(request));
  const copy = instanceCopyRefusal(snapshot, { metadata: { namespace }, spec }, source, existing);
  return copy ? deny(`${describe('ApiPromotion', objectName(request))}: ${copy.message}.`, copy.field) : ALLOW;
}
