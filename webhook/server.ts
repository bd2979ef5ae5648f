// The admission server: express behind node:https. POST /validate takes an
// admission.k8s.io/v1 AdmissionReview and answers it from the rules; anything
// it cannot read, or any error while deciding, is refused (fail closed) with a
// message, never with a bare HTTP error the apiserver would have to interpret.
// /healthz, /readyz (synced snapshot and a certificate loaded) and /metrics sit
// on the same listener.
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import { metricsIn } from '../kube/metrics.ts';
import type { AdmissionRequestLike, Verdict } from './admission.ts';
import { review as reviewWithRules } from './rules/index.ts';
import type { Snapshot, SnapshotSource } from '../model/snapshot.ts';
import { VALIDATE_PATH } from './registration.ts';
import { GROUP, KINDS } from '../api/v1alpha1/index.ts';

export interface ServerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface WebhookServerOptions {
  snapshots: SnapshotSource;
  /** Listen address; default: all interfaces. Tests use 127.0.0.1. */
  host?: string;
  /** Default 9443; 0 picks a free port. */
  port?: number;
  /** Initial certificate; without one the server is not ready until setCertificate(). */
  tls?: { cert: string; key: string };
  logger?: ServerLogger;
  /** Where metrics are registered; a fresh Registry by default. */
  registry?: Registry;
  /** Largest AdmissionReview accepted (object and oldObject together). Default 8 MiB. */
  bodyLimitBytes?: number;
  /**
   * Longer than the apiserver keeps idle connections (Go's 90 s), so the
   * apiserver never reuses a connection this server is closing (pepr#3056).
   */
  keepAliveTimeoutMs?: number;
  /** Time to receive a request's headers, from its first byte; at most requestTimeoutMs (the default). */
  headersTimeoutMs?: number;
  /**
   * Time to receive one whole request, from its first byte. Default 30 s:
   * Kubernetes caps a webhook's timeoutSeconds at 30, so a slower upload is
   * never the apiserver's, only a client holding the connection.
   */
  requestTimeoutMs?: number;
  /**
   * Reviews one connection may have in flight (HTTP/1.1 pipelining); beyond it
   * the review is refused unread and the connection closed. The apiserver sends
   * one at a time per connection. Default 4.
   */
  maxInFlightPerConnection?: number;
  /**
   * When a request is refused, look again once after this long: the informer
   * cache may lag an object created a moment ago (e.g. an OrgTrust applied in
   * the same kubectl apply). 0 disables. Keep well under timeoutSeconds.
   */
  recheckDeniedAfterMs?: number;
  /** The decision function; the rules by default. */
  review?: (request: AdmissionRequestLike, snapshot: Snapshot) => Verdict;
}

export interface WebhookServer {
  readonly app: express.Express;
  readonly server: https.Server;
  readonly registry: Registry;
  listen(): Promise<AddressInfo>;
  /** Stops listening and drops open (keep-alive) connections. */
  close(): Promise<void>;
  /** Hot-swaps the serving certificate for new connections, without a restart. */
  setCertificate(pair: { cert: string; key: string }): void;
  /** Why the server is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    /** Admission warnings (allowed requests only): the apiserver passes them to the client as Warning headers. */
    warnings?: string[];
    status?: { code: number; reason: string; message: string; details?: { causes: { type: string; field: string; message: string }[] } };
  };
}

export function admissionResponse(uid: string, verdict: Verdict): AdmissionReviewResponse {
  if (verdict.allowed) {
    const warnings = verdict.warnings?.length ? { warnings: verdict.warnings } : {};
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, ...warnings } };
  }
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: false,
      status: {
        code: 403,
        reason: 'Forbidden',
        message: verdict.message,
        ...(verdict.field ? { details: { causes: [{ type: 'FieldValueForbidden', field: verdict.field, message: verdict.message }] } } : {}),
      },
    },
  };
}

/** Reads an AdmissionReview body; returns the request or why it cannot be used. */
export function parseAdmissionReview(body: unknown): { request: AdmissionRequestLike; uid: string } | { error: string; uid: string } {
  const uidOf = (v: unknown) => {
    const uid = (v as { request?: { uid?: unknown } } | null)?.request?.uid;
    return typeof uid === 'string' ? uid : '';
  };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: 'the request body is not a JSON object', uid: '' };
  const ar = body as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  const uid = uidOf(body);
  if (ar.kind !== 'AdmissionReview' || ar.apiVersion !== 'admission.k8s.io/v1') {
    return { error: `expected an admission.k8s.io/v1 AdmissionReview, got ${JSON.stringify(ar.apiVersion)} ${JSON.stringify(ar.kind)}`, uid };
  }
  const req = ar.request as Partial<AdmissionRequestLike> | undefined;
  if (!req || typeof req !== 'object') return { error: 'the AdmissionReview has no request', uid };
  if (!uid) return { error: 'the AdmissionReview request has no uid', uid };
  const k = req.kind as Partial<AdmissionRequestLike['kind']> | undefined;
  if (!k || typeof k.kind !== 'string' || typeof k.group !== 'string' || typeof k.version !== 'string') {
    return { error: 'the AdmissionReview request has no kind (group, version, kind)', uid };
  }
  if (typeof req.operation !== 'string') return { error: 'the AdmissionReview request has no operation', uid };
  return { request: req as AdmissionRequestLike, uid };
}

const FAIL_CLOSED = 'the crossgate webhook refuses what it cannot check (fail closed)';

/** The metric labels of a review refused before its kind and operation could be read: the bounded set's "other". */
const UNREAD = { kind: 'other', operation: 'other' } as const;

const KNOWN_KINDS: ReadonlySet<string> = new Set(KINDS.map((k) => k.kind));
const KNOWN_OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/**
 * Metric labels of a review: the request's kind and operation only when they
 * are crossgate's (anything else is "other"), so a client POSTing reviews with
 * made-up kinds cannot grow the series without bound.
 */
export function metricLabels(request: Pick<AdmissionRequestLike, 'kind' | 'operation'>): { kind: string; operation: string } {
  const k = request.kind;
  return {
    kind: k?.group === GROUP && KNOWN_KINDS.has(k.kind) ? k.kind : 'other',
    operation: KNOWN_OPERATIONS.has(request.operation) ? request.operation : 'other',
  };
}

export function createWebhookServer(opts: WebhookServerOptions): WebhookServer {
  const log = opts.logger ?? silent;
  const decide = opts.review ?? reviewWithRules;
  const registry = opts.registry ?? new Registry();
  const bodyLimit = opts.bodyLimitBytes ?? 8 * 1024 * 1024;
  let certificateLoaded = Boolean(opts.tls);

  const metric = metricsIn(registry);
  const requests = metric.counter('crossgate_webhook_admission_requests_total', 'Admission requests answered, by kind, operation and whether they were allowed.', ['kind', 'operation', 'allowed']);
  const duration = metric.histogram('crossgate_webhook_admission_duration_seconds', 'Time to answer an admission request, by kind and operation.', ['kind', 'operation'], [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
  ]);
  const failures = metric.counter(
    'crossgate_webhook_admission_failures_total',
    'Admission requests refused because they could not be read or checked (malformed, not synced, internal error).',
    ['reason'],
  );
  // controller-runtime's names, so existing webhook dashboards work.
  const crRequests = metric.counter('controller_runtime_webhook_requests_total', 'Total number of admission requests by HTTP status code.', ['webhook', 'code']);
  const crLatency = metric.histogram('controller_runtime_webhook_latency_seconds', 'Histogram of the latency of processing admission requests.', ['webhook']);
  const crInFlight = metric.gauge('controller_runtime_webhook_requests_in_flight', 'Current number of admission requests being served.', ['webhook']);

  function notReadyReason(): string | undefined {
    if (!certificateLoaded) return 'no serving certificate loaded';
    if (!opts.snapshots.hasSynced()) return 'informer caches not synced';
    return undefined;
  }

  async function answer(body: unknown): Promise<{ response: AdmissionReviewResponse; kind: string; operation: string }> {
    const parsed = parseAdmissionReview(body);
    if ('error' in parsed) {
      failures.inc({ reason: 'malformed' });
      log.warn({ uid: parsed.uid, problem: parsed.error }, 'malformed admission review refused');
      return { response: admissionResponse(parsed.uid, { allowed: false, message: `${parsed.error}; ${FAIL_CLOSED}` }), ...UNREAD };
    }
    const { request, uid } = parsed;
    const kind = request.kind.kind;
    const operation = request.operation;
    const labels = metricLabels(request);
    if (!opts.snapshots.hasSynced()) {
      failures.inc({ reason: 'not_synced' });
      return {
        response: admissionResponse(uid, {
          allowed: false,
          message: `the crossgate webhook has not finished loading organizations and trusts; retry in a few seconds (${FAIL_CLOSED})`,
        }),
        ...labels,
      };
    }
    let verdict: Verdict;
    try {
      verdict = decide(request, opts.snapshots.current());
      if (!verdict.allowed && (opts.recheckDeniedAfterMs ?? 0) > 0) {
        await new Promise((r) => setTimeout(r, opts.recheckDeniedAfterMs));
        verdict = decide(request, opts.snapshots.current());
      }
    } catch (err) {
      failures.inc({ reason: 'internal_error' });
      log.error({ uid, kind, operation, namespace: request.namespace, name: request.name, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'admission rule failed');
      verdict = { allowed: false, message: `internal error while checking ${kind} "${request.name ?? ''}"; ${FAIL_CLOSED}. The webhook's log has the details.` };
    }
    const who = { uid, kind, operation, namespace: request.namespace, name: request.name, user: request.userInfo?.username };
    if (verdict.allowed) log.debug(who, 'admitted');
    else log.info({ ...who, field: verdict.field, message: verdict.message }, 'refused');
    return { response: admissionResponse(uid, verdict), ...labels };
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const track = (_req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    crInFlight.inc({ webhook: VALIDATE_PATH });
    res.once('close', () => {
      crInFlight.dec({ webhook: VALIDATE_PATH });
      crLatency.observe({ webhook: VALIDATE_PATH }, Number(process.hrtime.bigint() - started) / 1e9);
      crRequests.inc({ webhook: VALIDATE_PATH, code: String(res.statusCode) });
    });
    res.locals['started'] = started;
    next();
  };

  // Reviews in flight per connection: a pipelining client is refused before its bodies are read.
  const maxPerConnection = Math.max(1, opts.maxInFlightPerConnection ?? 4);
  const inFlight = new WeakMap<Socket, number>();
  const perConnection = (req: Request, res: Response, next: NextFunction) => {
    const socket = req.socket;
    const n = inFlight.get(socket) ?? 0;
    if (n >= maxPerConnection) {
      failures.inc({ reason: 'too_many_in_flight' });
      requests.inc({ ...UNREAD, allowed: 'false' });
      log.warn({ remote: socket.remoteAddress, inFlight: n }, 'admission review refused: too many in flight on one connection; closing it');
      res.set('connection', 'close');
      res.status(200).json(
        admissionResponse('', { allowed: false, message: `more than ${maxPerConnection} admission reviews in flight on one connection; ${FAIL_CLOSED}. Send one review at a time per connection.` }),
      );
      return;
    }
    inFlight.set(socket, n + 1);
    res.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    next();
  };

  app.post(VALIDATE_PATH, track, perConnection, express.raw({ type: () => true, limit: bodyLimit }), async (req: Request, res: Response) => {
    const started = res.locals['started'] as bigint;
    let body: unknown;
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const { response, kind, operation } =
      body === undefined
        ? (failures.inc({ reason: 'malformed' }),
          log.warn({ bytes: raw.length }, 'admission review is not valid JSON; refused'),
          { response: admissionResponse('', { allowed: false, message: `the request body is not valid JSON; ${FAIL_CLOSED}` }), ...UNREAD })
        : await answer(body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    requests.inc({ kind, operation, allowed: String(response.response.allowed) });
    duration.observe({ kind, operation }, seconds);
    res.status(200).json(response);
  });

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const reason = notReadyReason();
    res.status(reason ? 503 : 200).type('text/plain').send(reason ?? 'ok');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  // Body too large, aborted upload, or a bug: on /validate still an AdmissionReview refusal.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (req.path === VALIDATE_PATH && req.method === 'POST') {
      failures.inc({ reason: e.type === 'entity.too.large' ? 'too_large' : 'internal_error' });
      requests.inc({ ...UNREAD, allowed: 'false' });
      const message =
        e.type === 'entity.too.large'
          ? `the AdmissionReview is larger than the webhook accepts (${bodyLimit} bytes); ${FAIL_CLOSED}`
          : `the webhook could not read the request; ${FAIL_CLOSED}`;
      log.warn({ problem: e.type ?? e.message }, 'admission request refused before it could be read');
      if (!res.headersSent) res.status(200).json(admissionResponse('', { allowed: false, message }));
      return;
    }
    log.error({ err: e.message, path: req.path }, 'request failed');
    if (!res.headersSent) res.status(e.status ?? 500).type('text/plain').send('error');
  });

  const server = https.createServer(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : {}, app);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 90_000;
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  // Headers are part of the request: a headersTimeout above requestTimeout could never fire (Node refuses it at creation).
  server.headersTimeout = Math.min(opts.headersTimeoutMs ?? server.requestTimeout, server.requestTimeout || Infinity);
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));

  return {
    app,
    server,
    registry,
    notReadyReason,
    setCertificate(pair) {
      server.setSecureContext({ cert: pair.cert, key: pair.key });
      certificateLoaded = true;
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 9443, opts.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
