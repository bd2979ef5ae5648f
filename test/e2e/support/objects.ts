// The crossgate objects the isolation tests write again and again, as YAML for
// kubectl (the tool users use). Only what the tests vary is a parameter.

export interface OrganizationFixture {
  /** metadata.name, spec.domain and spec.displayName alike. */
  name: string;
  homeNamespace: string;
  /** Environment name defaults to "production", type to production. */
  environments: readonly { namespace: string; name?: string; type?: 'production' | 'sandbox' }[];
  /** spec.routes as written in YAML, e.g. `{pathPrefixes: ["/team"]}`. */
  routes?: string;
  /** Adds "<name>:members" as spec.memberGroups (adminGroups is always "<name>:admins"). */
  memberGroup?: boolean;
}

export function organizationYaml(o: OrganizationFixture): string {
  const environments = o.environments.map((e) => `{name: ${e.name ?? 'production'}, namespace: ${e.namespace}, type: ${e.type ?? 'production'}}`);
  return `apiVersion: crossgate.dev/v1alpha1
kind: Organization
metadata: {name: ${o.name}}
spec:
  domain: ${o.name}
  displayName: ${o.name}
  homeNamespace: ${o.homeNamespace}
  environments: [${environments.join(', ')}]
  adminGroups: ["${o.name}:admins"]
${o.memberGroup ? `  memberGroups: ["${o.name}:members"]\n` : ''}${o.routes ? `  routes: ${o.routes}\n` : ''}`;
}
