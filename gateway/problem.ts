// Refusals as RFC 9457 problem details: application/problem+json with type,
// title, status and detail. `type` is a URI naming the kind of problem; every
// one the gateway produces is listed in docs/gateway.md.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_BASE = 'https://crossgate.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

/** A refusal decided by the gateway (a policy, the router, the proxy). */
export interface Refusal {
  status: number;
  /** Last segment of the problem type URI, e.g. "invalid-api-key". */
  slug: string;
  title: string;
  detail: string;
  /** Policy that refused, for the violations metric; undefined for router/proxy refusals. */
  policy?: string;
  /** Extra response headers (Retry-After, RateLimit, WWW-Authenticate). */
  headers?: Record<string, string>;
}

export function toProblem(r: Refusal): Problem {
  return { type: PROBLEM_TYPE_BASE + r.slug, title: r.title, status: r.status, detail: r.detail };
}

/** Writes a refusal; `extra` headers (CORS) are added, the refusal's own win. */
export function sendProblem(res: ServerResponse, r: Refusal, extra?: OutgoingHttpHeaders): void {
  const body = JSON.stringify(toProblem(r));
  const headers: OutgoingHttpHeaders = {
    ...extra,
    ...r.headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  res.writeHead(r.status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

export const refusals = {
  notFound: (detail = 'No API is served at this host and path.'): Refusal => ({ status: 404, slug: 'not-found', title: 'Not Found', detail }),
  badPath: (): Refusal => ({ status: 400, slug: 'bad-path', title: 'Bad Request', detail: 'The request path contains dot segments.' }),
  noConfig: (): Refusal => ({ status: 503, slug: 'not-ready', title: 'Service Unavailable', detail: 'The gateway has not loaded a configuration yet.', headers: { 'retry-after': '1' } }),
  upstreamTimeout: (ms: number): Refusal => ({ status: 504, slug: 'upstream-timeout', title: 'Gateway Timeout', detail: `The upstream did not answer within ${ms} ms.` }),
  upstreamUnavailable: (): Refusal => ({ status: 502, slug: 'upstream-unavailable', title: 'Bad Gateway', detail: 'The upstream could not be reached.' }),
  invalidHeader: (): Refusal => ({
    status: 502,
    slug: 'invalid-header',
    title: 'Bad Gateway',
    detail: 'A header of this exchange is not valid HTTP (set by a policy of this API or by its upstream); the gateway did not send it.',
  }),
  upstreamInvalidResponse: (): Refusal => ({ status: 502, slug: 'upstream-invalid-response', title: 'Bad Gateway', detail: "The upstream's response is not valid HTTP." }),
  upstreamNotAllowed: (): Refusal => ({
    status: 502,
    slug: 'upstream-not-allowed',
    title: 'Bad Gateway',
    detail: "The gateway does not connect to this API's upstream: its address is loopback, link-local, unspecified, the gateway's own, or inside the cluster's own network under a name that is not a Service's. The gateway's log names it.",
  }),
  withheld: (): Refusal => ({
    status: 503,
    slug: 'route-withheld',
    title: 'Service Unavailable',
    detail: 'This API is held closed by its configuration; its owner sees why on the ApiInstance.',
  }),
  internal: (): Refusal => ({ status: 500, slug: 'internal', title: 'Internal Server Error', detail: 'The gateway failed to handle the request.' }),
};
