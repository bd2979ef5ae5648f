// TLS and HTTPS helpers for the server tests: a CA and serving certificates for
// 127.0.0.1, and a client that opens a fresh connection per request.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { generateCa, issueServingCertificate } from '../../../webhook/certs.ts';

export async function testPki(now = new Date()) {
  const ca = await generateCa(now, 24 * 3600_000, 'test-ca');
  const serving = await issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, now, 3600_000);
  return { ca, serving };
}

export interface HttpsResult {
  status: number;
  body: string;
  json: any;
  /** Serial number of the certificate the server presented. */
  serial: string;
}

export function call(
  port: number,
  ca: string | string[],
  opts: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/validate',
        ca,
        agent: false, // a new connection (and TLS handshake) every time
        headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
      },
      (res) => {
        const serial = new X509Certificate((res.socket as TLSSocket).getPeerCertificate(false).raw).serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, json, serial });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber;
}
