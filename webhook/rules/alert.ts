// Rule: an Alert's notify.url is an outbound URL of the Alert's organization
// (model/upstream.ts): the operator POSTs to it, so it must not reach loopback,
// link-local or another organization's Services. The operator checks it again
// before every POST. A namespace holds at most MAX_NAMESPACE_ALERTS Alerts
// (model/alert-limit.ts; the operator evaluates only the oldest).
import { ALLOW, deny, describe, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Alert } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { outboundUrlProblem } from '../../model/upstream.ts';
import { newAlertLimitProblem } from '../../model/alert-limit.ts';

export function alertRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  if (request.operation === 'CREATE') {
    const tooMany = newAlertLimitProblem(objectNamespace(request), objectName(request), snapshot.alerts(objectNamespace(request)));
    if (tooMany) return deny(`${describe('Alert', objectName(request))}: ${tooMany}`, 'metadata.namespace');
  }
  const url = specOf<Alert['spec']>(request.object).notify?.url;
  if (typeof url !== 'string') return ALLOW;
  const problem = outboundUrlProblem({ snapshot, namespace: objectNamespace(request), url, field: 'spec.notify.url' });
  return problem ? deny(`${describe('Alert', objectName(request))}: ${problem}`, 'spec.notify.url') : ALLOW;
}
