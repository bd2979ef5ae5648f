// Every reconciler of the operator, one per kind, registered with the Manager.
import type { Manager } from '../lib/controller.ts';
import { registerOrganizationController, type Deps } from './organization.ts';
import { registerOrgTrustController } from './orgtrust.ts';
import { registerAssetShareController } from './assetshare.ts';

export function registerControllers(mgr: Manager, deps: Deps & { workers: number }): void {
  registerOrganizationController(mgr, deps);
  registerOrgTrustController(mgr, deps);
  registerAssetShareController(mgr, deps);
}
