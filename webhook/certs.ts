// TLS for the webhook without a human. The webhook keeps its own CA and serving
// certificate in a Secret (type kubernetes.io/tls, plus ca.crt and ca.key),
// reuses them while valid, renews the serving certificate when it enters the
// last third of its lifetime, rotates the CA likewise (keeping the previous CA
// in the bundle so clients that hold it, and replicas still serving a
// certificate it signed, keep working), hot-swaps the server's certificate and
// injects the bundle into the ValidatingWebhookConfiguration.
//
// Decisions are pure (planTls, needsRotation, caBundle, ...); generation is
// WebCrypto through @peculiar/x509; the Kubernetes effects sit behind two small
// client interfaces (implemented in kube-clients.ts) so they can be tested
// without a cluster.
// Nothing here logs key material: only subjects, serials, fingerprints and dates.
import { X509Certificate, createPrivateKey, randomBytes, type webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its providers through tsyringe, which needs the
// Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../api/labels.ts';
import { isWriteRace } from '../kube/kube.ts';

x509.cryptoProvider.set(globalThis.crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600_000;
/** Backdating, for clocks that disagree a little. */
const SKEW_MS = 5 * 60_000;

export const DEFAULT_CA_VALIDITY_MS = 5 * 365 * DAY;
export const DEFAULT_SERVING_VALIDITY_MS = 90 * DAY;
export const ROTATE_FRACTION = 1 / 3;

/** What the Secret holds, as PEM. */
export interface TlsMaterial {
  /** The CA that signs new serving certificates. */
  caCert: string;
  caKey: string;
  /** ca.crt: the current CA first, then earlier CAs that have not expired yet. */
  caBundle: string;
  /** tls.crt and tls.key: the serving certificate and its key. */
  cert: string;
  key: string;
}

export interface ServingNames {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

// ---------------------------------------------------------------- pure decisions

/** True once `now` is within `fraction` of the certificate's lifetime of its expiry (or past it). */
export function needsRotation(v: Validity, now: Date, fraction = ROTATE_FRACTION): boolean {
  const lifetime = v.notAfter.getTime() - v.notBefore.getTime();
  return now.getTime() >= v.notAfter.getTime() - lifetime * fraction;
}

/** When needsRotation turns true. */
export function rotationDue(v: Validity, fraction = ROTATE_FRACTION): Date {
  const lifetime = v.notAfter.getTime() - v.notBefore.getTime();
  return new Date(v.notAfter.getTime() - lifetime * fraction);
}

export function splitPem(bundle: string | undefined): string[] {
  return (bundle ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

export function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

export function validityOf(cert: X509Certificate): Validity {
  return { notBefore: cert.validFromDate, notAfter: cert.validToDate };
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (!keyPem) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  try {
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** DNS names and IP addresses in a certificate's subjectAltName. */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ips.push(entry.slice(11));
  }
  return { dns, ips };
}

/** Whether the certificate is for exactly these names (a name added or removed means a new certificate). */
export function coversExactly(cert: X509Certificate, want: ServingNames): boolean {
  const { dns, ips } = subjectAltNames(cert);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
  return same(dns, [...new Set(want.dnsNames)]) && ips.length === new Set(want.ipAddresses).size && want.ipAddresses.every((ip) => cert.checkIP(ip) !== undefined);
}

/** The CA bundle: the current CA first, then earlier CAs from `previous` that are still valid; no duplicates. */
export function caBundle(currentCa: string, previous: string | undefined, now: Date): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of [...splitPem(currentCa), ...splitPem(previous)]) {
    const cert = parseCertificate(pem);
    if (!cert || !cert.ca || cert.validToDate.getTime() <= now.getTime() || seen.has(cert.fingerprint256)) continue;
    seen.add(cert.fingerprint256);
    out.push(pem);
  }
  return out.join('');
}

/** The CA in the bundle whose key we hold: the one that signs. */
export function currentCaOf(m: Partial<TlsMaterial>): string | undefined {
  return [...splitPem(m.caCert), ...splitPem(m.caBundle)].find((pem) => {
    const cert = parseCertificate(pem);
    return cert?.ca && keyMatches(cert, m.caKey);
  });
}

export interface TlsPlan {
  /** keep the CA; create one (none usable: earlier ones stay in the bundle while valid); rotate (new CA, old one stays in the bundle). */
  ca: 'keep' | 'create' | 'rotate';
  serving: 'keep' | 'issue';
  /** Why, for the log. */
  reasons: string[];
}

export function planTls(m: Partial<TlsMaterial> | undefined, want: ServingNames, now: Date, fraction = ROTATE_FRACTION): TlsPlan {
  const reasons: string[] = [];
  const caPem = m ? currentCaOf(m) : undefined;
  const ca = parseCertificate(caPem);
  let caAction: TlsPlan['ca'] = 'keep';
  if (!ca) (caAction = 'create'), reasons.push('no usable CA (certificate and matching key)');
  else if (now.getTime() >= ca.validToDate.getTime()) (caAction = 'create'), reasons.push(`CA expired at ${ca.validToDate.toISOString()}`);
  else if (needsRotation(validityOf(ca), now, fraction)) {
    caAction = 'rotate';
    reasons.push(`CA is in the last ${Math.round(fraction * 100)}% of its lifetime (expires ${ca.validToDate.toISOString()})`);
  }

  let serving: TlsPlan['serving'] = 'keep';
  const cert = parseCertificate(m?.cert);
  const trusted = splitPem(caBundle(caPem ?? '', m?.caBundle, now)).map((p) => parseCertificate(p)!);
  if (caAction === 'create') (serving = 'issue'), reasons.push('a new CA needs a new serving certificate');
  else if (!cert) (serving = 'issue'), reasons.push('no serving certificate');
  else if (!keyMatches(cert, m?.key)) (serving = 'issue'), reasons.push('serving key does not match the certificate');
  else if (!trusted.some((c) => signedBy(cert, c))) (serving = 'issue'), reasons.push('serving certificate is not signed by a CA of the bundle');
  else if (now.getTime() >= cert.validToDate.getTime()) (serving = 'issue'), reasons.push('serving certificate expired');
  else if (!coversExactly(cert, want)) (serving = 'issue'), reasons.push('serving certificate names differ from the configured DNS names and IPs');
  else if (needsRotation(validityOf(cert), now, fraction)) {
    serving = 'issue';
    reasons.push(`serving certificate is in the last ${Math.round(fraction * 100)}% of its lifetime (expires ${cert.validToDate.toISOString()})`);
  }
  return { ca: caAction, serving, reasons };
}

export function planIsNoop(p: TlsPlan): boolean {
  return p.ca === 'keep' && p.serving === 'keep';
}

/** The earliest moment a plan will have something to do, to schedule the next check. */
export function nextRotation(m: TlsMaterial, fraction = ROTATE_FRACTION): Date | undefined {
  const dates = [parseCertificate(currentCaOf(m)), parseCertificate(m.cert)].flatMap((c) => (c ? [rotationDue(validityOf(c), fraction)] : []));
  return dates.length ? new Date(Math.min(...dates.map((d) => d.getTime()))) : undefined;
}

/** Non-secret facts about a certificate, safe to log. */
export function describeCertificate(pem: string | undefined): Record<string, string> | undefined {
  const cert = parseCertificate(pem);
  if (!cert) return undefined;
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    serial: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    notBefore: cert.validFromDate.toISOString(),
    notAfter: cert.validToDate.toISOString(),
  };
}

// ---------------------------------------------------------------- generation

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function generateCa(now: Date, validityMs = DEFAULT_CA_VALIDITY_MS, commonName = 'crossgate-webhook-ca'): Promise<{ cert: string; key: string }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // A distinct subject per generation, so a bundle holding old and new CAs never confuses them.
    name: `CN=${commonName}@${Math.floor(now.getTime() / 1000)}`,
    notBefore: new Date(now.getTime() - SKEW_MS),
    notAfter: new Date(now.getTime() + validityMs),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  return crypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

/** A serving certificate for `names`, signed by the CA, never outliving it. */
export async function issueServingCertificate(
  ca: { cert: string; key: string },
  names: ServingNames,
  now: Date,
  validityMs = DEFAULT_SERVING_VALIDITY_MS,
): Promise<{ cert: string; key: string }> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKey(ca.key);
  const keys = await newKeys();
  const notAfter = Math.min(now.getTime() + validityMs, caCert.notAfter.getTime());
  const san = [
    ...names.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...names.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.dnsNames[0] ?? names.ipAddresses[0] ?? 'crossgate-webhook'}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - SKEW_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      new x509.SubjectAlternativeNameExtension(san),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

export interface GenerationOptions {
  caValidityMs?: number;
  servingValidityMs?: number;
}

/** Carries out a plan: new CA and/or serving certificate as decided, the bundle recomputed. */
export async function executePlan(m: Partial<TlsMaterial> | undefined, plan: TlsPlan, names: ServingNames, now: Date, opts: GenerationOptions = {}): Promise<TlsMaterial> {
  let ca: { cert: string; key: string };
  if (plan.ca === 'keep') ca = { cert: currentCaOf(m!)!, key: m!.caKey! };
  else ca = await generateCa(now, opts.caValidityMs);
  const bundle = caBundle(ca.cert, [m?.caBundle ?? '', m?.caCert ?? ''].join(''), now);
  const serving = plan.serving === 'issue' ? await issueServingCertificate(ca, names, now, opts.servingValidityMs) : { cert: m!.cert!, key: m!.key! };
  return { caCert: ca.cert, caKey: ca.key, caBundle: bundle, cert: serving.cert, key: serving.key };
}

// ---------------------------------------------------------------- Secret form

export const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', caBundle: 'ca.crt', caKey: 'ca.key' } as const;

export function materialFromSecret(secret: V1Secret | undefined): Partial<TlsMaterial> | undefined {
  if (!secret?.data) return undefined;
  const get = (k: string) => (secret.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const m: Partial<TlsMaterial> = {};
  const cert = get(SECRET_KEYS.cert);
  const key = get(SECRET_KEYS.key);
  const bundle = get(SECRET_KEYS.caBundle);
  const caKey = get(SECRET_KEYS.caKey);
  if (cert) m.cert = cert;
  if (key) m.key = key;
  if (bundle) m.caBundle = bundle;
  if (caKey) m.caKey = caKey;
  const current = currentCaOf(m);
  if (current) m.caCert = current;
  return m;
}

export function secretFromMaterial(m: TlsMaterial, ref: { namespace: string; name: string }, existing?: V1Secret): V1Secret {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: ref.name,
      namespace: ref.namespace,
      labels: { ...(existing?.metadata?.labels ?? {}), [LABEL_MANAGED_BY]: MANAGED_BY, 'app.kubernetes.io/component': 'webhook' },
    },
    type: 'kubernetes.io/tls',
    data: {
      [SECRET_KEYS.cert]: b64(m.cert),
      [SECRET_KEYS.key]: b64(m.key),
      [SECRET_KEYS.caBundle]: b64(m.caBundle),
      [SECRET_KEYS.caKey]: b64(m.caKey),
    },
  };
}

// ---------------------------------------------------------------- effects

export interface SecretClient {
  read(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Rejects with an error whose code (or statusCode) is 409 when the Secret already exists. */
  create(secret: V1Secret): Promise<V1Secret>;
  /** Rejects with code 409 when metadata.resourceVersion is stale. */
  replace(secret: V1Secret): Promise<V1Secret>;
}

export interface WebhookConfigurationClient {
  read(name: string): Promise<V1ValidatingWebhookConfiguration | undefined>;
  replace(config: V1ValidatingWebhookConfiguration): Promise<V1ValidatingWebhookConfiguration>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };


export interface TlsSecretOptions extends GenerationOptions, ServingNames {
  namespace: string;
  name: string;
  rotateFraction?: number;
  logger?: Logger;
}

/**
 * Makes the Secret hold valid material and returns it. Two replicas may race:
 * a 409 on create (the other created it) or on replace (the other changed it)
 * means re-read and decide again, so both end up with the same material.
 */
export async function reconcileTlsSecret(client: SecretClient, opts: TlsSecretOptions, now: Date): Promise<TlsMaterial> {
  const log = opts.logger ?? silent;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const secret = await client.read(opts.namespace, opts.name);
    const found = materialFromSecret(secret);
    const plan = planTls(found, opts, now, opts.rotateFraction);
    if (planIsNoop(plan)) return found as TlsMaterial;
    const next = await executePlan(found, plan, opts, now, opts);
    const body = secretFromMaterial(next, opts, secret);
    try {
      if (secret) await client.replace(body);
      else await client.create(body);
      log.info(
        { tlsSecret: `${opts.namespace}/${opts.name}`, ca: plan.ca, serving: plan.serving, reasons: plan.reasons, certificate: describeCertificate(next.cert) },
        secret ? 'webhook TLS Secret updated' : 'webhook TLS Secret created',
      );
      return next;
    } catch (err) {
      if (!isWriteRace(err)) throw err;
      log.info({ tlsSecret: `${opts.namespace}/${opts.name}`, attempt }, 'webhook TLS Secret changed concurrently (409); reading it again');
    }
  }
  throw new Error(`webhook TLS Secret ${opts.namespace}/${opts.name} kept changing under us; giving up for now`);
}

/** The webhook configuration with caBundle set on every webhook; undefined when nothing differs. */
export function withCaBundle(config: V1ValidatingWebhookConfiguration, bundlePem: string): V1ValidatingWebhookConfiguration | undefined {
  const b64 = Buffer.from(bundlePem, 'utf8').toString('base64');
  if ((config.webhooks ?? []).every((w) => w.clientConfig?.caBundle === b64)) return undefined;
  return { ...config, webhooks: (config.webhooks ?? []).map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: b64 } })) };
}

/** Injects the bundle into the ValidatingWebhookConfiguration when it differs. */
export async function injectCaBundle(
  client: WebhookConfigurationClient,
  name: string,
  bundlePem: string,
  logger: Logger = silent,
): Promise<'updated' | 'unchanged' | 'missing'> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const config = await client.read(name);
    if (!config) return 'missing';
    const patched = withCaBundle(config, bundlePem);
    if (!patched) return 'unchanged';
    try {
      await client.replace(patched);
      logger.info({ webhookConfiguration: name, cas: splitPem(bundlePem).map((p) => describeCertificate(p)?.subject) }, 'caBundle injected');
      return 'updated';
    } catch (err) {
      if (!isWriteRace(err)) throw err;
    }
  }
  throw new Error(`ValidatingWebhookConfiguration ${name} kept changing under us; will retry`);
}

// ---------------------------------------------------------------- the loop

export interface CertificateManagerOptions extends TlsSecretOptions {
  secrets: SecretClient;
  webhookConfigurations?: WebhookConfigurationClient;
  /** Name of the ValidatingWebhookConfiguration to inject caBundle into. */
  webhookConfigurationName?: string;
  /** Called with new material whenever the serving certificate changes: hot-swap it here. */
  onCertificate(m: TlsMaterial): void;
  /** How often to re-read the Secret (another replica may have rotated it) and re-check rotation. */
  checkIntervalMs?: number;
  now?: () => Date;
}

export class CertificateManager {
  readonly #opts: CertificateManagerOptions;
  #current: TlsMaterial | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: CertificateManagerOptions) {
    this.#opts = opts;
  }

  get current(): TlsMaterial | undefined {
    return this.#current;
  }

  /** One pass: Secret reconciled, caBundle injected, certificate swapped if it changed. */
  async sync(): Promise<TlsMaterial> {
    const o = this.#opts;
    const log = o.logger ?? silent;
    const now = (o.now ?? (() => new Date()))();
    const m = await reconcileTlsSecret(o.secrets, o, now);
    // Trust first, then present: the bundle reaches the apiserver before a certificate from a new CA is served.
    if (o.webhookConfigurations && o.webhookConfigurationName) {
      try {
        const result = await injectCaBundle(o.webhookConfigurations, o.webhookConfigurationName, m.caBundle, log);
        if (result === 'missing') log.warn({ webhookConfiguration: o.webhookConfigurationName }, 'ValidatingWebhookConfiguration not found; caBundle not injected yet');
      } catch (err) {
        log.error({ err: String(err), webhookConfiguration: o.webhookConfigurationName }, 'caBundle injection failed; will retry');
      }
    }
    if (!this.#current || this.#current.cert !== m.cert || this.#current.key !== m.key) {
      o.onCertificate(m);
      log.info({ certificate: describeCertificate(m.cert), nextRotation: nextRotation(m, o.rotateFraction)?.toISOString() }, 'serving certificate loaded');
    }
    this.#current = m;
    return m;
  }

  /** First sync (retried with back-off until it succeeds or stop() is called), then periodic checks. */
  async start(): Promise<TlsMaterial> {
    const log = this.#opts.logger ?? silent;
    let delay = 500;
    for (;;) {
      try {
        const m = await this.sync();
        this.#schedule();
        return m;
      } catch (err) {
        if (this.#stopped) throw err;
        log.error({ err: String(err), retryInMs: delay }, 'webhook TLS setup failed');
        await new Promise((r) => setTimeout(r, delay + Math.random() * delay * 0.2));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.sync()
        .catch((err) => (this.#opts.logger ?? silent).error({ err: String(err) }, 'webhook TLS check failed; will retry'))
        .finally(() => this.#schedule());
    }, this.#opts.checkIntervalMs ?? 10 * 60_000);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
