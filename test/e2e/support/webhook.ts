// Runs the admission webhook for a test file: a local process acting as the
// crossgate-webhook ServiceAccount, registered with the apiserver by URL on
// 127.0.0.1. stop() removes the registration before the process goes, so a
// later test file never meets a failurePolicy=Fail webhook that is gone.
import { join } from 'node:path';
import { kubectl, applyYaml } from './kubectl.ts';
import { startProcess, type ManagedProcess } from './process.ts';
import { waitFor } from './wait.ts';
import { ROOT, OPERATOR_NAMESPACE, WEBHOOK_SA, serviceAccountKubeconfig } from './operator.ts';
import { freePort } from './install.ts';
import { platformEnv, type PlatformOptions } from './platform.ts';

export const WEBHOOK_CONFIGURATION = 'crossgate-validating-webhook';

export interface RunningWebhook {
  proc: ManagedProcess;
  url: string;
  stop(): Promise<void>;
}

export type WebhookOptions = PlatformOptions & { env?: NodeJS.ProcessEnv };

/** `loopbackUpstreams`: the exact pairs of the upstreams the test started (see platform.ts); `env`: anything else for the process. */
export async function startWebhook(opts: WebhookOptions = {}): Promise<RunningWebhook> {
  const kubeconfig = await serviceAccountKubeconfig(WEBHOOK_SA);
  const port = await freePort();
  // Where the apiserver can reach this process: loopback for the local control
  // plane; for kind, the host's address on the docker network (hack/kind-e2e.sh sets it).
  const host = process.env.CROSSGATE_E2E_WEBHOOK_HOST || '127.0.0.1';
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}/validate`;
  const proc = startProcess(process.execPath, [join(ROOT, 'webhook', 'main.ts')], {
    name: 'webhook',
    cwd: ROOT,
    noAutoStop: true,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      CROSSGATE_NAMESPACE: OPERATOR_NAMESPACE,
      CROSSGATE_WEBHOOK_ADDR: `${host.includes(":") ? `[${host}]` : host}:${port}`,
      CROSSGATE_WEBHOOK_URL: url,
      CROSSGATE_WEBHOOK_REGISTER: 'true',
      CROSSGATE_WEBHOOK_CONFIGURATION: WEBHOOK_CONFIGURATION,
      ...platformEnv(opts),
      ...opts.env,
    },
  });
  const stop = async () => {
    await kubectl(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION, '--ignore-not-found'], { allowFail: true });
    await proc.stop();
  };
  try {
    // Ready means the apiserver really calls it: an object in a namespace no
    // Organization owns is refused by the webhook, not by the schema.
    const probe = `apiVersion: crossgate.dev/v1alpha1
kind: OrgTrust
metadata: {name: webhook-probe, namespace: default}
spec: {peerDomain: webhook-probe}
`;
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`webhook exited:\n${proc.tail(30)}`);
        const r = await applyYaml(probe, { allowFail: true, serverSide: false });
        if (r.code === 0) await kubectl(['delete', 'orgtrust', 'webhook-probe', '-n', 'default', '--ignore-not-found'], { allowFail: true });
        return r.code !== 0 && /admission webhook .* denied the request/.test(r.stderr);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the apiserver to call the webhook' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, url, stop };
}

/**
 * A test file's webhook that can be taken out of the way for a while, as a
 * skipped or stale webhook would be: the operator and the gateway must not
 * trust that admission ran.
 */
export class SkippableWebhook {
  running: RunningWebhook | undefined;
  private readonly opts: WebhookOptions;
  constructor(opts: WebhookOptions = {}) {
    this.opts = opts;
  }

  async start(): Promise<RunningWebhook> {
    this.running = await startWebhook(this.opts);
    return this.running;
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.stop();
  }

  /** Runs `fn` with the webhook's registration removed; then brings it back, also when `fn` fails. */
  async without(fn: () => Promise<void>): Promise<void> {
    await this.stop();
    try {
      await fn();
    } finally {
      await this.start();
    }
  }
}
