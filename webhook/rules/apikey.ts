// Rule: an ApiKey may name an ApiInstance of another organization only while
// both organizations trust each other and the owner shares that instance with
// the consumer. Same-organization keys, and keys whose instance does not exist
// yet (GitOps applies in any order), are left to the operator's conditions.
import { ALLOW, deny, describe, objectName, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { ApiKey } from '../../api/v1alpha1/index.ts';
import { resolveAccess } from '../../model/access.ts';
import { trustGone } from '../../model/trust.ts';
import type { Snapshot } from '../../model/snapshot.ts';

export function apiKeyRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const key = request.object as ApiKey;
  if (!key?.spec?.apiInstanceRef?.name) return ALLOW; // the schema check answers
  if (request.operation === 'UPDATE') {
    const old = request.oldObject as ApiKey | undefined;
    const same = old?.spec?.apiInstanceRef?.name === key.spec.apiInstanceRef.name && old?.spec?.apiInstanceRef?.namespace === key.spec.apiInstanceRef.namespace;
    // Keys already issued stay editable (revoke, rotate) when trust is withdrawn later: the operator suspends them.
    if (same) return ALLOW;
  }
  const access = resolveAccess(snapshot, { ...key, metadata: { ...key.metadata, namespace: key.metadata?.namespace ?? request.namespace } });
  if (!trustGone(access)) return ALLOW;
  return deny(
    `${describe('ApiKey', objectName(request))} cannot call ApiInstance "${key.spec.apiInstanceRef.name}" of organization "${access.owner?.spec.domain}": ${access.message}`,
    'spec.apiInstanceRef',
  );
}
