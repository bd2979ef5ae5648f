// Rule: an SlaTier can be asked for, and keeps the instance it was made for.
//  - Its name is a DNS label: ApiKeys and Contracts name their tier in a field
//    that only takes a DNS label (spec.tier), so a tier named otherwise (with
//    a dot, or longer than 63 characters) could never be chosen.
//  - spec.apiInstanceRef and spec.apiGroupRef do not change: Contracts at this
//    tier were made for that instance or group (a Contract's refs are
//    immutable too), and moving the tier would silently move their limits to
//    another API.
import { ALLOW, deny, objectName, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { SlaTier } from '../../api/v1alpha1/index.ts';
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
  if (request.operation === 'UPDATE' && request.oldObject) {
    const old = specOf<SlaTier['spec']>(request.oldObject);
    const now = specOf<SlaTier['spec']>(request.object);
    const groupBefore = old.apiGroupRef?.name;
    const groupAfter = now.apiGroupRef?.name;
    if (groupBefore !== undefined && groupAfter !== groupBefore) {
      return deny(
        `spec.apiGroupRef cannot change from "${groupBefore}" to "${groupAfter ?? ''}": contracts at tier "${name}" were made for ApiGroup "${groupBefore}". ` +
          'Create a new SlaTier instead.',
        'spec.apiGroupRef.name',
      );
    }
    const before = old.apiInstanceRef?.name;
    const after = now.apiInstanceRef?.name;
    if (before !== undefined && after !== before) {
      return deny(
        `spec.apiInstanceRef cannot change from "${before}" to "${after ?? ''}": contracts at tier "${name}" were made for ApiInstance "${before}". ` +
          `Create a new SlaTier for "${after ?? ''}" instead.`,
        'spec.apiInstanceRef.name',
      );
    }
  }
  return ALLOW;
}
