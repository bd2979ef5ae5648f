// Rule: an Application's access entry may name an ApiInstance of another
// organization only while both organizations trust each other and the owner
// shares that instance with the consumer: the ApiKey rule, per entry. Entries
// already admitted stay (the operator suspends them when trust goes), and an
// instance that does not exist yet is left to the operator's status.
import { ALLOW, deny, describe, objectName, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Application } from '../../api/v1alpha1/index.ts';
import { accessToInstance, type InstanceRef } from '../../model/access.ts';
import { trustGone } from '../../model/trust.ts';
import type { Snapshot } from '../../model/snapshot.ts';

const target = (ref: InstanceRef, namespace: string) => `${ref.namespace ?? namespace}/${ref.name}`;

export function applicationRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const app = request.object as Application;
  const access = app?.spec?.access;
  if (!Array.isArray(access)) return ALLOW; // the schema check answers
  const namespace = app.metadata?.namespace ?? request.namespace ?? '';
  const before = new Set(
    request.operation === 'UPDATE' ? ((request.oldObject as Application | undefined)?.spec?.access ?? []).map((e) => target(e.apiInstanceRef, namespace)) : [],
  );
  for (const [i, entry] of access.entries()) {
    if (!entry?.apiInstanceRef?.name || before.has(target(entry.apiInstanceRef, namespace))) continue;
    const verdict = accessToInstance(snapshot, namespace, entry.apiInstanceRef);
    if (!trustGone(verdict)) continue;
    return deny(
      `${describe('Application', objectName(request))} cannot call ApiInstance "${entry.apiInstanceRef.name}" of organization "${verdict.owner?.spec.domain}": ${verdict.message}`,
      `spec.access[${i}].apiInstanceRef`,
    );
  }
  return ALLOW;
}
