// Every reconciler of the operator, one per kind, plus the gateway config writer.
import type { Manager } from '../../kube/controller.ts';
import { registerOrganizationController } from './organization.ts';
import type { Deps } from './deps.ts';
import { registerOrgTrustController } from './orgtrust.ts';
import { registerAssetController } from './asset.ts';
import { registerAssetShareController } from './assetshare.ts';
import { registerApiInstanceController } from './apiinstance.ts';
import { registerGatewayRouteController } from './gatewayroute.ts';
import type { AuthzService } from './gatewayroute-desired.ts';
import { registerApiGroupController } from './apigroup.ts';
import { registerPolicyController } from './policy.ts';
import { registerSlaTierController } from './slatier.ts';
import { registerApiKeyController } from './apikey/index.ts';
import { registerContractController } from './contract.ts';
import { registerApplicationController } from './application/index.ts';
import { registerGatewayConfigController } from './gatewayconfig/controller.ts';
import { registerAlertController } from './alert.ts';
import { registerApiAnalyticsController } from './apianalytics.ts';
import { registerApiPromotionController } from './apipromotion.ts';
import { GatewayStats } from './gateway-stats.ts';
import type { PlatformSettings } from '../../api/platform.ts';

export interface ControllerDeps extends Deps {
  workers: number;
  /** Namespace of the gateway config ConfigMaps. */
  gatewayNamespace: string;
  /** Where clients reach the gateway, for ApiInstance status.endpoint. */
  gatewayUrl?: string;
  /** Admin URLs of the gateway replicas, read by the Alert reconciler. */
  gatewayAdminUrls: string[];
  alertIntervalMs: number;
  analyticsIntervalMs: number;
  /** Interval of the sweep of share grants (assetshare.ts); default DEFAULT_SHARE_SWEEP_INTERVAL_MS. */
  shareSweepIntervalMs?: number;
  /** Platform settings (api/platform.ts) shared with the webhook and the gateway. */
  settings: PlatformSettings;
  /** crossgate-authz, called by the SecurityPolicies of rendered Gateway API routes. */
  authz?: AuthzService;
}

export function registerControllers(mgr: Manager, deps: ControllerDeps): void {
  registerOrganizationController(mgr, deps);
  registerOrgTrustController(mgr, deps);
  registerAssetController(mgr, deps);
  registerAssetShareController(mgr, { ...deps, sweepIntervalMs: deps.shareSweepIntervalMs });
  registerApiInstanceController(mgr, deps);
  registerGatewayRouteController(mgr, { ...deps, authz: deps.authz ?? { name: 'crossgate-authz', namespace: 'crossgate-system', port: 9001 } });
  registerApiGroupController(mgr, deps);
  registerPolicyController(mgr, deps);
  registerSlaTierController(mgr, deps);
  registerApiKeyController(mgr, deps);
  registerApplicationController(mgr, deps);
  registerContractController(mgr, deps);
  registerGatewayConfigController(mgr, deps);
  const stats = new GatewayStats(deps.gatewayAdminUrls);
  registerAlertController(mgr, { ...deps, stats, intervalMs: deps.alertIntervalMs });
  registerApiAnalyticsController(mgr, { ...deps, stats, intervalMs: deps.analyticsIntervalMs });
  registerApiPromotionController(mgr, deps);
}
