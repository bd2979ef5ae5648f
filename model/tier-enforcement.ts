// Whether an ApiInstance's SlaTiers are enforced. Tier limits are counted per
// contract, and only a credential policy (api-key, client-id-enforcement)
// tells the gateway which contract (and tier) a request belongs to: without
// one the route serves anonymous, unlimited traffic whatever its tiers say.
// One decision for the ApiInstance's TiersEnforced condition and each
// SlaTier's Ready condition, so the two agree.
import type { Policy } from '../api/v1alpha1/index.ts';

export interface TierEnforcement {
  status: 'True' | 'False';
  /** CamelCase: NoTiers, ApiKeyPolicy, ClientIdEnforcementPolicy, NoApiKeyPolicy (no credential policy of either type). */
  reason: string;
  message: string;
}

type PolicyLike = Pick<Policy, 'metadata'> & { spec: Pick<Policy['spec'], 'type'> };

/** The policy types that identify a request's contract, so tiers can be counted. */
export const CREDENTIAL_POLICY_TYPES = ['api-key', 'client-id-enforcement'] as const;

/** The first credential policy among `applied` (the policies applied to the instance): api-key before client-id-enforcement. */
function credentialPolicy(applied: readonly PolicyLike[]): { type: (typeof CREDENTIAL_POLICY_TYPES)[number]; name: string } | undefined {
  for (const type of CREDENTIAL_POLICY_TYPES) {
    const p = applied.find((x) => x.spec.type === type);
    if (p) return { type, name: p.metadata?.name ?? '' };
  }
  return undefined;
}

/** The instance's TiersEnforced condition, given the policies applied to it and the number of its SlaTiers. */
export function tierEnforcement(instanceName: string, applied: readonly PolicyLike[], tiers: number): TierEnforcement {
  const by = credentialPolicy(applied);
  if (tiers === 0) return { status: 'True', reason: 'NoTiers', message: 'the instance has no SlaTiers: nothing to enforce' };
  if (by) {
    return {
      status: 'True',
      reason: by.type === 'api-key' ? 'ApiKeyPolicy' : 'ClientIdEnforcementPolicy',
      message: `${tiers} SlaTier${tiers === 1 ? '' : 's'} enforced per contract through ${by.type} Policy "${by.name}"`,
    };
  }
  return {
    status: 'False',
    reason: 'NoApiKeyPolicy',
    message: `ApiInstance "${instanceName}" has ${tiers} SlaTier${tiers === 1 ? '' : 's'} but no api-key or client-id-enforcement Policy applies to it: the gateway serves it without credentials and without tier limits; apply an api-key or client-id-enforcement Policy to it (spec.targetRef naming "${instanceName}", or a selector matching it) to enforce the tiers`,
  };
}

/** Why a tier of `instanceName` is not enforced, or undefined when it is (a credential policy applies to its instance). */
export function tierNotEnforced(instanceName: string, applied: readonly PolicyLike[]): string | undefined {
  if (credentialPolicy(applied)) return undefined;
  return `is not enforced: no api-key or client-id-enforcement Policy applies to the instance, so the gateway serves it without credentials and this tier's limits count nothing; apply an api-key or client-id-enforcement Policy to "${instanceName}"`;
}
