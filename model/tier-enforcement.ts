// Whether an ApiInstance's SlaTiers are enforced. Tier limits are counted per
// contract, and only an api-key policy tells the gateway which contract (and
// tier) a request belongs to: without one the route serves keyless, unlimited
// traffic whatever its tiers say. One decision for the ApiInstance's
// TiersEnforced condition and each SlaTier's Ready condition, so the two agree.
import type { Policy } from '../api/v1alpha1/index.ts';

export interface TierEnforcement {
  status: 'True' | 'False';
  /** CamelCase: NoTiers, ApiKeyPolicy, NoApiKeyPolicy. */
  reason: string;
  message: string;
}

type PolicyLike = Pick<Policy, 'metadata'> & { spec: Pick<Policy['spec'], 'type'> };

/** The api-key policies among `applied` (the policies applied to the instance), by name. */
function apiKeyPolicies(applied: readonly PolicyLike[]): string[] {
  return applied.filter((p) => p.spec.type === 'api-key').map((p) => p.metadata?.name ?? '');
}

/** The instance's TiersEnforced condition, given the policies applied to it and the number of its SlaTiers. */
export function tierEnforcement(instanceName: string, applied: readonly PolicyLike[], tiers: number): TierEnforcement {
  const keyPolicies = apiKeyPolicies(applied);
  if (tiers === 0) return { status: 'True', reason: 'NoTiers', message: 'the instance has no SlaTiers: nothing to enforce' };
  if (keyPolicies.length > 0) {
    return { status: 'True', reason: 'ApiKeyPolicy', message: `${tiers} SlaTier${tiers === 1 ? '' : 's'} enforced per contract through api-key Policy "${keyPolicies[0]}"` };
  }
  return {
    status: 'False',
    reason: 'NoApiKeyPolicy',
    message: `ApiInstance "${instanceName}" has ${tiers} SlaTier${tiers === 1 ? '' : 's'} but no api-key Policy applies to it: the gateway serves it without keys and without tier limits; apply an api-key Policy to it (spec.targetRef naming "${instanceName}", or a selector matching it) to enforce the tiers`,
  };
}

/** Why a tier of `instanceName` is not enforced, or undefined when it is (an api-key policy applies to its instance). */
export function tierNotEnforced(instanceName: string, applied: readonly PolicyLike[]): string | undefined {
  if (apiKeyPolicies(applied).length > 0) return undefined;
  return `is not enforced: no api-key Policy applies to the instance, so the gateway serves it without keys and this tier's limits count nothing; apply an api-key Policy to "${instanceName}"`;
}
