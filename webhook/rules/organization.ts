// Rule: an Organization's domain and namespaces are its own. A second
// Organization claiming a domain or a namespace (home or environment) that
// another already holds is refused, naming the holder; so are the system
// namespaces and the operator's. On update only new claims are checked, so a
// conflict that predates the webhook does not block unrelated edits (the
// operator reports it in status).
//
// Route space (spec.routes) likewise: a new hostname or path prefix is refused
// when the operator would hold it void, with the same function it uses
// (effectiveClaimsAmong, model/route-claims.ts): it overlaps (equal, or one
// inside the other) a host name of the gateway itself, or a claim of another
// Organization that takes precedence (granted first, else older). The message
// names the other claimant. Nesting within one Organization is allowed.
import { ALLOW, deny, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { Organization } from '../../api/v1alpha1/index.ts';
import { claimOf, orgName, reservedNamespaceProblem } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { claimsOf, effectiveClaimsAmong, overlapMessage } from '../../model/route-claims.ts';
import { DNS_LABEL_HINT, isDnsLabel, show } from './common.ts';

type Spec = Organization['spec'];

function claims(spec: Partial<Spec>): { namespace: string; field: string }[] {
  const out: { namespace: string; field: string }[] = [];
  if (typeof spec.homeNamespace === 'string') out.push({ namespace: spec.homeNamespace, field: 'spec.homeNamespace' });
  for (const [i, env] of (Array.isArray(spec.environments) ? spec.environments : []).entries()) {
    if (typeof env?.namespace === 'string') out.push({ namespace: env.namespace, field: `spec.environments[${i}].namespace` });
  }
  return out;
}

export function organizationRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const name = request.object?.metadata?.name ?? request.name ?? '';
  const spec = specOf<Spec>(request.object);
  const old = request.operation === 'UPDATE' && request.oldObject ? specOf<Spec>(request.oldObject) : undefined;
  const others = snapshot.organizations().filter((o) => orgName(o) !== name);

  const domain = spec.domain;
  if (!isDnsLabel(domain)) return deny(`spec.domain ${show(domain)} is not a well-formed domain: a domain is ${DNS_LABEL_HINT}.`, 'spec.domain');
  if (old?.domain !== domain) {
    const holder = others.find((o) => o.spec?.domain === domain);
    if (holder) {
      return deny(
        `domain "${domain}" is already taken by Organization "${orgName(holder)}": peers trust an organization by its domain, so each domain belongs to one Organization. Choose another domain.`,
        'spec.domain',
      );
    }
  }

  const before = new Set(old ? claims(old).map((c) => c.namespace) : []);
  for (const { namespace, field } of claims(spec)) {
    if (before.has(namespace)) continue;
    const reserved = reservedNamespaceProblem(snapshot.reservedNamespaces, namespace);
    if (reserved) return deny(`${field} ${reserved}. Choose another namespace.`, field);
    const holder = others.find((o) => claimOf(o, namespace));
    if (holder) {
      const claim = claimOf(holder, namespace)!;
      const as = claim.role === 'home' ? 'its home namespace' : `the namespace of its environment "${claim.environment}"`;
      return deny(
        `${field} "${namespace}" is already claimed by Organization "${orgName(holder)}" as ${as}: a namespace belongs to one Organization. Choose another namespace.`,
        field,
      );
    }
    // A namespace's crossgate.dev/organization label is not a claim: only specs are (model/ownership.ts).
  }
  return routeClaimRule(request, others, snapshot);
}

function routeClaimRule(request: AdmissionRequestLike, others: readonly Organization[], snapshot: Snapshot): Verdict {
  // The Organization as it would be stored: the new spec, and on update the claims the operator granted it
  // (status, which only the operator writes: taken from the stored object, never from the request's).
  const stored = request.operation === 'UPDATE' ? (request.oldObject as Organization | null | undefined) : undefined;
  const candidate = { metadata: request.object?.metadata ?? {}, spec: specOf<Spec>(request.object), ...(stored?.status ? { status: stored.status } : {}) } as Organization;
  const before = claimsOf(stored ?? undefined);
  // Only new claims are refused: a conflict that predates the webhook does not block unrelated edits.
  const overlaps = effectiveClaimsAmong(candidate, [...others, candidate], snapshot.platform).void.filter((v) => !before[v.field].includes(v.claim));
  const first = overlaps[0];
  if (!first) return ALLOW;
  const holders = [...new Set(overlaps.flatMap((o) => (o.heldBy === undefined ? [] : [o.heldBy])))];
  const hints = [
    ...(holders.length ? [`Two Organizations may not claim overlapping route space (equal, or one inside the other): choose claims that do not overlap, or remove them from Organization ${holders.map((h) => `"${h}"`).join(', ')} first`] : []),
    ...(overlaps.some((o) => o.heldBy === undefined) ? ['The gateway\'s own host names belong to no Organization: choose another hostname'] : []),
  ];
  return deny(`${overlaps.map(overlapMessage).join('; ')}. ${hints.join('. ')}.`, `spec.routes.${first.field}`);
}
