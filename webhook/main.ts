// The webhook process: informers feed the Snapshot, the certificate manager
// keeps TLS valid and the caBundle injected, the HTTPS server answers the
// apiserver. Configuration: environment variables or --flags (webhook/config.ts,
// docs/webhook.md). startWebhook() is exported so another process (the
// operator, a test harness) can embed the webhook.
import { fileURLToPath } from 'node:url';
import type { V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  GROUP, VERSION, kindDefinition, type Alert, type ApiInstance, type Asset, type AssetShare, type GovernanceRuleset, type Organization, type OrgTrust, type Policy, type SlaTier,
} from '../api/v1alpha1/index.ts';
import { Informer, stripAnnotationsAndManagedFields } from '../kube/informer.ts';
import { describeError, KubeHttp } from '../kube/kube.ts';
import { loadConnection } from '../kube/kube-connection.ts';
import type { KubernetesObject } from '../kube/keys.ts';
import { createLogger } from '../kube/logger.ts';
import { logFatalErrors, onShutdown } from '../kube/shutdown.ts';
import { CertificateManager } from './certs.ts';
import { watchCertDir } from './cert-dir.ts';
import { loadWebhookConfig, type WebhookConfig } from './config.ts';
import { secretClient, webhookConfigurationClient } from './kube-clients.ts';
import { applyWebhookConfiguration, renderValidatingWebhookConfiguration } from './registration.ts';
import { createWebhookServer, type WebhookServer } from './server.ts';
import { informerSnapshotSource, type SnapshotSources } from '../model/snapshot.ts';

/** Keeps what the rules read and drops the rest (an Asset may carry a 512 KiB spec inline). */
function metadataOnly<T extends KubernetesObject>(obj: T): T {
  const m = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, labels: m.labels, deletionTimestamp: m.deletionTimestamp, creationTimestamp: m.creationTimestamp },
  } as T;
}
/** An Organization's spec and the route claims the operator granted it (model/route-claims.ts: a granted claim keeps its place). */
export function specAndGrantedClaims<T extends KubernetesObject>(obj: T): T {
  const { status, ...rest } = obj as T & { status?: { routeClaims?: unknown } };
  return stripAnnotationsAndManagedFields((status?.routeClaims ? { ...rest, status: { routeClaims: status.routeClaims } } : rest) as T);
}
/**
 * An ApiInstance's metadata, its route (basePath, hostnames, gateway, parentRefs): route conflicts per Gateway API
 * listener are decided among them; and its upstream: an ApiPromotion's instance copy is judged with it.
 */
function routeOnly<T extends KubernetesObject>(obj: T): T {
  const spec = (obj as T & { spec?: Partial<ApiInstance['spec']> }).spec ?? {};
  return { ...metadataOnly(obj), spec: { basePath: spec.basePath, hostnames: spec.hostnames, gateway: spec.gateway, parentRefs: spec.parentRefs, upstream: spec.upstream } } as T;
}
/** An OrgTrust's spec and the peer uid the operator recorded (model/trust.ts: trust does not pass to a new holder of the domain). */
export function specAndRecordedPeer<T extends KubernetesObject>(obj: T): T {
  const { status, ...rest } = obj as T & { status?: { peerUid?: unknown } };
  return stripAnnotationsAndManagedFields((status?.peerUid ? { ...rest, status: { peerUid: status.peerUid } } : rest) as T);
}
/** Spec and metadata without annotations: no rule reads them, and a tenant could put 256 KiB on each object (security-model.md row 51). */
export function withoutStatus<T extends KubernetesObject>(obj: T): T {
  const { status: _status, ...rest } = obj as T & { status?: unknown };
  return stripAnnotationsAndManagedFields(rest as T);
}

export interface RunningWebhook {
  server: WebhookServer;
  /** Undefined in cert-manager mode (CROSSGATE_WEBHOOK_CERT_DIR). */
  certificates: CertificateManager | undefined;
  informers: Informer<KubernetesObject>[];
  stop(): Promise<void>;
}

export async function startWebhook(cfg: WebhookConfig, deps: { http: KubeHttp; logger: Logger }): Promise<RunningWebhook> {
  const { http, logger: log } = deps;
  const crossgate = <T extends KubernetesObject>(kind: string, transform: (o: T) => T) => {
    const def = kindDefinition(kind);
    return new Informer<T>({
      client: http,
      resource: { group: GROUP, version: VERSION, plural: def.plural, kind, namespaced: def.scope === 'Namespaced' },
      logger: log,
      watchSilenceMs: cfg.watchSilenceMs,
      transform,
    });
  };
  const sources = {
    organizations: crossgate<Organization & KubernetesObject>('Organization', specAndGrantedClaims),
    namespaces: new Informer<V1Namespace & KubernetesObject>({
      client: http,
      resource: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
      logger: log,
      watchSilenceMs: cfg.watchSilenceMs,
      transform: metadataOnly,
    }),
    orgTrusts: crossgate<OrgTrust & KubernetesObject>('OrgTrust', specAndRecordedPeer),
    assets: crossgate<Asset & KubernetesObject>('Asset', metadataOnly),
    apiInstances: crossgate<ApiInstance & KubernetesObject>('ApiInstance', routeOnly),
    assetShares: crossgate<AssetShare & KubernetesObject>('AssetShare', withoutStatus),
    // Governance warnings (webhook/rules/governance.ts): the rulesets and what their rules read.
    policies: crossgate<Policy & KubernetesObject>('Policy', withoutStatus),
    slaTiers: crossgate<SlaTier & KubernetesObject>('SlaTier', withoutStatus),
    alerts: crossgate<Alert & KubernetesObject>('Alert', withoutStatus),
    governanceRulesets: crossgate<GovernanceRuleset & KubernetesObject>('GovernanceRuleset', withoutStatus),
  };
  const informers = Object.values(sources) as Informer<KubernetesObject>[];
  const snapshots = informerSnapshotSource(sources as unknown as SnapshotSources, [cfg.namespace], cfg.platform);

  const server = createWebhookServer({
    snapshots,
    host: cfg.host,
    port: cfg.port,
    logger: log,
    recheckDeniedAfterMs: cfg.recheckDeniedAfterMs,
  });
  const address = await server.listen();
  log.info({ address: address.address, port: address.port }, 'webhook listening (not ready until the certificate and caches are)');

  for (const informer of informers) informer.start();

  const configurations = webhookConfigurationClient(http);
  if (cfg.register) {
    const desired = renderValidatingWebhookConfiguration({ name: cfg.configurationName, operatorNamespace: cfg.namespace, clientConfig: cfg.clientConfig });
    const result = await applyWebhookConfiguration(configurations, desired);
    log.info({ webhookConfiguration: cfg.configurationName, result, clientConfig: cfg.clientConfig }, 'ValidatingWebhookConfiguration applied');
  }

  // cert-manager mode: certificate from a mounted Secret, caBundle injected by cert-manager's cainjector.
  const fromFiles = cfg.certDir ? await watchCertDir(cfg.certDir, (m) => server.setCertificate(m), log) : undefined;
  const certificates = fromFiles ? undefined : new CertificateManager({
    secrets: secretClient(http),
    webhookConfigurations: configurations,
    webhookConfigurationName: cfg.configurationName,
    namespace: cfg.secretNamespace,
    name: cfg.secretName,
    dnsNames: cfg.dnsNames,
    ipAddresses: cfg.ipAddresses,
    caValidityMs: cfg.caValidityMs,
    servingValidityMs: cfg.servingValidityMs,
    checkIntervalMs: cfg.certCheckIntervalMs,
    logger: log,
    onCertificate: (m) => server.setCertificate(m),
  });
  await certificates?.start();
  await Promise.all(informers.map((i) => i.waitForSync()));
  log.info({ objects: Object.fromEntries(Object.entries(sources).map(([k, i]) => [k, i.size()])) }, 'webhook ready');

  return {
    server,
    certificates,
    informers,
    async stop() {
      certificates?.stop();
      fromFiles?.stop();
      await server.close();
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

async function main(): Promise<void> {
  const log = createLogger({ name: 'crossgate-webhook' });
  logFatalErrors(log);
  const cfg = loadWebhookConfig(process.env, process.argv.slice(2));
  const http = new KubeHttp(loadConnection());
  log.info({ server: http.connection.server, via: http.connection.source }, 'apiserver connection');
  let running: RunningWebhook | undefined;
  onShutdown(log, () => [
    ['webhook', () => running?.stop()],
    ['api connections', () => http.close()],
  ]);
  running = await startWebhook(cfg, { http, logger: log });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(JSON.stringify({ level: 'fatal', msg: 'webhook failed to start', err: describeError(err) }));
    process.exit(1);
  });
}
