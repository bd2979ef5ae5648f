// Rule: an SlaTier can be asked for. Its name is a DNS label: ApiKeys and
// Contracts name their tier in a field that only takes a DNS label (spec.tier),
// so a tier named otherwise (with a dot, or longer than 63 characters) could
// never be chosen. (Its refs never change: CEL in api/v1alpha1/slatier.ts.)
import { ALLOW, deny, objectName, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { DNS_LABEL_HINT, isDnsLabel } from './common.ts';

export function slaTierRules(request: AdmissionRequestLike, _snapshot: Snapshot): Verdict {
  const name = objectName(request);
  if (request.operation === 'CREATE' && name && !isDnsLabel(name)) {
    return deny(
      `SlaTier "${name}" could never be chosen: ApiKeys name their tier in spec.tier, which takes ${DNS_LABEL_HINT}. Rename the tier.`,
      'metadata.name',
    );
  }
  return ALLOW;
}
