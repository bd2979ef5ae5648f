// The platform settings (api/platform.ts) the harness gives the operator, the
// webhook and the gateway. The e2e suite runs its upstreams on 127.0.0.1, which
// crossgate refuses unless the platform allows each exact host:port: a test
// starts its upstreams first, then passes their pairs (upstream.hostPort).
import { ENV_LOOPBACK_UPSTREAMS } from '../../../api/platform.ts';

export interface PlatformOptions {
  /** Exact loopback "host:port" pairs upstreams, jwksUrls and notify URLs may name (CROSSGATE_LOOPBACK_UPSTREAMS). */
  loopbackUpstreams?: readonly string[];
}

/** The environment for `opts`; empty when nothing is allowed. */
export function platformEnv(opts: PlatformOptions): NodeJS.ProcessEnv {
  return opts.loopbackUpstreams?.length ? { [ENV_LOOPBACK_UPSTREAMS]: opts.loopbackUpstreams.join(',') } : {};
}
