// Operator settings from the environment (the chart sets them; tests too).
// Parsed once at start-up with clear errors, never read ad hoc elsewhere.
import { platformSettingsFromEnv, type PlatformSettings } from '../api/platform.ts';
export interface OperatorConfig {
  /** Namespace the operator runs in: its Lease lives here. */
  namespace: string;
  leaderElect: boolean;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  healthHost: string;
  healthPort: number;
  /** Abort a watch that has been silent this long (half-open connections). */
  watchSilenceMs: number;
  workers: number;
  /** Namespace the gateway config ConfigMaps are written to. */
  gatewayNamespace: string;
  /** Where clients reach the gateway (for ApiInstance status.endpoint), e.g. https://api.example.com. */
  gatewayUrl: string | undefined;
  /** Admin endpoints of the gateway replicas (comma-separated in CROSSGATE_GATEWAY_ADMIN_URLS), read by Alerts. */
  gatewayAdminUrls: string[];
  alertIntervalMs: number;
  /** How often ApiInstance status.analytics is refreshed from the gateway. */
  analyticsIntervalMs: number;
  /** How often share Roles and RoleBindings that no share grants any more are swept (also at start). */
  shareSweepIntervalMs: number;
  /** crossgate-authz, the ext_authz service rendered SecurityPolicies call (CROSSGATE_AUTHZ_NAME/NAMESPACE/PORT). */
  authz: { name: string; namespace: string; port: number };
  /** Platform settings shared with the webhook and the gateway (api/platform.ts). */
  platform: PlatformSettings;
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function bool(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const [host, port] = (env['CROSSGATE_HEALTH_ADDR'] ?? '127.0.0.1:8081').split(/:(?=[^:]*$)/);
  const healthPort = Number(port);
  if (!host || !Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) {
    throw new Error(`CROSSGATE_HEALTH_ADDR must be host:port, got ${JSON.stringify(env['CROSSGATE_HEALTH_ADDR'])}`);
  }
  return {
    namespace: env['CROSSGATE_NAMESPACE'] || 'crossgate-system',
    leaderElect: bool(env, 'CROSSGATE_LEADER_ELECT', true),
    leaseName: env['CROSSGATE_LEASE_NAME'] || 'crossgate-operator',
    leaseDurationMs: int(env, 'CROSSGATE_LEASE_DURATION_MS', 15_000, 1000),
    renewDeadlineMs: int(env, 'CROSSGATE_RENEW_DEADLINE_MS', 10_000, 500),
    retryPeriodMs: int(env, 'CROSSGATE_RETRY_PERIOD_MS', 2_000, 100),
    healthHost: host,
    healthPort,
    watchSilenceMs: int(env, 'CROSSGATE_WATCH_SILENCE_MS', 5 * 60_000, 1000),
    workers: int(env, 'CROSSGATE_WORKERS', 4, 1),
    gatewayNamespace: env['CROSSGATE_GATEWAY_NAMESPACE'] || env['CROSSGATE_NAMESPACE'] || 'crossgate-system',
    gatewayUrl: env['CROSSGATE_GATEWAY_URL'] || undefined,
    gatewayAdminUrls: (env['CROSSGATE_GATEWAY_ADMIN_URLS'] ?? '').split(',').map((u) => u.trim()).filter(Boolean),
    alertIntervalMs: int(env, 'CROSSGATE_ALERT_INTERVAL_MS', 15_000, 1000),
    analyticsIntervalMs: int(env, 'CROSSGATE_ANALYTICS_INTERVAL_MS', 30_000, 1000),
    shareSweepIntervalMs: int(env, 'CROSSGATE_SHARE_SWEEP_INTERVAL_MS', 60_000, 1000),
    authz: {
      name: env['CROSSGATE_AUTHZ_NAME'] || 'crossgate-authz',
      namespace: env['CROSSGATE_AUTHZ_NAMESPACE'] || env['CROSSGATE_NAMESPACE'] || 'crossgate-system',
      port: int(env, 'CROSSGATE_AUTHZ_PORT', 9001, 1),
    },
    platform: platformSettingsFromEnv(env),
  };
}
