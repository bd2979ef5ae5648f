// Rule: the object matches its kind's schema (ajv, compiled from the same
// TypeBox source as the CRD). The apiserver has already checked the CRD schema
// before calling a validating webhook; this is defence in depth and runs after
// the specific rules, whose messages say more.
import { ALLOW, deny, describe, objectName, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import { formatErrors, validateObject } from '../../api/validation.ts';
import type { Snapshot } from '../../model/snapshot.ts';

export function matchesSchema(request: AdmissionRequestLike, _snapshot: Snapshot): Verdict {
  const kind = request.kind.kind;
  const errors = validateObject(kind, request.object);
  if (errors.length === 0) return ALLOW;
  const first = errors[0]!;
  return deny(
    `${describe(kind, objectName(request))} does not match the crossgate.dev/v1alpha1 ${kind} schema: ${formatErrors(errors)}`,
    first.path.replace(/^\//, '').replace(/\//g, '.'),
  );
}
