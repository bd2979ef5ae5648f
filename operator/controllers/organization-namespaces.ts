// The Organization reconciler's namespace step: label (creating if absent)
// each namespace the organization lists and bind its member and admin groups
// there (organization-desired.ts decides the labels and RoleBindings), and
// release the namespaces it no longer lists or, when it is deleted, all of
// them: its labels and bindings removed, never the namespace.
import type { V1Namespace, V1RoleBinding } from '@kubernetes/client-node';
import type { ReconcileContext } from '../../kube/controller.ts';
import type { Informer } from '../../kube/informer.ts';
import { isAlreadyExists } from '../../kube/kube.ts';
import { deleteIfExists, ignoreNotFound } from '../../kube/effects.ts';
import type { Organization } from '../../api/v1alpha1/index.ts';
import { LABEL_DOMAIN, LABEL_ENVIRONMENT, LABEL_ENVIRONMENT_TYPE, LABEL_MANAGED_BY, LABEL_ORGANIZATION, LABEL_ROLE } from '../../api/labels.ts';
import { MANAGED_ROLEBINDINGS, MERGE_PATCH, NAMESPACES, objectPath } from '../resources.ts';
import { desiredRoleBindings, labelPatch, roleBindingDiff, roleBindingName, type OrgNamespace } from './organization-desired.ts';
import type { Deps } from './deps.ts';

const OWN_LABELS = [LABEL_ORGANIZATION, LABEL_DOMAIN, LABEL_ENVIRONMENT, LABEL_ENVIRONMENT_TYPE, LABEL_ROLE];

/** The namespace writes of the Organization reconciler, over the namespace and managed-RoleBinding caches. */
export function namespaceSteps(deps: Deps, namespaces: Informer<V1Namespace>, bindings: Informer<V1RoleBinding>) {
  return { applyNamespace, releaseStaleNamespaces, releaseNamespace, releaseBindings };

  /** One namespace the organization lists: labeled (created if absent), its groups bound. */
  async function applyNamespace(org: Organization, ns: OrgNamespace, ctx: ReconcileContext): Promise<void> {
    await ensureNamespace(ns.namespace, ns.labels, org, ctx);
    await ensureRoleBindings(org, ns.namespace, ctx);
  }

  async function ensureNamespace(nsName: string, labels: Record<string, string>, org: Organization, ctx: ReconcileContext): Promise<void> {
    const found = namespaces.get(nsName);
    if (!found) {
      try {
        await deps.http.request('POST', objectPath(NAMESPACES, undefined), { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName, labels } } });
        ctx.log.info({ namespace: nsName }, 'created namespace');
        deps.events.normal(org, 'NamespaceCreated', `created namespace ${nsName}`);
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Created meanwhile by someone else; label it below from a fresh read.
      }
    }
    const current = found ?? (await deps.http.request<V1Namespace>('GET', objectPath(NAMESPACES, undefined, nsName)));
    const patch = labelPatch(current.metadata?.labels, labels);
    if (patch) {
      await deps.http.request('PATCH', objectPath(NAMESPACES, undefined, nsName), { contentType: MERGE_PATCH, body: { metadata: { labels: patch } } });
      ctx.log.info({ namespace: nsName }, 'labeled namespace');
    }
  }

  async function ensureRoleBindings(org: Organization, nsName: string, ctx: ReconcileContext): Promise<void> {
    const wanted = desiredRoleBindings(org, nsName);
    const rbSpec = MANAGED_ROLEBINDINGS;
    for (const rb of wanted) {
      const name = rb.metadata!.name!;
      const found = bindings.get(`${nsName}/${name}`);
      if (!found) {
        try {
          await deps.http.request('POST', objectPath(rbSpec, nsName), { body: rb });
          ctx.log.info({ namespace: nsName, roleBinding: name }, 'created RoleBinding');
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          await deps.http.request('PUT', objectPath(rbSpec, nsName, name), { body: rb });
        }
        continue;
      }
      const diff = roleBindingDiff(found, rb);
      if (diff === 'update') {
        await deps.http.request('PUT', objectPath(rbSpec, nsName, name), { body: { ...rb, metadata: { ...rb.metadata, resourceVersion: found.metadata?.resourceVersion } } });
      } else if (diff === 'recreate') {
        await deleteIfExists(deps.http, objectPath(rbSpec, nsName, name));
        await deps.http.request('POST', objectPath(rbSpec, nsName), { body: rb });
      }
    }
    // A group list emptied in the spec: its binding must go.
    for (const kind of ['members', 'admins'] as const) {
      const name = roleBindingName(kind);
      if (wanted.some((w) => w.metadata?.name === name)) continue;
      const found = bindings.get(`${nsName}/${name}`);
      if (found?.metadata?.labels?.[LABEL_ORGANIZATION] === org.metadata!.name) await deleteIfExists(deps.http, objectPath(rbSpec, nsName, name));
    }
  }

  /** Namespaces this organization labeled earlier but no longer lists: remove its labels and bindings, never the namespace. */
  async function releaseStaleNamespaces(org: Organization, keep: Set<string>, ctx: ReconcileContext): Promise<void> {
    const name = org.metadata!.name!;
    for (const ns of namespaces.list()) {
      const nsName = ns.metadata!.name!;
      if (keep.has(nsName) || ns.metadata?.labels?.[LABEL_ORGANIZATION] !== name) continue;
      await releaseNamespace(nsName, name);
      ctx.log.info({ namespace: nsName }, 'released namespace no longer listed by the organization');
    }
  }

  async function releaseNamespace(nsName: string, orgName: string): Promise<void> {
    const labels = Object.fromEntries(OWN_LABELS.map((l) => [l, null]));
    await deps.http
      .request('PATCH', objectPath(NAMESPACES, undefined, nsName), { contentType: MERGE_PATCH, body: { metadata: { labels: { ...labels, [LABEL_MANAGED_BY]: null } } } })
      .catch(ignoreNotFound);
    await releaseBindings(nsName, orgName);
  }

  /** The organization's member and admin RoleBindings in a namespace that is not (or no longer) its own; its labels are the owner's to write. */
  async function releaseBindings(nsName: string, orgName: string): Promise<void> {
    for (const rb of bindings.list()) {
      if (rb.metadata?.namespace === nsName && rb.metadata?.labels?.[LABEL_ORGANIZATION] === orgName) {
        await deleteIfExists(deps.http, objectPath(MANAGED_ROLEBINDINGS, nsName, rb.metadata!.name!));
      }
    }
  }
}
