// Every reconciler of the operator, one per kind, plus the gateway config writer.
import type { Manager } from '../lib/controller.ts';
import { registerOrganizationController, type Deps } from './organization.ts';
import { registerOrgTrustController } from './orgtrust.ts';
import { registerAssetShareController } from './assetshare.ts';
import { registerApiKeyController } from './apikey.ts';
import { registerContractController } from './contract.ts';
import { registerGatewayConfigController } from './gatewayconfig.ts';

export interface ControllerDeps extends Deps {
  workers: number;
  /** Namespace of the gateway config ConfigMaps. */
  gatewayNamespace: string;
}

export function registerControllers(mgr: Manager, deps: ControllerDeps): void {
  registerOrganizationController(mgr, deps);
  registerOrgTrustController(mgr, deps);
  registerAssetShareController(mgr, deps);
  registerApiKeyController(mgr, deps);
  registerContractController(mgr, deps);
  registerGatewayConfigController(mgr, deps);
}
