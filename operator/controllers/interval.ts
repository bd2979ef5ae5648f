// A reconciler driven by an interval (its reconcile returns requeueAfterMs)
// besides changes of its object's spec, as the Alert and ApiInstance-analytics
// loops that read the gateway are: its own status writes must not wake it, and
// an object gone or being deleted is not looked at.
import { generationChanged, type Controller, type InformerSpec, type Manager, type ReconcileContext, type ReconcileResult } from '../../kube/controller.ts';
import type { KubernetesObject } from '../../kube/keys.ts';

export function addIntervalController<T extends KubernetesObject>(
  mgr: Manager,
  name: string,
  resource: InformerSpec,
  reconcile: (obj: T, key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>,
): Controller {
  const objects = mgr.informer<T>(resource);
  return mgr.addController({
    name,
    for: { ...resource, predicate: generationChanged },
    reconcile: async (key, ctx) => {
      const obj = objects.get(key);
      if (!obj || obj.metadata?.deletionTimestamp) return;
      return reconcile(obj, key, ctx);
    },
  });
}
