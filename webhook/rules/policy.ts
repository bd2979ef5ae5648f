// Rule: a Policy's config matches the schema of its type (api/policies.ts),
// and an automated policy's selector is well-formed. The answer names every
// bad field by its JSON pointer and says what was expected, e.g.
//   spec.config is invalid: /spec/config/limits/0/requests: must be >= 1
// The CRD cannot check config (its shape depends on spec.type), so this is
// the only gate before the gateway would be asked to enforce it. A
// jwt-validation policy's jwksUrl is an outbound URL of the policy's
// organization (model/upstream.ts): the gateway fetches it.
import { ALLOW, deny, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import { POLICY_TYPES, type Policy } from '../../api/v1alpha1/index.ts';
import { formatErrors } from '../../api/validation.ts';
import { invalidConfigMessage, policyConfigErrors, selectorProblems, type LabelSelector } from '../../model/policy-selection.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { show } from './common.ts';
import { outboundUrlProblem } from '../../model/upstream.ts';

/** "/spec/config/limits/0/requests" → "spec.config.limits[0].requests", the way the other rules name fields. */
export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

export function policyRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const spec = specOf<Policy['spec']>(request.object);
  const type = spec.type;
  if (typeof type !== 'string' || !(POLICY_TYPES as readonly string[]).includes(type)) {
    return deny(`spec.type ${show(type)} is not a policy type: use one of ${POLICY_TYPES.map((t) => `"${t}"`).join(', ')}.`, 'spec.type');
  }
  if (spec.selector && typeof spec.selector === 'object' && !spec.targetRef) {
    const problems = selectorProblems(spec.selector as LabelSelector).map((p) => ({ ...p, path: `/spec/selector${p.path}` }));
    if (problems.length > 0) return deny(`spec.selector is invalid: ${formatErrors(problems)}`, pointerToField(problems[0]!.path));
  }
  const errors = policyConfigErrors({ metadata: {}, spec: { type, config: spec.config } } as Parameters<typeof policyConfigErrors>[0]);
  if (errors.length > 0) return deny(invalidConfigMessage(errors), pointerToField(errors[0]!.path));
  const jwksUrl = type === 'jwt-validation' ? (spec.config as { jwksUrl?: unknown } | undefined)?.jwksUrl : undefined;
  if (typeof jwksUrl === 'string') {
    const problem = outboundUrlProblem({ snapshot, namespace: objectNamespace(request), url: jwksUrl, field: 'spec.config.jwksUrl', requireHttps: true });
    if (problem) return deny(problem, 'spec.config.jwksUrl');
  }
  return ALLOW;
}
