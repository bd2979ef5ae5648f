// Labels and names crossgate puts on the objects it manages. One place, so the
// operator, the webhook and the tests agree.
export const LABEL_ORGANIZATION = 'crossgate.dev/organization';
export const LABEL_DOMAIN = 'crossgate.dev/domain';
export const LABEL_ENVIRONMENT = 'crossgate.dev/environment';
export const LABEL_ENVIRONMENT_TYPE = 'crossgate.dev/environment-type';
export const LABEL_ROLE = 'crossgate.dev/namespace-role';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'crossgate-operator';

/** ClusterRoles shipped with crossgate (config/rbac, charts/) and bound per namespace by the operator. */
export const CLUSTERROLE_VIEW = 'crossgate-view';
export const CLUSTERROLE_EDIT = 'crossgate-edit';

export const FINALIZER_ORGANIZATION = 'crossgate.dev/organization-cleanup';

export const FINALIZER_ASSETSHARE = 'crossgate.dev/assetshare-cleanup';
/** On the Roles and RoleBindings of a share: which share (uid) and which peer they serve. */
export const LABEL_SHARE_UID = 'crossgate.dev/share-uid';
export const LABEL_PEER = 'crossgate.dev/peer';
/** Annotation with the share's namespace/name (too long for a label value). */
export const ANNOTATION_SHARE = 'crossgate.dev/share';
