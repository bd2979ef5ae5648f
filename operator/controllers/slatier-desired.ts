// Pure decisions for the SlaTier reconciler, shared with the gateway-config
// renderer: the tiers of an instance, the approved contracts of a tier, and
// the status a tier reports. No I/O.
import type { ApiInstance, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import { tierNotEnforced } from '../../model/tier-enforcement.ts';
import { groupTierName, groupsOfInstance } from '../../model/api-group.ts';
import type { Snapshot } from '../../model/snapshot.ts';

type TierLike = Pick<SlaTier, 'metadata'> & { spec: Pick<SlaTier['spec'], 'apiInstanceRef' | 'apiGroupRef' | 'limits' | 'approval'> };
type ContractLike = Pick<Contract, 'metadata'> & { spec: Pick<Contract['spec'], 'apiInstanceRef' | 'apiGroupRef' | 'tier'>; status?: Pick<NonNullable<Contract['status']>, 'state'> };
type InstanceLike = Pick<ApiInstance, 'metadata'>;

/** Whether `contract` is an Approved contract at `tier`: same namespace, same instance (or group), tier named after it. */
export function isApprovedContractOf(tier: TierLike, contract: ContractLike): boolean {
  return (
    !contract.metadata?.deletionTimestamp &&
    contract.metadata?.namespace === tier.metadata?.namespace &&
    contract.spec?.tier === tier.metadata?.name &&
    (tier.spec.apiGroupRef
      ? contract.spec?.apiGroupRef?.name === tier.spec.apiGroupRef.name
      : !contract.spec?.apiGroupRef && contract.spec?.apiInstanceRef?.name === tier.spec.apiInstanceRef?.name) &&
    contract.status?.state === 'Approved'
  );
}

export function approvedContracts(tier: TierLike, contracts: readonly ContractLike[]): number {
  return contracts.filter((c) => isApprovedContractOf(tier, c)).length;
}

/** The tiers of an instance (same namespace, apiInstanceRef naming it, not being deleted), sorted by name. */
export function tiersFor<T extends TierLike>(instance: InstanceLike, tiers: readonly T[]): T[] {
  return tiers
    .filter(
      (t) =>
        !t.metadata?.deletionTimestamp &&
        t.metadata?.namespace === instance.metadata?.namespace &&
        t.spec.apiInstanceRef?.name === instance.metadata?.name,
    )
    .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0));
}

/** "1000 per minute, 20 per second", shortest window first. */
export function describeLimits(tier: TierLike): string {
  const order = { second: 0, minute: 1, hour: 2, day: 3 } as Record<string, number>;
  return [...(tier.spec.limits ?? [])]
    .sort((a, b) => (order[a.period] ?? 9) - (order[b.period] ?? 9))
    .map((l) => `${l.requests} per ${l.period}`)
    .join(', ');
}

export interface TierStatusDecision {
  ready: ConditionInput;
  contracts: number;
}

/**
 * Ready and the approved-contract count of a tier, given the instances and contracts of its namespace
 * and the policies applied to its instance (policiesFor): a tier whose instance has no api-key policy
 * is not Ready (NotEnforced), since nothing counts requests per contract there.
 */
export function desiredTierStatus(
  tier: TierLike,
  instances: readonly InstanceLike[],
  contracts: readonly ContractLike[],
  applied: ReadonlyArray<Parameters<typeof tierNotEnforced>[1][number]>,
): TierStatusDecision {
  const ns = tier.metadata?.namespace ?? '';
  const ref = tier.spec.apiInstanceRef?.name ?? '';
  const count = approvedContracts(tier, contracts);
  const instance = instances.find((i) => i.metadata?.namespace === ns && i.metadata?.name === ref && !i.metadata?.deletionTimestamp);
  if (!instance) {
    return {
      contracts: count,
      ready: { type: 'Ready', status: 'False', reason: 'InstanceNotFound', message: `ApiInstance "${ref}" does not exist in namespace "${ns}"` },
    };
  }
  const notEnforced = tierNotEnforced(ref, applied);
  if (notEnforced) {
    return { contracts: count, ready: { type: 'Ready', status: 'False', reason: 'NotEnforced', message: `tier of ApiInstance "${ref}" ${notEnforced}` } };
  }
  return available(tier, `tier of ApiInstance "${ref}"`, count);
}

/** Ready=True Available, telling `what` the tier is, its limits, its approval and its approved contracts. */
function available(tier: TierLike, what: string, count: number): TierStatusDecision {
  const approval = tier.spec.approval ?? 'automatic';
  const message = `${what}: ${describeLimits(tier)}; ${approval} approval; ${count} approved contract${count === 1 ? '' : 's'}`;
  return { contracts: count, ready: { type: 'Ready', status: 'True', reason: 'Available', message } };
}

/** The tiers of an ApiGroup (same namespace, apiGroupRef naming it, not being deleted), sorted by name. */
export function groupTiersFor<T extends TierLike>(group: { metadata?: { namespace?: string; name?: string } }, tiers: readonly T[]): T[] {
  return tiers
    .filter((t) => !t.metadata?.deletionTimestamp && t.metadata?.namespace === group.metadata?.namespace && t.spec.apiGroupRef?.name === group.metadata?.name)
    .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0));
}

/**
 * Ready and the approved-contract count of a group tier, given its group (undefined when it does not exist), the
 * group's resolved members (model/api-group.ts groupMembership) and the policies applied to each member. The tier is
 * counted per contract on every member route; it is enforced only where a credential policy applies, so a member
 * without one makes the tier NotEnforced (named), as an instance tier is.
 */
export function desiredGroupTierStatus(
  tier: TierLike,
  group: { metadata?: { name?: string; deletionTimestamp?: unknown } } | undefined,
  members: readonly { metadata?: { namespace?: string; name?: string } }[],
  contracts: readonly ContractLike[],
  appliedOf: (member: { metadata?: { namespace?: string; name?: string } }) => ReadonlyArray<Parameters<typeof tierNotEnforced>[1][number]>,
): TierStatusDecision {
  const ns = tier.metadata?.namespace ?? '';
  const ref = tier.spec.apiGroupRef?.name ?? '';
  const count = approvedContracts(tier, contracts);
  if (!group || group.metadata?.deletionTimestamp) {
    return { contracts: count, ready: { type: 'Ready', status: 'False', reason: 'GroupNotFound', message: `ApiGroup "${ref}" does not exist in namespace "${ns}"` } };
  }
  if (members.length === 0) {
    return { contracts: count, ready: { type: 'Ready', status: 'False', reason: 'NoMembers', message: `ApiGroup "${ref}" resolves no member ApiInstance: the tier limits nothing yet` } };
  }
  const unenforced = members.filter((m) => tierNotEnforced(m.metadata?.name ?? '', appliedOf(m)) !== undefined).map((m) => `${m.metadata?.namespace}/${m.metadata?.name}`);
  if (unenforced.length > 0) {
    return {
      contracts: count,
      ready: {
        type: 'Ready',
        status: 'False',
        reason: 'NotEnforced',
        message: `tier of ApiGroup "${ref}" is not enforced on ${unenforced.map((u) => `"${u}"`).join(', ')}: no api-key or client-id-enforcement Policy applies there, so the gateway serves those members without credentials and this tier counts nothing on them; apply one to each`,
      },
    };
  }
  return available(tier, `tier of ApiGroup "${ref}" (${members.length} member${members.length === 1 ? '' : 's'}, one count per contract across them)`, count);
}

/**
 * The tiers on an instance's route: its own, then the tiers of the ApiGroups of its organization that list it, each
 * under its route name "<group>/<tier>" (model/api-group.ts groupTierName). The renderer writes these, the route-size
 * budget counts them and TiersEnforced counts them, so the three agree.
 */
export function routeTiersFor<T extends SlaTier>(snapshot: Snapshot, instance: ApiInstance, tiers: readonly T[]): T[] {
  const own = tiersFor(instance, tiers);
  const groups = groupsOfInstance(snapshot, instance);
  if (groups.length === 0) return own;
  const fromGroups = groups.flatMap((g) =>
    groupTiersFor(g, tiers).map((t) => ({ ...t, metadata: { ...t.metadata, name: groupTierName(g.metadata.name!, t.metadata.name!) } }) as T),
  );
  return [...own, ...fromGroups];
}
