// The kinds of crossgate.dev/v1alpha1, in dependency order.
import type { KindDefinition } from './common.ts';
import { organizationDefinition } from './organization.ts';
import { orgTrustDefinition } from './orgtrust.ts';
import { assetDefinition } from './asset.ts';
import { assetShareDefinition } from './assetshare.ts';
import { apiInstanceDefinition } from './apiinstance.ts';
import { apiGroupDefinition } from './apigroup.ts';
import { policyDefinition } from './policy.ts';
import { slaTierDefinition } from './slatier.ts';
import { apiKeyDefinition } from './apikey.ts';
import { applicationDefinition } from './application.ts';
import { contractDefinition } from './contract.ts';
import { alertDefinition } from './alert.ts';
import { apiPromotionDefinition } from './apipromotion.ts';

export * from './common.ts';
export * from './organization.ts';
export * from './orgtrust.ts';
export * from './asset.ts';
export * from './assetshare.ts';
export * from './apiinstance.ts';
export * from './apigroup.ts';
export * from './policy.ts';
export * from './slatier.ts';
export * from './apikey.ts';
export * from './application.ts';
export * from './contract.ts';
export * from './alert.ts';
export * from './apipromotion.ts';

export const KINDS: readonly KindDefinition[] = [
  organizationDefinition,
  orgTrustDefinition,
  assetDefinition,
  assetShareDefinition,
  apiInstanceDefinition,
  apiGroupDefinition,
  policyDefinition,
  slaTierDefinition,
  apiKeyDefinition,
  applicationDefinition,
  contractDefinition,
  alertDefinition,
  apiPromotionDefinition,
];

export function kindDefinition(kind: string): KindDefinition {
  const def = KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown crossgate kind ${kind}`);
  return def;
}
