// Rule: an Alert's notify.url is an outbound URL of the Alert's organization
// (model/upstream.ts): the operator POSTs to it, so it must not reach loopback,
// link-local or another organization's Services. The operator checks it again
// before every POST.
import { ALLOW, deny, describe, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Alert } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { outboundUrlProblem } from '../../model/upstream.ts';

export function alertRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const url = specOf<Alert['spec']>(request.object).notify?.url;
  if (typeof url !== 'string') return ALLOW;
  const problem = outboundUrlProblem({ snapshot, namespace: objectNamespace(request), url, field: 'spec.notify.url' });
  return problem ? deny(`${describe('Alert', objectName(request))}: ${problem}`, 'spec.notify.url') : ALLOW;
}
