// Pure decisions for the SlaTier reconciler, shared with the gateway-config
// renderer: the tiers of an instance, the approved contracts of a tier, and
// the status a tier reports. No I/O.
import type { ApiInstance, Contract, SlaTier } from '../../api/v1alpha1/index.ts';
import type { ConditionInput } from '../../kube/conditions.ts';
import { tierNotEnforced } from '../../model/tier-enforcement.ts';

type TierLike = Pick<SlaTier, 'metadata'> & { spec: Pick<SlaTier['spec'], 'apiInstanceRef' | 'limits' | 'approval'> };
type ContractLike = Pick<Contract, 'metadata'> & { spec: Pick<Contract['spec'], 'apiInstanceRef' | 'tier'>; status?: Pick<NonNullable<Contract['status']>, 'state'> };
type InstanceLike = Pick<ApiInstance, 'metadata'>;

/** Whether `contract` is an Approved contract at `tier`: same namespace, same instance, tier named after it. */
export function isApprovedContractOf(tier: TierLike, contract: ContractLike): boolean {
  return (
    !contract.metadata?.deletionTimestamp &&
    contract.metadata?.namespace === tier.metadata?.namespace &&
    contract.spec?.tier === tier.metadata?.name &&
    contract.spec?.apiInstanceRef?.name === tier.spec.apiInstanceRef.name &&
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
        t.spec.apiInstanceRef.name === instance.metadata?.name,
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
  const ref = tier.spec.apiInstanceRef.name;
  const count = approvedContracts(tier, contracts);
  const instance = instances.find((i) => i.metadata?.namespace === ns && i.metadata?.name === ref && !i.metadata?.deletionTimestamp);
  if (!instance) {
    return {
      contracts: count,
      ready: { type: 'Ready', status: 'False', reason: 'InstanceNotFound', message: `ApiInstance "${ref}" does not exist in namespace "${ns}"` },
    };
  }
  const approval = tier.spec.approval ?? 'automatic';
  const notEnforced = tierNotEnforced(ref, applied);
  if (notEnforced) {
    return { contracts: count, ready: { type: 'Ready', status: 'False', reason: 'NotEnforced', message: `tier of ApiInstance "${ref}" ${notEnforced}` } };
  }
  return {
    contracts: count,
    ready: {
      type: 'Ready',
      status: 'True',
      reason: 'Available',
      message: `tier of ApiInstance "${ref}": ${describeLimits(tier)}; ${approval} approval; ${count} approved contract${count === 1 ? '' : 's'}`,
    },
  };
}
