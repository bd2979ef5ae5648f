// Rule: an ApiInstance implements an Asset of its own organization, and Assets
// live in the organization's home namespace (the namespace crossing itself is
// refused by speaks-for-organization); its route lies inside the route space
// the platform admins assigned to its organization (model/route-claims.ts), it
// names no more gateways than its organization may (model/gateway-names.ts), and
// its upstream URL is one the organization may reach (model/upstream.ts): the
// same functions the operator's route verdict runs; its spec.parentRefs name
// only Gateways the platform shares, and its HTTPRoute does not take a route an
// older instance holds on a listener they share (model/gateway-parents.ts;
// only a new conflict is refused: one that predates the webhook does not block
// unrelated edits, and the operator renders no route while it holds).
import { ALLOW, deny, describe, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { ApiInstance } from '../../api/v1alpha1/index.ts';
import { orgName, ownerOfNamespace } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { namespaceOwnership } from './namespace-ownership.ts';
import { outboundUrlProblem } from '../../model/upstream.ts';
import { outsideRouteClaims } from '../../model/route-claims.ts';
import { parentConflict, parentRefProblem } from '../../model/gateway-parents.ts';
import { conflictMessage } from '../../model/route-conflicts.ts';
import { newGatewayRefusal } from '../../model/gateway-names.ts';

export function apiInstanceRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const owner = ownerOfNamespace(snapshot, objectNamespace(request));
  if (!owner) return namespaceOwnership(request, snapshot);
  const spec = specOf<ApiInstance['spec']>(request.object);
  const ns = spec.assetRef?.namespace;
  const home = owner.organization.spec?.homeNamespace ?? '';
  if (ns !== undefined && ns !== home) {
    return deny(
      `${describe('ApiInstance', objectName(request))} refers to an Asset in namespace "${ns}", but Organization "${orgName(owner.organization)}" ` +
        `keeps its Assets in its home namespace "${home}": set spec.assetRef.namespace to "${home}" or leave it out.`,
      'spec.assetRef.namespace',
    );
  }
  const outside = outsideRouteClaims(snapshot, { metadata: { namespace: objectNamespace(request) }, spec });
  if (outside) return deny(`${describe('ApiInstance', objectName(request))}: ${outside.message}.`, outside.field);
  const gateways = newGatewayRefusal(snapshot, objectNamespace(request), objectName(request), typeof spec.gateway === 'string' ? spec.gateway : undefined);
  if (gateways) return deny(`${describe('ApiInstance', objectName(request))}: ${gateways}.`, 'spec.gateway');
  const parent = parentRefProblem(snapshot, objectNamespace(request), Array.isArray(spec.parentRefs) ? spec.parentRefs : undefined);
  if (parent) return deny(`${describe('ApiInstance', objectName(request))}: ${parent.message}.`, parent.field);
  const conflict = newParentConflict(request, snapshot, spec);
  if (conflict) return deny(`${describe('ApiInstance', objectName(request))}: no HTTPRoute can be rendered: ${conflict}.`, 'spec.parentRefs');
  const url = spec.upstream?.url;
  if (typeof url === 'string') {
    const problem = outboundUrlProblem({ snapshot, namespace: objectNamespace(request), url, field: 'spec.upstream.url' });
    if (problem) return deny(`${describe('ApiInstance', objectName(request))}: ${problem}`, 'spec.upstream.url');
  }
  return ALLOW;
}

/** The conflict message when the request's spec.parentRefs loses a route on a shared listener that the stored spec did not lose. */
function newParentConflict(request: AdmissionRequestLike, snapshot: Snapshot, spec: Partial<ApiInstance['spec']>): string | undefined {
  if (!Array.isArray(spec.parentRefs) || !spec.parentRefs.length || typeof spec.basePath !== 'string') return undefined;
  const as = (obj: typeof request.object, s: Partial<ApiInstance['spec']>) =>
    ({ metadata: { ...(obj?.metadata ?? {}), name: objectName(request), namespace: objectNamespace(request) }, spec: s }) as Pick<ApiInstance, 'metadata' | 'spec'>;
  const now = parentConflict(snapshot, as(request.object, spec));
  if (!now) return undefined;
  const old = request.operation === 'UPDATE' && request.oldObject ? specOf<ApiInstance['spec']>(request.oldObject) : undefined;
  if (old && Array.isArray(old.parentRefs) && parentConflict(snapshot, as(request.oldObject, old))) return undefined;
  return conflictMessage(now);
}
