// Kubernetes config: the ConfigMaps labelled crossgate.dev/gateway=<gateway>
// in one namespace, through the operator's supervised Informer (list+watch
// with resume, relist on 410, watchdog, back-off). Each ConfigMap's
// data["config.json"] is fed to the loader by ConfigMap name; the informer's
// cache already holds the texts, so nothing is copied.
//
// The gateway needs only get/list/watch on configmaps in that namespace.
import type { Logger } from 'pino';
import { Informer, type InformerOptions } from '../../kube/informer.ts';
import type { ListWatchClient } from '../../kube/kube.ts';
import type { KubernetesObject } from '../../kube/keys.ts';
import { LABEL_GATEWAY, PART_DATA_KEY } from '../../api/gateway/config.ts';
import type { ConfigLoader, ConfigSource } from './loader.ts';

type ConfigMap = KubernetesObject & { data?: Record<string, string> };

export interface KubernetesSourceOptions {
  client: ListWatchClient;
  namespace: string;
  gateway: string;
  loader: ConfigLoader;
  logger: Logger;
  /** Overrides for the informer (tests shorten timers). */
  informer?: Partial<InformerOptions<ConfigMap>>;
}

export const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' } as const;

export class KubernetesSource implements ConfigSource {
  readonly kind = 'kubernetes' as const;
  readonly informer: Informer<ConfigMap>;
  #loader: ConfigLoader;

  constructor(opts: KubernetesSourceOptions) {
    this.#loader = opts.loader;
    this.informer = new Informer<ConfigMap>({
      client: opts.client,
      resource: CONFIGMAPS,
      namespace: opts.namespace,
      labelSelector: `${LABEL_GATEWAY}=${opts.gateway}`,
      logger: opts.logger.child({ source: 'kubernetes' }),
      // Resync would only re-deliver identical texts (ignored by the loader).
      resyncMs: 0,
      ...opts.informer,
    });
    const feed = (cm: ConfigMap) => {
      const name = cm.metadata?.name;
      if (name) this.#loader.set(name, cm.data?.[PART_DATA_KEY]);
    };
    this.informer.addHandler({
      onAdd: feed,
      onUpdate: (_old, cm) => feed(cm),
      onDelete: (cm) => {
        const name = cm.metadata?.name;
        if (name) this.#loader.delete(name);
      },
    });
  }

  /** Starts the watch; resolves after the first list (a config may still be pending). */
  async start(signal?: AbortSignal): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync(signal);
    this.#loader.flush();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }
}
