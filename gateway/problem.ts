// Refusals as RFC 9457 problem details: application/problem+json with type,
// title, status and detail. `type` is a URI naming the kind of problem; every
// one the gateway produces is listed in docs/gateway.md.
import type { ServerResponse, OutgoingHttpHeaders } from 'node:http';

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

/** Writes a refusal; `extra` headers (CORS) are added, the refusal's own win. */
export function sendProblem(res: ServerResponse, r: Refusal, extra?: OutgoingHttpHeaders): void {
  const body = JSON.stringify({ type: `https://crossgate.dev/problems/${r.slug}`, title: r.title, status: r.status, detail: r.detail });
  const headers: OutgoingHttpHeaders = {
    ...extra,
    ...r.headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  res.writeHead(r.status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** A refusal of the gateway's own (router, proxy): no policy, no extra headers unless given. */
const own = (status: number, slug: string, title: string, detail: string, headers?: Record<string, string>): Refusal => ({ status, slug, title, detail, ...(headers ? { headers } : {}) });

export const refusals = {
  notFound: (detail = 'No API is served at this host and path.'): Refusal => own(404, 'not-found', 'Not Found', detail),
  misdirected: (): Refusal =>
    own(421, 'misdirected', 'Misdirected Request', "This API is not served on this host: the proxy named a route that does not answer on the request's host."),
  credentialInQuery: (name: string, encoded: boolean): Refusal =>
    own(
      400,
      'credential-in-query',
      'Bad Request',
      encoded
        ? `The credential was sent in a query parameter whose name is percent-encoded (${name}); send it under its plain name, or in its header.`
        : `The credential was sent in a query parameter (${name}), which this proxy would forward upstream; send it in its header.`,
    ),
  badPath: (): Refusal => own(400, 'bad-path', 'Bad Request', 'The request path contains dot segments ("." or "..", also percent-encoded or followed by ";" parameters).'),
  noConfig: (): Refusal => own(503, 'not-ready', 'Service Unavailable', 'The gateway has not loaded a configuration yet.', { 'retry-after': '1' }),
  upstreamTimeout: (ms: number): Refusal => own(504, 'upstream-timeout', 'Gateway Timeout', `The upstream did not answer within ${ms} ms.`),
  upstreamUnavailable: (): Refusal => own(502, 'upstream-unavailable', 'Bad Gateway', 'The upstream could not be reached.'),
  invalidHeader: (): Refusal =>
    own(502, 'invalid-header', 'Bad Gateway', 'A header of this exchange is not valid HTTP (set by a policy of this API or by its upstream); the gateway did not send it.'),
  upstreamInvalidResponse: (): Refusal => own(502, 'upstream-invalid-response', 'Bad Gateway', "The upstream's response is not valid HTTP."),
  upstreamNotAllowed: (): Refusal =>
    own(
      502,
      'upstream-not-allowed',
      'Bad Gateway',
      "The gateway does not connect to this API's upstream: its address is loopback, link-local, unspecified, the gateway's own, or inside the cluster's own network under a name that is not a Service's. The gateway's log names it.",
    ),
  withheld: (): Refusal => own(503, 'route-withheld', 'Service Unavailable', 'This API is held closed by its configuration; its owner sees why on the ApiInstance.'),
  internal: (): Refusal => own(500, 'internal', 'Internal Server Error', 'The gateway failed to handle the request.'),
};
