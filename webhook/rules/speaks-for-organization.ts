// Rule: an object may only speak for the organization that owns its namespace.
// Labels that name an organization must name that one, and fields that point at
// another namespace (AssetShare spec.targetRef.namespace, ApiInstance
// spec.assetRef.namespace) must stay inside it. (ApiKey may name another
// organization's ApiInstance under mutual trust; its rules come with ApiKeys.)
import { ALLOW, deny, type AdmissionRequestLike, type KubeObject, type Verdict } from '../admission.ts';
import { LABEL_DOMAIN, LABEL_ORGANIZATION } from '../../api/labels.ts';
import { environmentNamespaces, orgName, ownerOfNamespace, quoteList } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { speakerOf } from './namespace-ownership.ts';

/** Fields, per kind, that name a namespace; each must belong to the object's own organization. */
export const NAMESPACE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  AssetShare: ['spec.targetRef.namespace'],
  ApiInstance: ['spec.assetRef.namespace'],
};

function field(obj: KubeObject | null | undefined, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function speaksForOrganization(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const kind = request.kind.kind;
  if (kind === 'Organization') return ALLOW;
  const speaker = speakerOf(request, snapshot);
  if ('refusal' in speaker) return speaker.refusal;
  const { namespace: ns, organization: org, name, domain, what } = speaker;
  const speaks = `${what} is in namespace "${ns}" and so speaks for Organization "${name}"`;
  const rule = 'an object may only speak for the organization that owns its namespace';

  const labels = request.object?.metadata?.labels ?? {};
  const labeledOrg = labels[LABEL_ORGANIZATION];
  if (labeledOrg !== undefined && labeledOrg !== name) {
    return deny(
      `metadata.labels["${LABEL_ORGANIZATION}"] is "${labeledOrg}", but ${speaks}: ${rule}. Remove the label or set it to "${name}".`,
      `metadata.labels.${LABEL_ORGANIZATION}`,
    );
  }
  const labeledDomain = labels[LABEL_DOMAIN];
  if (labeledDomain !== undefined && labeledDomain !== domain) {
    return deny(
      `metadata.labels["${LABEL_DOMAIN}"] is "${labeledDomain}", but ${speaks} (domain "${domain}"): ${rule}. Remove the label or set it to "${domain}".`,
      `metadata.labels.${LABEL_DOMAIN}`,
    );
  }

  for (const path of NAMESPACE_FIELDS[kind] ?? []) {
    const value = field(request.object, path);
    if (value === undefined || value === ns) continue;
    if (typeof value !== 'string') return deny(`${path} must be a namespace name`, path);
    const other = ownerOfNamespace(snapshot, value);
    if (other && orgName(other.organization) === name) continue;
    const own = quoteList([org.spec?.homeNamespace ?? '', ...environmentNamespaces(org)]);
    const belongs = other ? `belongs to Organization "${orgName(other.organization)}"` : 'belongs to no Organization';
    return deny(`${path} "${value}" ${belongs}, but ${speaks}: ${rule}. Name a namespace of ${name} (${own}).`, path);
  }
  return ALLOW;
}
