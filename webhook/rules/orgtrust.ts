// Rule: an OrgTrust names a well-formed peer domain that is not the
// organization's own, and is named after it (one OrgTrust per peer).
import { ALLOW, deny, objectName, objectNamespace, specOf, type AdmissionRequestLike, type Verdict } from '../admission.ts';
import type { OrgTrust } from '../../api/v1alpha1/index.ts';
import { orgName, ownerOfNamespace } from '../../model/ownership.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { DNS_LABEL_HINT, isDnsLabel, show } from './common.ts';
import { namespaceOwnership } from './namespace-ownership.ts';

export function orgTrustRules(request: AdmissionRequestLike, snapshot: Snapshot): Verdict {
  const owner = ownerOfNamespace(snapshot, objectNamespace(request));
  if (!owner) return namespaceOwnership(request, snapshot);
  const spec = specOf<OrgTrust['spec']>(request.object);
  const peer = spec.peerDomain;
  const name = objectName(request);

  if (!isDnsLabel(peer)) {
    return deny(`spec.peerDomain ${show(peer)} is not a well-formed organization domain: a domain is ${DNS_LABEL_HINT}.`, 'spec.peerDomain');
  }
  const org = owner.organization;
  const domain = org.spec?.domain;
  if (peer === domain) {
    return deny(
      `Organization "${orgName(org)}" cannot declare trust in its own domain "${domain}": an OrgTrust names another organization's domain.`,
      'spec.peerDomain',
    );
  }
  if (name && name !== peer) {
    return deny(
      `OrgTrust "${name}" must be named after its spec.peerDomain "${peer}", so that each peer is trusted at most once: name it "${peer}".`,
      'metadata.name',
    );
  }
  return ALLOW;
}
