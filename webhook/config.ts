// Webhook settings from the environment, overridable by --flags (the flag name
// is the variable's name without CROSSGATE_, lower-case, "_" → "-":
// --webhook-addr=127.0.0.1:9443 sets CROSSGATE_WEBHOOK_ADDR), parsed by
// node:util parseArgs like every other command line here. Parsed once at
// start-up with clear errors.
import { platformSettingsFromEnv, type PlatformSettings } from '../api/platform.ts';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIGURATION_NAME, type ClientConfig } from './registration.ts';

export interface WebhookConfig {
  /** The operator's namespace: holds the TLS Secret and Service; excluded from the webhook; no Organization may claim it. */
  namespace: string;
  /** Listen address; undefined host means all interfaces. */
  host: string | undefined;
  port: number;
  secretNamespace: string;
  secretName: string;
  configurationName: string;
  /** How the apiserver reaches the webhook. */
  clientConfig: ClientConfig;
  /** Names the serving certificate is for. */
  dnsNames: string[];
  ipAddresses: string[];
  /** Create or update the ValidatingWebhookConfiguration ourselves (local control plane); in a cluster the chart ships it. */
  register: boolean;
  caValidityMs: number;
  servingValidityMs: number;
  certCheckIntervalMs: number;
  recheckDeniedAfterMs: number;
  /** Platform settings shared with the operator and the gateway (api/platform.ts). */
  platform: PlatformSettings;
  watchSilenceMs: number;
  /** Read tls.crt/tls.key from here (cert-manager) instead of managing the CA and caBundle ourselves. */
  certDir: string | undefined;
}

/** Environment variables the webhook reads, with their defaults; documented in docs/webhook.md. */
export const ENV = {
  CROSSGATE_NAMESPACE: 'crossgate-system',
  CROSSGATE_WEBHOOK_ADDR: ':9443',
  CROSSGATE_WEBHOOK_SECRET: 'crossgate-webhook-tls',
  CROSSGATE_WEBHOOK_SECRET_NAMESPACE: '(CROSSGATE_NAMESPACE)',
  CROSSGATE_WEBHOOK_CONFIGURATION: DEFAULT_CONFIGURATION_NAME,
  CROSSGATE_WEBHOOK_SERVICE: 'crossgate-webhook',
  CROSSGATE_WEBHOOK_SERVICE_PORT: '443',
  CROSSGATE_WEBHOOK_URL: '(unset: in-cluster Service)',
  CROSSGATE_WEBHOOK_DNS_NAMES: '(from the Service, or the URL host)',
  CROSSGATE_WEBHOOK_IPS: '(none, or the URL host if it is an IP)',
  CROSSGATE_WEBHOOK_REGISTER: 'false',
  CROSSGATE_WEBHOOK_CA_VALIDITY_HOURS: String(5 * 365 * 24),
  CROSSGATE_WEBHOOK_CERT_VALIDITY_HOURS: String(90 * 24),
  CROSSGATE_WEBHOOK_CERT_CHECK_MS: String(10 * 60_000),
  CROSSGATE_WEBHOOK_RECHECK_MS: '300',
  CROSSGATE_WATCH_SILENCE_MS: String(5 * 60_000),
  CROSSGATE_WEBHOOK_CERT_DIR: '(unset: self-managed CA and caBundle)',
  CROSSGATE_LOOPBACK_UPSTREAMS: '(none: no upstream, JWKS or notify URL may name a loopback address)',
  CROSSGATE_GATEWAY_HOSTNAMES: '(none reserved besides the claims of other Organizations)',
} as const;

/** The flag of a variable: the name without CROSSGATE_, lower-case, "_" → "-". */
const flagOf = (name: string) => name.slice('CROSSGATE_'.length).toLowerCase().replace(/_/g, '-');
/** Flags whose variable is true/false: given without a value they mean true. */
const BOOLEAN_FLAGS = new Set(['CROSSGATE_WEBHOOK_REGISTER'].map(flagOf));
const FLAG_OPTIONS = Object.fromEntries(Object.keys(ENV).map((name) => [flagOf(name), { type: BOOLEAN_FLAGS.has(flagOf(name)) ? 'boolean' : 'string' }] as const));

/**
 * `--webhook-url=https://...` or `--webhook-url https://...` → { CROSSGATE_WEBHOOK_URL: 'https://...' };
 * `--webhook-register` → 'true' (and `--webhook-register=false` still works). node:util's
 * parseArgs, as the gateway and the hack/ and bench/ tools use, in its lenient mode so
 * that a boolean flag may carry a value; what it lets through is refused here by name.
 */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const { tokens } = parseArgs({ args: [...argv], options: FLAG_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  let bareBoolean: string | undefined;
  for (const t of tokens) {
    if (t.kind === 'positional' && bareBoolean) {
      out[bareBoolean] = t.value; // `--webhook-register false`
      bareBoolean = undefined;
      continue;
    }
    bareBoolean = undefined;
    if (t.kind !== 'option' || t.rawName.length < 3 || !t.rawName.startsWith('--')) {
      const arg = t.kind === 'option' ? t.rawName : t.kind === 'positional' ? t.value : '--';
      throw new Error(`unexpected argument ${JSON.stringify(arg)}: flags look like --webhook-addr=127.0.0.1:9443`);
    }
    if (!(t.name in FLAG_OPTIONS)) throw new Error(`unknown flag --${t.name}; known: ${Object.keys(FLAG_OPTIONS).map((f) => `--${f}`).join(', ')}`);
    const name = `CROSSGATE_${t.name.toUpperCase().replace(/-/g, '_')}`;
    out[name] = t.value ?? 'true';
    if (t.value === undefined && BOOLEAN_FLAGS.has(t.name)) bareBoolean = name;
  }
  return out;
}

function int(env: Record<string, string | undefined>, name: keyof typeof ENV, min: number): number {
  const raw = env[name] || ENV[name];
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

export function loadWebhookConfig(env: Record<string, string | undefined> = process.env, argv: readonly string[] = []): WebhookConfig {
  const e = { ...env, ...flagsToEnv(argv) };
  const namespace = e['CROSSGATE_NAMESPACE'] || ENV.CROSSGATE_NAMESPACE;

  const addr = e['CROSSGATE_WEBHOOK_ADDR'] || ENV.CROSSGATE_WEBHOOK_ADDR;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`CROSSGATE_WEBHOOK_ADDR must be [host]:port, got ${JSON.stringify(addr)}`);
  const host = m[1] ?? (m[2] || undefined);

  const register = (e['CROSSGATE_WEBHOOK_REGISTER'] || 'false').toLowerCase();
  if (!['true', '1', 'yes', 'false', '0', 'no'].includes(register)) throw new Error(`CROSSGATE_WEBHOOK_REGISTER must be true or false, got ${JSON.stringify(register)}`);

  const url = e['CROSSGATE_WEBHOOK_URL'];
  let clientConfig: ClientConfig;
  let defaultDns: string[];
  let defaultIps: string[] = [];
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`CROSSGATE_WEBHOOK_URL must be a URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'https:') throw new Error(`CROSSGATE_WEBHOOK_URL must be https://, got ${JSON.stringify(url)}`);
    clientConfig = { url };
    const h = parsed.hostname.replace(/^\[|\]$/g, '');
    if (isIP(h)) (defaultIps = [h]), (defaultDns = ['localhost']);
    else defaultDns = [h];
  } else {
    const service = e['CROSSGATE_WEBHOOK_SERVICE'] || ENV.CROSSGATE_WEBHOOK_SERVICE;
    const servicePort = int(e, 'CROSSGATE_WEBHOOK_SERVICE_PORT', 1);
    clientConfig = { service: { namespace, name: service, port: servicePort } };
    defaultDns = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  }
  const ipAddresses = list(e['CROSSGATE_WEBHOOK_IPS']) ?? defaultIps;
  for (const ip of ipAddresses) if (!isIP(ip)) throw new Error(`CROSSGATE_WEBHOOK_IPS: ${JSON.stringify(ip)} is not an IP address`);

  return {
    namespace,
    host,
    port,
    secretNamespace: e['CROSSGATE_WEBHOOK_SECRET_NAMESPACE'] || namespace,
    secretName: e['CROSSGATE_WEBHOOK_SECRET'] || ENV.CROSSGATE_WEBHOOK_SECRET,
    configurationName: e['CROSSGATE_WEBHOOK_CONFIGURATION'] || ENV.CROSSGATE_WEBHOOK_CONFIGURATION,
    clientConfig,
    dnsNames: list(e['CROSSGATE_WEBHOOK_DNS_NAMES']) ?? defaultDns,
    ipAddresses,
    register: ['true', '1', 'yes'].includes(register),
    caValidityMs: int(e, 'CROSSGATE_WEBHOOK_CA_VALIDITY_HOURS', 1) * 3600_000,
    servingValidityMs: int(e, 'CROSSGATE_WEBHOOK_CERT_VALIDITY_HOURS', 1) * 3600_000,
    certCheckIntervalMs: int(e, 'CROSSGATE_WEBHOOK_CERT_CHECK_MS', 1000),
    recheckDeniedAfterMs: int(e, 'CROSSGATE_WEBHOOK_RECHECK_MS', 0),
    platform: platformSettingsFromEnv(e),
    watchSilenceMs: int(e, 'CROSSGATE_WATCH_SILENCE_MS', 1000),
    certDir: e['CROSSGATE_WEBHOOK_CERT_DIR'] || undefined,
  };
}
