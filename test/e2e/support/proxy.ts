// A TCP proxy between a client (e.g. the operator) and the API server, to break
// connections on purpose and prove that informers recover.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { apiserverAddress, kubeConfig } from "./client.ts";

export interface TcpProxy {
  host: "127.0.0.1";
  port: number;
  target: { host: string; port: number };
  /** Connections currently open (client side). */
  readonly connections: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection, both sides (the client sees a reset / EOF). New ones are accepted. */
  dropAll(): void;
  /**
   * blackhole(true): every open connection, and every one accepted while it is on,
   * stays open but never forwards another byte, in either direction, ever: a
   * half-open connection, like a peer that vanished without a FIN or RST.
   * blackhole(false): connections accepted from now on work again (the
   * blackholed ones stay dead until dropAll() or close()).
   */
  blackhole(on: boolean): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  dead: boolean;
}

export async function tcpProxy(targetHost: string, targetPort: number, opts: { noAutoClose?: boolean } = {}): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let holing = false;
  let accepted = 0;

  const server = createServer((client) => {
    accepted++;
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const pair: Pair = { client, upstream, dead: holing };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        if (!pair.dead && !to.destroyed) to.write(chunk);
      });
      from.on("end", () => {
        if (!pair.dead) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // The client giving up always ends both sides; the upstream going away is
    // hidden from the client of a blackholed pair (that is the point).
    client.on("error", teardown);
    client.on("close", teardown);
    upstream.on("error", () => (pair.dead ? upstream.destroy() : teardown()));
    upstream.on("close", () => {
      if (!pair.dead) teardown();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;

  const proxy: TcpProxy = {
    host: "127.0.0.1",
    port,
    target: { host: targetHost, port: targetPort },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    dropAll() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
    },
    blackhole(on) {
      holing = on;
      if (on) for (const p of pairs) p.dead = true;
    },
    async close() {
      proxy.dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  if (!opts.noAutoClose) after(() => proxy.close());
  return proxy;
}

/**
 * Writes a copy of the kubeconfig ($KUBECONFIG, or `from`) whose current cluster's
 * server is the proxy. TLS verification keeps working: unless the original server
 * was 127.0.0.1 itself, tls-server-name keeps the name (or IP) it had.
 * Returns the file's path.
 */
export function kubeconfigVia(proxy: TcpProxy, opts: { from?: string; noAutoClean?: boolean } = {}): string {
  const kc = kubeConfig(opts.from);
  const current = kc.getCurrentCluster();
  if (!current) throw new Error("kubeconfig has no current cluster");
  const original = new URL(current.server);
  const host = original.hostname.replace(/^\[|\]$/g, "");
  // Keep verifying the certificate against the name the client used before.
  const tlsServerName = current.tlsServerName ?? (host === "127.0.0.1" ? undefined : host);
  const proxied = { ...current, server: `${original.protocol}//127.0.0.1:${proxy.port}`, tlsServerName };
  kc.clusters = kc.clusters.map((c) => (c.name === current.name ? proxied : c));
  const dir = mkdtempSync(join(tmpdir(), "crossgate-kubeconfig-"));
  const file = join(dir, "kubeconfig");
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  if (!opts.noAutoClean) after(() => rmSync(dir, { recursive: true, force: true }));
  return file;
}

/** A proxy in front of the current cluster's API server and a kubeconfig that goes through it. */
export async function proxyToApiserver(): Promise<{ proxy: TcpProxy; kubeconfig: string }> {
  const { host, port } = apiserverAddress();
  const proxy = await tcpProxy(host, port);
  return { proxy, kubeconfig: kubeconfigVia(proxy) };
}
