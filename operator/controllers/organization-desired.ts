// Pure decisions for the Organization reconciler: which namespaces it owns,
// which labels and RoleBindings they need, and what status to report. No I/O.
import type { V1RoleBinding } from '@kubernetes/client-node';
import type { Organization } from '../../api/v1alpha1/index.ts';
import { olderFirst, reservedNamespaceProblem } from '../../model/ownership.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import {
  CLUSTERROLE_EDIT, CLUSTERROLE_VIEW, LABEL_DOMAIN, LABEL_ENVIRONMENT, LABEL_ENVIRONMENT_TYPE, LABEL_MANAGED_BY, LABEL_ORGANIZATION,
  LABEL_ROLE, MANAGED_BY,
} from '../../api/labels.ts';

export interface OrgNamespace {
  namespace: string;
  role: 'home' | 'environment';
  environment?: string;
  type?: string;
  labels: Record<string, string>;
}

export function namespacesOf(org: Organization): OrgNamespace[] {
  const name = org.metadata.name!;
  const base = { [LABEL_ORGANIZATION]: name, [LABEL_DOMAIN]: org.spec.domain, [LABEL_MANAGED_BY]: MANAGED_BY };
  const out: OrgNamespace[] = [{ namespace: org.spec.homeNamespace, role: 'home', labels: { ...base, [LABEL_ROLE]: 'home' } }];
  for (const env of org.spec.environments) {
    const type = env.type ?? 'sandbox';
    out.push({
      namespace: env.namespace,
      role: 'environment',
      environment: env.name,
      type,
      labels: { ...base, [LABEL_ROLE]: 'environment', [LABEL_ENVIRONMENT]: env.name, [LABEL_ENVIRONMENT_TYPE]: type },
    });
  }
  return out;
}

export interface Conflict {
  reason: 'DomainConflict' | 'NamespaceConflict' | 'ReservedNamespace';
  message: string;
  namespaces: string[];
}

/**
 * Conflicts of `org` with organizations that came before it. The older one
 * keeps the domain or namespace; the newer one is told why it is not Ready.
 * Only specs count, as in model/ownership.ts: a namespace label left by an
 * organization that no longer lists the namespace holds nothing.
 */
export function findConflicts(org: Organization, all: Organization[], reserved: ReadonlySet<string> = new Set()): Conflict[] {
  const me = org.metadata.name!;
  const older = all.filter((o) => o.metadata.name !== me && olderFirst(o, org) < 0);
  const conflicts: Conflict[] = [];
  const domainHolder = older.find((o) => o.spec.domain === org.spec.domain);
  if (domainHolder) {
    conflicts.push({
      reason: 'DomainConflict',
      message: `domain "${org.spec.domain}" is already used by Organization "${domainHolder.metadata.name}"; choose another domain`,
      namespaces: [],
    });
  }
  for (const ns of namespacesOf(org)) {
    // The webhook's rule again (it may have been skipped): never labeled nor bound, whoever else lists it.
    const reservedProblem = reservedNamespaceProblem(reserved, ns.namespace);
    if (reservedProblem) {
      conflicts.push({ reason: 'ReservedNamespace', message: `namespace ${reservedProblem}`, namespaces: [ns.namespace] });
      continue;
    }
    const holder = older.find((o) => namespacesOf(o).some((n) => n.namespace === ns.namespace));
    const owner = holder?.metadata.name;
    if (owner) {
      conflicts.push({
        reason: 'NamespaceConflict',
        message: `namespace "${ns.namespace}" already belongs to Organization "${owner}"`,
        namespaces: [ns.namespace],
      });
    }
  }
  return conflicts;
}

export function roleBindingName(kind: 'members' | 'admins'): string {
  return `crossgate-${kind}`;
}

/** RoleBindings giving member groups read and admin groups write access to crossgate kinds in one namespace. */
export function desiredRoleBindings(org: Organization, namespace: string): V1RoleBinding[] {
  const owner = {
    apiVersion: API_VERSION,
    kind: 'Organization',
    name: org.metadata.name!,
    uid: org.metadata.uid!,
    controller: true,
    blockOwnerDeletion: false,
  };
  const bindings: V1RoleBinding[] = [];
  const make = (kind: 'members' | 'admins', role: string, groups: string[] | undefined) => {
    if (!groups || groups.length === 0) return;
    bindings.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: roleBindingName(kind),
        namespace,
        labels: { [LABEL_ORGANIZATION]: org.metadata.name!, [LABEL_MANAGED_BY]: MANAGED_BY },
        ownerReferences: [owner],
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [...groups].sort().map((g) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: g })),
    });
  };
  make('members', CLUSTERROLE_VIEW, org.spec.memberGroups);
  make('admins', CLUSTERROLE_EDIT, org.spec.adminGroups);
  return bindings;
}

/** Labels to add to a namespace (existing unrelated labels are kept). Undefined when nothing changes. */
export function labelPatch(current: Record<string, string> | undefined, wanted: Record<string, string>): Record<string, string> | undefined {
  const changed = Object.entries(wanted).filter(([k, v]) => current?.[k] !== v);
  return changed.length ? Object.fromEntries(changed) : undefined;
}

/** Whether a RoleBinding as found matches what is wanted (roleRef is immutable, so a mismatch means recreate). */
export function roleBindingDiff(found: V1RoleBinding, wanted: V1RoleBinding): 'same' | 'update' | 'recreate' {
  if (found.roleRef.name !== wanted.roleRef.name || found.roleRef.kind !== wanted.roleRef.kind) return 'recreate';
  const subj = (b: V1RoleBinding) => JSON.stringify((b.subjects ?? []).map((s) => `${s.kind}/${s.name}`).sort());
  const labelsOk = Object.entries(wanted.metadata?.labels ?? {}).every(([k, v]) => found.metadata?.labels?.[k] === v);
  return subj(found) === subj(wanted) && labelsOk ? 'same' : 'update';
}
