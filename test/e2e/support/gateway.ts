// Runs the gateway for a test: a local process acting as the crossgate-gateway
// ServiceAccount (read ConfigMaps in the operator namespace, nothing else),
// serving on 127.0.0.1, plus a tiny upstream to forward to.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './process.ts';
import { waitFor } from './wait.ts';
import { ROOT, OPERATOR_NAMESPACE, GATEWAY_SA, serviceAccountKubeconfig } from './operator.ts';
import { freePort } from './install.ts';
import { platformEnv, type PlatformOptions } from './platform.ts';

export { freePort };

export interface RunningGateway {
  proc: ManagedProcess;
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

/** `loopbackUpstreams`: the exact pairs of the upstreams the test started (see platform.ts): the gateway connects to no other loopback address. */
export async function startGatewayProcess(opts: PlatformOptions & { gateway?: string; env?: NodeJS.ProcessEnv; adminPort?: number } = {}): Promise<RunningGateway> {
  const kubeconfig = await serviceAccountKubeconfig(GATEWAY_SA);
  const [port, admin] = [await freePort(), opts.adminPort ?? (await freePort())];
  const proc = startProcess(process.execPath, [join(ROOT, 'gateway', 'main.ts')], {
    name: 'gateway',
    cwd: ROOT,
    noAutoStop: true,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      GATEWAY_NAME: opts.gateway ?? 'default',
      GATEWAY_NAMESPACE: OPERATOR_NAMESPACE,
      GATEWAY_LISTEN: `127.0.0.1:${port}`,
      GATEWAY_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      ...platformEnv(opts),
      ...opts.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${admin}`;
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`gateway exited:\n${proc.tail(30)}`);
      return (await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: 60_000, what: 'gateway ready (config loaded)' },
  );
  return { proc, url, adminUrl, stop: () => proc.stop() };
}

export interface Upstream {
  url: string;
  /** "127.0.0.1:<port>": the pair to pass as loopbackUpstreams. */
  hostPort: string;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** An upstream that answers every request with JSON describing it. */
export async function startUpstream(): Promise<Upstream> {
  const requests: IncomingMessage[] = [];
  const server: Server = createHttpServer((req, res) => {
    requests.push(req);
    res.setHeader('content-type', 'application/json');
    res.setHeader('server', 'upstream/1.0');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
