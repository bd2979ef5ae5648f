// Rule: a crossgate object lives only in a namespace of an Organization, and in
// the right one: OrgTrust, Asset, AssetShare and ApiGroup in the organization's
// home namespace (so a peer is trusted once, in one place); ApiInstance, Policy,
// SlaTier, ApiKey and Contract in one of its environment namespaces, except a
// SlaTier or Contract of an ApiGroup (spec.apiGroupRef), which lives with its
// group in the home namespace.
import { ALLOW, deny, describe, objectName, objectNamespace, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Organization } from '../../api/v1alpha1/index.ts';
import { environmentNamespaces, orgName, ownerOfNamespace, quoteList, strayOrganizationLabel } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { verb } from './common.ts';

export const HOME_KINDS: ReadonlySet<string> = new Set(['OrgTrust', 'Asset', 'AssetShare', 'ApiGroup']);
/** Kinds that live in the home namespace when they belong to an ApiGroup (spec.apiGroupRef), else in an environment. */
const GROUP_OR_ENVIRONMENT_KINDS: ReadonlySet<string> = new Set(['SlaTier', 'Contract']);
export const ENVIRONMENT_KINDS: ReadonlySet<string> = new Set(['ApiInstance', 'Policy', 'SlaTier', 'ApiKey', 'Contract', 'Alert']);

/** Who a namespaced request speaks for: the Organization that owns its namespace (ownerOfNamespace), as the rules name it. */
export interface Speaker {
  namespace: string;
  organization: Organization;
  /** The Organization's name and domain. */
  name: string;
  domain: string;
  /** `Kind "name"`, the object under review. */
  what: string;
}

/** The Organization a request speaks for, or this rule's refusal when its namespace belongs to none. */
export function speakerOf(request: AdmissionRequestLike, snapshot: Snapshot): Speaker | { refusal: Verdict } {
  const namespace = objectNamespace(request);
  const owner = ownerOfNamespace(snapshot, namespace);
  if (!owner) return { refusal: namespaceOwnership(request, snapshot) };
  const org = owner.organization;
  return { namespace, organization: org, name: orgName(org), domain: org.spec?.domain ?? '', what: describe(request.kind.kind, objectName(request)) };
}

export function namespaceOwnership(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const kind = request.kind.kind;
  if (kind === 'Organization') return ALLOW;
  const what = describe(kind, objectName(request));
  const ns = objectNamespace(request);
  if (!ns) return deny(`${what} has no namespace: ${kind} is a namespaced kind and must live in a namespace of its Organization`, 'metadata.namespace');

  const owner = ownerOfNamespace(snapshot, ns);
  if (!owner) {
    const why = strayOrganizationLabel(snapshot, ns) ?? `namespace "${ns}" belongs to no Organization`;
    return deny(
      `${why}, so ${what} cannot be ${verb(request)} there: crossgate objects live only in an Organization's namespaces ` +
        `(its spec.homeNamespace or one of its spec.environments[].namespace). Use one of those, or add "${ns}" to an Organization.`,
      'metadata.namespace',
    );
  }

  const org = owner.organization;
  const name = orgName(org);
  const home = org.spec?.homeNamespace ?? '';
  const envs = environmentNamespaces(org);
  const here = owner.role === 'home' ? 'its home namespace' : `the namespace of its environment${owner.environment ? ` "${owner.environment}"` : ''}`;

  const ofGroup = GROUP_OR_ENVIRONMENT_KINDS.has(kind) && (request.object as { spec?: { apiGroupRef?: unknown } } | undefined)?.spec?.apiGroupRef !== undefined;
  if (ofGroup && owner.role !== 'home') {
    return deny(
      `${what} belongs to an ApiGroup (spec.apiGroupRef), so it must be in the home namespace of Organization "${name}", "${home}", with its group, not in "${ns}", which is ${here}.`,
      'metadata.namespace',
    );
  }
  if (ofGroup) return ALLOW;
  if (HOME_KINDS.has(kind) && owner.role !== 'home') {
    return deny(
      `${what} must be in the home namespace of Organization "${name}", "${home}", not in "${ns}", which is ${here}: ` +
        `OrgTrust, Asset, AssetShare and ApiGroup belong to the organization, not to an environment.`,
      'metadata.namespace',
    );
  }
  if (ENVIRONMENT_KINDS.has(kind) && owner.role !== 'environment') {
    return deny(
      `${what} must be in an environment namespace of Organization "${name}" (allowed: ${quoteList(envs)}), not in "${ns}", which is ${here}: ` +
        `ApiInstance, Policy, SlaTier, ApiKey, Contract and Alert belong to an environment; the home namespace holds only OrgTrust, Asset, AssetShare, ApiGroup, and the SlaTiers and Contracts of ApiGroups.`,
      'metadata.namespace',
    );
  }
  return ALLOW;
}
