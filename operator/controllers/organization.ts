// Organization reconciler: labels (creating if absent) the organization's
// namespaces, binds its member and admin groups to crossgate-view and
// crossgate-edit there, and reports Ready with its environments and
// RouteClaims (void route claims, model/route-claims.ts). Decisions live in
// organization-desired.ts and model/; the namespace and RoleBinding writes in
// organization-namespaces.ts.
import type { V1Namespace, V1RoleBinding } from '@kubernetes/client-node';
import type { Manager, ReconcileContext, ReconcileResult } from '../../kube/controller.ts';
import { describeError } from '../../kube/kube.ts';
import { ensureFinalizer, removeFinalizer, reportConditionChange } from '../../kube/effects.ts';
import type { Deps } from './deps.ts';
import { ownConditions, type Condition } from '../../kube/conditions.ts';
import type { Organization } from '../../api/v1alpha1/index.ts';
import { FINALIZER_ORGANIZATION, LABEL_ORGANIZATION } from '../../api/labels.ts';
import { MANAGED_ROLEBINDINGS, NAMESPACES, ORGANIZATIONS } from '../resources.ts';
import type { PlatformSettings } from '../../api/platform.ts';
import { NO_PLATFORM_SETTINGS } from '../../api/platform.ts';
import { claimsSummary, effectiveClaimsAmong, voidClaimsMessage } from '../../model/route-claims.ts';
import { findConflicts, namespacesOf } from './organization-desired.ts';
import { SYSTEM_NAMESPACES } from '../../model/snapshot.ts';
import { namespaceSteps } from './organization-namespaces.ts';

/** The field manager of an Organization's status (server-side apply). */
export const ORGANIZATION_MANAGER = 'crossgate-organization';

export function registerOrganizationController(mgr: Manager, deps: Deps & { settings?: PlatformSettings; platformNamespace?: string }): void {
  // As the webhook's (webhook/main.ts): the system namespaces and crossgate's own.
  const reserved: ReadonlySet<string> = new Set([...SYSTEM_NAMESPACES, deps.platformNamespace ?? 'crossgate-system']);
  const orgs = mgr.informer<Organization & { kind: string; apiVersion: string }>(ORGANIZATIONS);
  const namespaces = mgr.informer<V1Namespace>(NAMESPACES);
  const steps = namespaceSteps(deps, namespaces, mgr.informer<V1RoleBinding>(MANAGED_ROLEBINDINGS));

  const allOrgs = () => orgs.list().map((o) => o.metadata!.name!);
  /** A namespace concerns the organization that labeled it and every organization that lists it. */
  const orgsOfNamespace = (ns: V1Namespace) => {
    const name = ns.metadata?.name;
    const keys = new Set<string>();
    const label = ns.metadata?.labels?.[LABEL_ORGANIZATION];
    if (label) keys.add(label);
    for (const o of orgs.list()) if (namespacesOf(o).some((n) => n.namespace === name)) keys.add(o.metadata!.name!);
    return [...keys];
  };

  mgr.addController({
    name: 'organization',
    for: ORGANIZATIONS,
    watches: [
      // Another organization's change can start or end a conflict with this one.
      { resource: ORGANIZATIONS, map: () => allOrgs() },
      { resource: NAMESPACES, map: (ns) => orgsOfNamespace(ns as V1Namespace) },
      { resource: MANAGED_ROLEBINDINGS, map: (rb) => rb.metadata?.labels?.[LABEL_ORGANIZATION] ?? [] },
    ],
    reconcile: async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const org = orgs.get(key);
      if (!org) return; // gone: its RoleBindings follow through ownerReferences
      if (org.metadata?.deletionTimestamp) return finalize(org, ctx);
      if (await ensureFinalizer(deps.http, ORGANIZATIONS, org, FINALIZER_ORGANIZATION)) return; // the update event brings us back
      return reconcileOrg(org, ctx);
    },
  });

  async function reconcileOrg(org: Organization & { kind: string; apiVersion: string }, ctx: ReconcileContext): Promise<void> {
    const name = org.metadata!.name!;
    const conflicts = findConflicts(org, orgs.list(), reserved);
    const contested = new Set(conflicts.flatMap((c) => c.namespaces));
    const domainConflict = conflicts.find((c) => c.reason === 'DomainConflict');

    const envStatus: Array<{ name: string; namespace: string; type: string; ready: boolean }> = [];
    const wantedNamespaces = namespacesOf(org);
    const errors: string[] = [];
    // Bindings it made in a namespace an older Organization (or the platform) holds, before it saw that holder (two
    // Organizations created at once): removed, else its groups keep reading or writing the holder's objects there.
    for (const nsName of contested) await steps.releaseBindings(nsName, name);
    if (!domainConflict) {
      for (const ns of wantedNamespaces) {
        if (contested.has(ns.namespace)) continue;
        try {
          await steps.applyNamespace(org, ns, ctx);
        } catch (err) {
          errors.push(`namespace ${ns.namespace}: ${describeError(err)}`);
        }
      }
    }
    // Also under a domain conflict: a namespace dropped from the spec is no longer this organization's, whatever else is wrong.
    // A reserved namespace it labeled and bound before is released too.
    await steps.releaseStaleNamespaces(org, new Set(wantedNamespaces.map((n) => n.namespace).filter((n) => !reserved.has(n))), ctx);
    for (const ns of wantedNamespaces) {
      if (ns.role !== 'environment') continue;
      const found = namespaces.get(ns.namespace);
      const ready =
        !domainConflict && !contested.has(ns.namespace) && !errors.some((e) => e.startsWith(`namespace ${ns.namespace}:`)) &&
        found?.metadata?.labels?.[LABEL_ORGANIZATION] === name;
      envStatus.push({ name: ns.environment!, namespace: ns.namespace, type: ns.type!, ready: Boolean(ready) });
    }

    // A granted claim (else the older Organization) keeps contested route space: the same effective claims the route verdicts use.
    const claims = effectiveClaimsAmong(org, orgs.list(), deps.settings ?? NO_PLATFORM_SETTINGS);
    const routeClaims = claims.void.length
      ? { type: 'RouteClaims', status: 'False' as const, reason: 'RouteClaimConflict', message: voidClaimsMessage(claims) }
      : { type: 'RouteClaims', status: 'True' as const, reason: 'Assigned', message: claimsSummary(claims) };

    const generation = org.metadata?.generation ?? 0;
    const previous: Condition[] = deps.status.current(org)?.conditions ?? [];
    let condition;
    if (conflicts.length > 0) {
      condition = { type: 'Ready', status: 'False' as const, reason: conflicts[0]!.reason, message: conflicts.map((c) => c.message).join('; ') };
    } else if (errors.length > 0) {
      condition = { type: 'Ready', status: 'False' as const, reason: 'ApplyFailed', message: errors.join('; ') };
    } else if (claims.void.length > 0) {
      condition = { ...routeClaims, type: 'Ready' };
    } else if (envStatus.some((e) => !e.ready)) {
      condition = { type: 'Ready', status: 'False' as const, reason: 'Progressing', message: 'waiting for namespaces to be labeled' };
    } else {
      const envs = envStatus.map((e) => `${e.name} (${e.namespace})`).join(', ');
      condition = { type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: `home namespace ${org.spec.homeNamespace}; environments: ${envs}` };
    }
    // Waiting for namespaces is the normal way to Ready, not a warning.
    reportConditionChange(org, previous, condition, { events: deps.events, quiet: (c) => c.reason === 'Progressing' });
    await deps.status.applyStatus(
      org,
      ORGANIZATIONS.plural,
      {
        observedGeneration: generation,
        conditions: ownConditions(previous, [condition, routeClaims], generation),
        environments: envStatus,
        environmentCount: envStatus.filter((e) => e.ready).length,
        routeClaims: { hostnames: [...claims.hostnames], pathPrefixes: [...claims.pathPrefixes] },
      },
      ORGANIZATION_MANAGER,
    );
    if (errors.length > 0) throw new Error(errors.join('; ')); // retry with back-off
  }

  async function finalize(org: Organization & { kind: string; apiVersion: string }, ctx: ReconcileContext): Promise<void> {
    const name = org.metadata!.name!;
    for (const ns of namespaces.list()) {
      if (ns.metadata?.labels?.[LABEL_ORGANIZATION] === name) await steps.releaseNamespace(ns.metadata!.name!, name);
    }
    await removeFinalizer(deps.http, ORGANIZATIONS, org, FINALIZER_ORGANIZATION);
    ctx.log.info('released namespaces of deleted organization');
  }
}
