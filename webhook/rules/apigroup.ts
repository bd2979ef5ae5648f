// Rule: an ApiGroup groups only its own organization's ApiInstances. A member
// named in a namespace of another organization (or of none, or the home
// namespace) is refused, naming the namespace and whose it is: the same
// decision (model/api-group.ts memberProblem) the operator applies when the
// webhook was skipped, leaving such a member out. A member that does not
// exist yet is admitted: the group's status names it until it does.
import { ALLOW, deny, describe, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { ApiGroup } from '../../api/v1alpha1/index.ts';
import { memberProblem } from '../../model/api-group.ts';
import { ownerOfNamespace } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';

export function apiGroupRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const owner = ownerOfNamespace(snapshot, objectNamespace(request));
  if (!owner) return ALLOW; // namespaceOwnership answers
  const spec = specOf<ApiGroup['spec']>(request.object);
  const refs = Array.isArray(spec.instances) ? spec.instances : [];
  for (const [i, ref] of refs.entries()) {
    const problem = memberProblem(snapshot, owner.organization, ref ?? {});
    if (!problem || problem.reason === 'InstanceNotFound') continue;
    return deny(`${describe('ApiGroup', objectName(request))} cannot list spec.instances[${i}]: ${problem.message}.`, `spec.instances[${i}].namespace`);
  }
  return ALLOW;
}
