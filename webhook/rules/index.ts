// Which rules apply to which kind, and the one entry point the server calls.
// Rules run in order and the first refusal is the answer: the namespace is
// settled before anything reasons about the organization it implies, the
// specific rules (with the messages users should read) come next, and the
// whole-schema check last, as a catch-all. Every rule reads the object
// defensively, so none depends on the schema check having run.
import { ALLOW, deny, isBeingDeleted, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import { GROUP, KINDS, VERSION } from '../../api/v1alpha1/index.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { alertRules } from './alert.ts';
import { apiGroupRules } from './apigroup.ts';
import { apiInstanceRules } from './apiinstance.ts';
import { apiKeyRules } from './apikey.ts';
import { apiPromotionRules } from './apipromotion.ts';
import { applicationRules } from './application.ts';
import { assetShareRules } from './assetshare.ts';
import { namespaceOwnership } from './namespace-ownership.ts';
import { organizationRules } from './organization.ts';
import { orgTrustRules } from './orgtrust.ts';
import { policyRules } from './policy.ts';
import { matchesSchema } from './schema.ts';
import { slaTierRules } from './slatier.ts';
import { speaksForOrganization } from './speaks-for-organization.ts';

export type Rule = (request: AdmissionRequestLike, snapshot: Snapshot) => Verdict;

const namespaced = (...specific: Rule[]): readonly Rule[] => [namespaceOwnership, speaksForOrganization, ...specific, matchesSchema];

export const RULES: Readonly<Record<string, readonly Rule[]>> = {
  Organization: [organizationRules, matchesSchema],
  OrgTrust: namespaced(orgTrustRules),
  Asset: namespaced(),
  AssetShare: namespaced(assetShareRules),
  ApiInstance: namespaced(apiInstanceRules),
  ApiGroup: namespaced(apiGroupRules),
  Policy: namespaced(policyRules),
  SlaTier: namespaced(slaTierRules),
  ApiKey: namespaced(apiKeyRules),
  Application: namespaced(applicationRules),
  Contract: namespaced(),
  Alert: namespaced(alertRules),
  ApiPromotion: namespaced(apiPromotionRules),
};

// Every kind of the API has its rules: a kind added to api/ without rules would fail closed.
for (const def of KINDS) if (!RULES[def.kind]) throw new Error(`webhook: no admission rules for kind ${def.kind}`);

/**
 * The admission decision for one request. Never throws for a malformed
 * request: it refuses it (fail closed). Exceptions inside a rule propagate to
 * the caller, which must refuse as well.
 */
export function review(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const op = request.operation;
  if (op === 'DELETE') return ALLOW;
  if (op !== 'CREATE' && op !== 'UPDATE') return deny(`the crossgate webhook validates CREATE and UPDATE only, not ${JSON.stringify(op)}`);
  const gvk = request.kind;
  const rules = gvk?.group === GROUP && gvk.version === VERSION ? RULES[gvk.kind] : undefined;
  if (!rules) {
    const named = gvk ? `${gvk.group || 'core'}/${gvk.version} ${gvk.kind}` : 'a request without a kind';
    return deny(`the crossgate webhook has no rules for ${named}; it refuses what it does not know (fail closed)`);
  }
  const obj = request.object;
  if (!obj || typeof obj !== 'object') return deny(`the admission request for ${gvk.kind} carries no object`);
  // An object on its way out (finalizers being removed) must be able to leave.
  if (op === 'UPDATE' && isBeingDeleted(obj)) return ALLOW;
  for (const rule of rules) {
    const verdict = rule(request, snapshot);
    if (!verdict.allowed) return verdict;
  }
  return ALLOW;
}
