// Certificates and keys for the local control plane, generated in-process with
// WebCrypto and @peculiar/x509 so nothing depends on the machine's openssl.
import { generateKeyPairSync, randomBytes, type webcrypto } from "node:crypto";
// @peculiar/x509 resolves its providers through tsyringe, which needs the
// Reflect metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface Pki {
  ca: KeyPairPem;
  apiserver: KeyPairPem;
  admin: KeyPairPem;
  controllerManager: KeyPairPem;
  /** RSA key that signs (private) and verifies (public) service-account tokens. */
  serviceAccount: { privateKey: string; publicKey: string };
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString("hex");
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyPem(k: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", k));
}

const HOUR = 3600_000;

interface Leaf {
  subject: string;
  serverNames?: { dns: string[]; ips: string[] };
  client?: boolean;
}

async function leaf(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }, spec: Leaf): Promise<KeyPairPem> {
  const keys = await newKeys();
  const eku: string[] = [];
  if (spec.serverNames) eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (spec.client) eku.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (spec.serverNames) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.serverNames.dns.map((value) => ({ type: "dns" as const, value })),
        ...spec.serverNames.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: spec.subject,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + 365 * 24 * HOUR),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { cert: cert.toString("pem") + "\n", key: await keyPem(keys.privateKey) };
}

export async function generatePki(opts: { serviceIP: string }): Promise<Pki> {
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=crossgate-e2e-ca",
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + 10 * 365 * 24 * HOUR),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { cert: caCert, keys: caKeys };
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    ca: { cert: caCert.toString("pem") + "\n", key: await keyPem(caKeys.privateKey) },
    apiserver: await leaf(ca, {
      subject: "CN=kube-apiserver",
      serverNames: {
        dns: [
          "localhost",
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc",
          "kubernetes.default.svc.cluster",
          "kubernetes.default.svc.cluster.local",
        ],
        ips: ["127.0.0.1", opts.serviceIP],
      },
    }),
    admin: await leaf(ca, { subject: "CN=crossgate-admin, O=system:masters", client: true }),
    controllerManager: await leaf(ca, { subject: "CN=system:kube-controller-manager", client: true }),
    serviceAccount: {
      privateKey: sa.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      publicKey: sa.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  };
}
