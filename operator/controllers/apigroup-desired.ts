// Pure: what an ApiGroup's status says, from its membership (model/api-group.ts
// groupMembership, the one decision the webhook, the Application and Contract
// reconcilers and the gateway-config writer also use).
import type { ConditionInput } from '../../kube/conditions.ts';
import { MAX_GROUP_INSTANCES } from '../../api/v1alpha1/index.ts';
import type { ApiInstance, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { memberId, type GroupMembership } from '../../model/api-group.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { withinRouteSpace } from '../../model/route-claims.ts';
import { routeVerdict } from '../../model/route-verdict.ts';
import { conflictMessage, routeConflictOf } from '../../model/route-conflicts.ts';
import { policiesFor } from '../../model/policy-selection.ts';
import { routeTiersFor } from './slatier-desired.ts';

export interface GroupStatusDecision {
  ready: ConditionInput;
  members: number;
  missing: string[];
}

export function desiredGroupStatus(m: GroupMembership): GroupStatusDecision {
  const missing = m.missing.map((p) => `${p.namespace}/${p.name}`).slice(0, MAX_GROUP_INSTANCES);
  const members = m.members.length;
  if (m.misplaced) return { members: 0, missing, ready: { type: 'Ready', status: 'False', reason: 'NotInHomeNamespace', message: `${m.misplaced}; no member is reachable through it` } };
  if (m.missing.length > 0) {
    const foreign = m.missing.some((p) => p.reason !== 'InstanceNotFound');
    const why = m.missing.map((p) => p.message).join('; ');
    return {
      members,
      missing,
      ready: {
        type: 'Ready',
        status: 'False',
        reason: foreign ? 'ForeignMember' : 'MemberNotFound',
        message: `${members} of ${members + m.missing.length} members resolved; left out (never reached through the group): ${why}`.slice(0, 4096),
      },
    };
  }
  return { members, missing, ready: { type: 'Ready', status: 'True', reason: 'Resolved', message: `${members} member${members === 1 ? '' : 's'}: ${m.members.map((i) => `${i.metadata.namespace}/${i.metadata.name}`).join(', ')}` } };
}

/** A resolved member whose route the gateway does not serve, and why (its ApiInstance's Ready reason and message). */
export interface MemberNotServed {
  instance: string;
  reason: string;
  message: string;
}

export interface RouteFacts {
  snapshot: Snapshot;
  /** Every ApiInstance (route conflicts are decided among them). */
  instances: readonly ApiInstance[];
  policies: readonly Policy[];
  tiers: readonly SlaTier[];
}

/**
 * The members whose route the gateway does not serve, from the decisions the gateway-config writer makes
 * (gatewayconfig/served-routes.ts): a route conflict lost to an older instance (model/route-conflicts.ts), or a route
 * verdict that holds the route closed or leaves it out (model/route-verdict.ts). Those members are in no grant of
 * the group. A route the renderer trims to fit its shard is not known here (the instance's own status does not say
 * it either): the gateway_config metrics and operator log name it.
 */
export function membersNotServed(members: readonly ApiInstance[], from: RouteFacts): MemberNotServed[] {
  const contenders = from.instances.filter(withinRouteSpace(from.snapshot));
  const out: MemberNotServed[] = [];
  for (const instance of members) {
    const conflict = routeConflictOf(instance, contenders);
    if (conflict) {
      out.push({ instance: memberId(instance), reason: 'RouteConflict', message: conflictMessage(conflict) });
      continue;
    }
    const problem = routeVerdict({ snapshot: from.snapshot, instance, policies: policiesFor(instance, from.policies), tiers: routeTiersFor(from.snapshot, instance, from.tiers) });
    if (problem) out.push({ instance: memberId(instance), reason: problem.reason, message: problem.message });
  }
  return out;
}

/** MembersServed: True while the gateway serves every resolved member's route; False naming each that it does not, and why. */
export function desiredServedCondition(members: number, notServed: readonly MemberNotServed[]): ConditionInput {
  if (notServed.length === 0) {
    return { type: 'MembersServed', status: 'True', reason: 'AllServed', message: members === 0 ? 'no member resolves' : `the gateway serves every member's route (${members})` };
  }
  const why = notServed.map((n) => `"${n.instance}" (${n.reason}: ${n.message})`).join('; ');
  return {
    type: 'MembersServed',
    status: 'False',
    reason: 'MemberNotServed',
    message: `${notServed.length} of ${members} members not served, so left out of every grant of the group until fixed (see each ApiInstance's Ready condition): ${why}`.slice(0, 4096),
  };
}

/** status.notServed: each member not served and its reason, bounded as the schema is. */
export function notServedStatus(notServed: readonly MemberNotServed[]): Array<{ instance: string; reason: string }> {
  return notServed.slice(0, MAX_GROUP_INSTANCES).map((n) => ({ instance: n.instance.slice(0, 317), reason: n.reason.slice(0, 128) }));
}
