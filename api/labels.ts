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

/** On a key Secret: the ApiKey (name) it belongs to. The operator watches only Secrets with this label. */
export const LABEL_APIKEY = 'crossgate.dev/apikey';
/** On a Contract: where its ApiKey lives (namespace), for selection; the full reference is in spec.consumer. */
export const LABEL_CONSUMER_NAMESPACE = 'crossgate.dev/consumer-namespace';
export const LABEL_CONSUMER_DOMAIN = 'crossgate.dev/consumer-domain';
/** On a Contract: the uid of the ApiKey it was opened for, so a key deleted and made again under the same name never inherits its approval. */
export const LABEL_CONSUMER_UID = 'crossgate.dev/consumer-uid';
/** Annotations on a key Secret: hashes (never the key), so the cache can drop the Secret's data. */
export const ANNOTATION_KEY_SHA256 = 'crossgate.dev/key-sha256';
export const ANNOTATION_KEY_GENERATION = 'crossgate.dev/key-generation';
export const ANNOTATION_KEY_ISSUED_AT = 'crossgate.dev/key-issued-at';
export const ANNOTATION_PREVIOUS_KEY_SHA256 = 'crossgate.dev/previous-key-sha256';
export const ANNOTATION_PREVIOUS_KEY_VALID_UNTIL = 'crossgate.dev/previous-key-valid-until';
/** Data key of the raw key in the consumer's Secret. */
export const SECRET_KEY_FIELD = 'apiKey';
/** On an application Secret: the Application (name) it belongs to. The operator watches only Secrets with this label. */
export const LABEL_APPLICATION = 'crossgate.dev/application';
/** Annotation on an application Secret: its client ID (not a secret). The hashes use the key annotations above. */
export const ANNOTATION_CLIENT_ID = 'crossgate.dev/client-id';
/** Data keys of an application Secret. */
export const SECRET_CLIENT_ID_FIELD = 'clientId';
export const SECRET_CLIENT_SECRET_FIELD = 'clientSecret';

/** On the copies an ApiPromotion made: the promotion (name, same namespace). A name it finds without it is someone else's, never overwritten. */
export const LABEL_PROMOTION = 'crossgate.dev/promotion';
/** On a copy: "namespace/name" of the object it was copied from. */
export const ANNOTATION_PROMOTED_FROM = 'crossgate.dev/promoted-from';
/** On a copy: the .metadata.generation of the source ApiInstance it was made from. */
export const ANNOTATION_PROMOTED_SOURCE_GENERATION = 'crossgate.dev/promoted-source-generation';
export const FINALIZER_APIPROMOTION = 'crossgate.dev/apipromotion-cleanup';
