// The floor under the webhook's figures: a bare node:https server that reads
// an AdmissionReview, parses it and admits it, with no express, no rules and
// no metrics. Run as its own process (as the webhook is) and measured with the
// same client, it shows how much of the webhook's latency is this box, TLS,
// HTTP and JSON rather than crossgate. The serving pair arrives on stdin (it
// is the webhook's own, read from its Secret), so it never touches the disk;
// the port goes to stdout.
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { cert, key } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { cert: string; key: string };

const server = https.createServer({ cert, key }, (req, res) => {
  const body: Buffer[] = [];
  req.on('data', (c: Buffer) => body.push(c));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(body).toString('utf8')) as { request: { uid: string } };
    const out = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 90_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
