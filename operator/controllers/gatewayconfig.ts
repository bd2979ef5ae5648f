// Gateway config writer: one reconcile per gateway renders routes and the
// credential index (gatewayconfig-render.ts) and writes the ConfigMaps whose
// content changed — parts first, the manifest last, so a gateway never sees a
// manifest that names a part it cannot read yet.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Manager, ReconcileContext, ReconcileResult } from '../lib/controller.ts';
import { isAlreadyExists } from '../lib/kube.ts';
import type { ApiInstance, ApiKey, Contract, Policy, SlaTier } from '../../api/v1alpha1/index.ts';
import { LABEL_GATEWAY, PART_DATA_KEY, manifestName, type Credential } from '../../api/gateway/v1.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../api/labels.ts';
import { resolveAccess } from '../../model/access.ts';
import {
  APIINSTANCES, APIKEYS, ASSETSHARES, CONTRACTS, KEY_SECRETS, ORGANIZATIONS, ORGTRUSTS, POLICIES, SLATIERS, objectPath,
} from '../resources.ts';
import type { InformerSpec } from '../lib/controller.ts';
import { snapshotReader } from './snapshot.ts';
import { contractNameOf, credentialsOf, hashesOf, keyVerdict, secretNameOf } from './apikey-desired.ts';
import { render, routableInstances, type PreviousConfig } from './gatewayconfig-render.ts';
import { policiesFor, policyConfigErrors } from './policy-desired.ts';
import { tiersFor } from './slatier-desired.ts';
import type { Deps } from './organization.ts';

export const ANNOTATION_CHECKSUM = 'crossgate.dev/checksum';
export const ANNOTATION_GENERATION = 'crossgate.dev/generation';
/** Kubernetes refuses objects over 1 MiB; stay well below with room for metadata. */
export const MAX_PART_BYTES = 900 * 1024;

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };

export function gatewayConfigMaps(namespace: string): InformerSpec {
  return {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespace,
    labelSelector: LABEL_GATEWAY,
    // The checksum and generation annotations are all the writer needs: do not hold megabytes of parts in memory.
    transform: {
      name: 'configmap-metadata-only',
      fn: (obj) => {
        const { data: _d, binaryData: _b, ...rest } = obj as typeof obj & { data?: unknown; binaryData?: unknown };
        if (rest.metadata) delete rest.metadata.managedFields;
        return rest;
      },
    },
  };
}

export function registerGatewayConfigController(mgr: Manager, deps: Deps & { gatewayNamespace: string; now?: () => Date }): void {
  const ns = deps.gatewayNamespace;
  const instances = mgr.informer<ApiInstance & { kind: string }>(APIINSTANCES);
  const policies = mgr.informer<Policy & { kind: string }>(POLICIES);
  const tiers = mgr.informer<SlaTier & { kind: string }>(SLATIERS);
  const keys = mgr.informer<ApiKey & { kind: string }>(APIKEYS);
  const contracts = mgr.informer<Contract & { kind: string }>(CONTRACTS);
  const secrets = mgr.informer<V1Secret>(KEY_SECRETS);
  const configMaps = mgr.informer<V1ConfigMap>(gatewayConfigMaps(ns));
  const snapshot = snapshotReader(mgr);
  const now = deps.now ?? (() => new Date());
  const gateways = () => [...new Set(['default', ...instances.list().map((i) => i.spec.gateway ?? 'default')])];

  mgr.addController({
    name: 'gatewayconfig',
    for: { ...gatewayConfigMaps(ns), predicate: () => false }, // keys come from the watches below
    watches: [APIINSTANCES, POLICIES, SLATIERS, APIKEYS, CONTRACTS, KEY_SECRETS, ORGANIZATIONS, ORGTRUSTS, ASSETSHARES].map((resource) => ({
      resource,
      map: () => gateways(),
    })),
    reconcile: async (gateway: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
      const t = now();
      // Fail closed: a route whose policies include an invalid config is not served
      // at all, rather than served without (say) its api-key policy.
      const routable = routableInstances(instances.list(), gateway).filter((instance) => {
        const broken = policiesFor(instance, policies.list()).filter((p) => policyConfigErrors(p).length > 0);
        if (broken.length > 0) ctx.log.warn({ instance: `${instance.metadata.namespace}/${instance.metadata.name}`, policies: broken.map((p) => p.metadata.name) }, 'route withheld: invalid policy config');
        return broken.length === 0;
      });
      const routeInputs = routable.map((instance) => ({
        instance,
        policies: policiesFor(instance, policies.list()),
        tiers: tiersFor(instance, tiers.list()),
      }));
      const routeIds = new Set(routable.map((i) => `${i.metadata.namespace}/${i.metadata.name}`));

      const snap = snapshot();
      const credentials: Array<[string, Credential]> = [];
      let nextDeadline = Infinity;
      for (const key of keys.list()) {
        if (key.metadata.deletionTimestamp) continue;
        const access = resolveAccess(snap, key);
        if (!access.ok || !routeIds.has(`${access.instanceNamespace}/${key.spec.apiInstanceRef.name}`)) continue;
        const contract = contracts.get(`${access.instanceNamespace}/${contractNameOf(key)}`);
        const tier = tiers.get(`${access.instanceNamespace}/${key.spec.tier}`);
        const tierOk = tier?.spec.apiInstanceRef.name === key.spec.apiInstanceRef.name;
        if (!contract || !keyVerdict(key, access, contract, tierOk, t).usable) continue;
        for (const entry of credentialsOf(key, contract, hashesOf(secrets.get(`${key.metadata.namespace}/${secretNameOf(key)}`)), t)) {
          credentials.push(entry);
          if (entry[1].notAfter) nextDeadline = Math.min(nextDeadline, new Date(entry[1].notAfter).getTime() - t.getTime());
        }
      }

      const previous = previousConfig(gateway);
      const out = render(gateway, routeInputs, credentials, previous);
      for (const part of out.changed) await write(part.name, gateway, part.checksum, part.body.generation, part.body);
      if (!previous || previous.generation !== out.manifest.generation) {
        await write(manifestName(gateway), gateway, `manifest-${out.manifest.generation}`, out.manifest.generation, out.manifest);
        ctx.log.info(
          { gateway, generation: out.manifest.generation, routes: routeInputs.length, credentials: credentials.length, partsWritten: out.changed.length },
          'gateway config written',
        );
      }
      // Expired entries leave the index on time (the gateway also checks notAfter itself).
      if (Number.isFinite(nextDeadline) && nextDeadline > 0) return { requeueAfterMs: nextDeadline + 100 };
    },
  });

  function previousConfig(gateway: string): PreviousConfig | undefined {
    const manifest = configMaps.get(`${ns}/${manifestName(gateway)}`);
    if (!manifest) return undefined;
    const parts = new Map<string, { checksum: string; generation: number }>();
    for (const cm of configMaps.list()) {
      const a = cm.metadata?.annotations ?? {};
      if (cm.metadata?.labels?.[LABEL_GATEWAY] !== gateway || cm.metadata?.name === manifestName(gateway)) continue;
      if (a[ANNOTATION_CHECKSUM]) parts.set(cm.metadata!.name!, { checksum: a[ANNOTATION_CHECKSUM], generation: Number(a[ANNOTATION_GENERATION] ?? 0) });
    }
    return { generation: Number(manifest.metadata?.annotations?.[ANNOTATION_GENERATION] ?? 0), parts };
  }

  async function write(name: string, gateway: string, checksum: string, generation: number, body: unknown): Promise<void> {
    const json = JSON.stringify(body);
    if (Buffer.byteLength(json) > MAX_PART_BYTES) {
      throw new Error(`gateway config part ${name} is ${Buffer.byteLength(json)} bytes, over the ${MAX_PART_BYTES}-byte budget`);
    }
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ns,
        labels: { [LABEL_GATEWAY]: gateway, [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: { [ANNOTATION_CHECKSUM]: checksum, [ANNOTATION_GENERATION]: String(generation) },
      },
      data: { [PART_DATA_KEY]: json },
    };
    if (!configMaps.get(`${ns}/${name}`)) {
      try {
        await deps.http.request('POST', objectPath(CONFIGMAPS, ns), { body: cm });
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await deps.http.request('PUT', objectPath(CONFIGMAPS, ns, name), { body: cm });
  }
}
