// Rule: an Application's access entry may name an ApiInstance (or an ApiGroup)
// of another organization only while both organizations trust each other and
// the owner shares that instance (that group) with the consumer: the ApiKey
// rule, per entry. Entries already admitted stay (the operator suspends them
// when trust goes), and a target that does not exist yet is left to the
// operator's status. Two entries resolving to one target ({name: flights} and
// {name: flights, namespace: <own>}) are refused: the CRD compares refs as
// written, model/access-targets.ts compares what they resolve to.
import { ALLOW, deny, describe, objectName, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Application } from '../../api/v1alpha1/index.ts';
import { accessToInstance } from '../../model/access.ts';
import { accessToGroup } from '../../model/api-group.ts';
import { duplicateEntries, duplicateMessage, entryTarget, targetKey } from '../../model/access-targets.ts';
import { trustGone } from '../../model/trust.ts';
import type { Snapshot } from '../../model/snapshot.ts';

export function applicationRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const app = request.object as Application;
  const access = app?.spec?.access;
  if (!Array.isArray(access)) return ALLOW; // the schema check answers
  const namespace = app.metadata?.namespace ?? request.namespace ?? '';
  const what = describe('Application', objectName(request));
  for (const [i, of] of duplicateEntries(namespace, access)) {
    return deny(`${what}: ${duplicateMessage(namespace, access, i, of)}. Remove spec.access[${i}].`, `spec.access[${i}]`);
  }
  const before = new Set(
    request.operation === 'UPDATE'
      ? ((request.oldObject as Application | undefined)?.spec?.access ?? []).flatMap((e) => {
          const t = entryTarget(namespace, e);
          return t ? [targetKey(t)] : [];
        })
      : [],
  );
  for (const [i, entry] of access.entries()) {
    const t = entryTarget(namespace, entry);
    if (!t || before.has(targetKey(t))) continue;
    const verdict = t.kind === 'ApiGroup' ? accessToGroup(snapshot, namespace, t) : accessToInstance(snapshot, namespace, t);
    if (!trustGone(verdict)) continue;
    const field = t.kind === 'ApiGroup' ? 'apiGroupRef' : 'apiInstanceRef';
    return deny(`${what} cannot call ${t.kind} "${t.name}" of organization "${verdict.owner?.spec.domain}": ${verdict.message}`, `spec.access[${i}].${field}`);
  }
  return ALLOW;
}
