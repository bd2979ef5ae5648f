// Coordinates of every collection the operator reads, in one place.
import type { InformerSpec } from '../kube/controller.ts';
import { stripManagedFields } from '../kube/informer.ts';
import { GROUP, VERSION, KINDS } from '../api/v1alpha1/index.ts';
import { LABEL_APIKEY, LABEL_APPLICATION, LABEL_MANAGED_BY, MANAGED_BY } from '../api/labels.ts';

export function crossgate(kind: string): InformerSpec {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return { group: GROUP, version: VERSION, plural: def.plural, kind, namespaced: def.scope === 'Namespaced' };
}

/** Only the objects of an RBAC kind that the operator made: it never needs to hold every binding or role of the cluster in memory. */
function managedRbac(plural: string, kind: string): InformerSpec {
  return { group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` };
}

export const ORGANIZATIONS = crossgate('Organization');
export const NAMESPACES: InformerSpec = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
/** The Organizations' member and admin bindings, and the share grants. */
export const MANAGED_ROLEBINDINGS = managedRbac('rolebindings', 'RoleBinding');

export { objectPath } from '../kube/keys.ts';

export { MERGE_PATCH } from '../kube/status.ts';

export const ORGTRUSTS = crossgate('OrgTrust');
export const ASSETS = crossgate('Asset');
export const ASSETSHARES = crossgate('AssetShare');
export const APIINSTANCES = crossgate('ApiInstance');
export const APIGROUPS = crossgate('ApiGroup');
/** The share grants. */
export const MANAGED_ROLES = managedRbac('roles', 'Role');

export const APIKEYS = crossgate('ApiKey');
export const APPLICATIONS = crossgate('Application');
export const CONTRACTS = crossgate('Contract');
export const SLATIERS = crossgate('SlaTier');
export const POLICIES = crossgate('Policy');

/** A Secret's metadata only: the operator never holds raw keys or client secrets in memory. */
const secretMetadataOnly: NonNullable<InformerSpec['transform']> = {
  name: 'secret-metadata-only',
  fn: (obj) => {
    const { data: _d, stringData: _s, ...rest } = obj as typeof obj & { data?: unknown; stringData?: unknown };
    return stripManagedFields(rest);
  },
};

/** Key Secrets only (by label), and without their data: the operator never holds raw keys in memory. */
export const KEY_SECRETS: InformerSpec = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', labelSelector: LABEL_APIKEY, transform: secretMetadataOnly };

/** Application Secrets only (by label), without their data (client secrets), as key Secrets. */
export const APP_SECRETS: InformerSpec = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', labelSelector: LABEL_APPLICATION, transform: secretMetadataOnly };
