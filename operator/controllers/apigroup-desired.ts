// Pure: what an ApiGroup's status says, from its membership (model/api-group.ts
// groupMembership, the one decision the webhook, the Application and Contract
// reconcilers and the gateway-config writer also use).
import type { ConditionInput } from '../../kube/conditions.ts';
import { MAX_GROUP_INSTANCES } from '../../api/v1alpha1/index.ts';
import type { GroupMembership } from '../../model/api-group.ts';

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
