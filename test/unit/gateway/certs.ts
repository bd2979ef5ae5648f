// Test certificates made with openssl (P-256, 2 days): a CA, certificates it
// signs with the extensions asked for, and self-signed strangers. Used by the
// gRPC mTLS tests, in-process and against the spawned process.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertSpec {
  /** File stem: <name>.crt and <name>.key in the directory. */
  name: string;
  cn: string;
  /** openssl x509 extension lines, e.g. "subjectAltName=IP:127.0.0.1,DNS:localhost"; absent: a self-signed certificate of another CA. */
  ext?: string;
}

/** ca.crt/ca.key and each spec's <name>.crt/<name>.key in `dir`; throws when openssl is missing (callers skip). */
export function makeCerts(dir: string, specs: readonly CertSpec[]): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  for (const s of specs) {
    if (s.ext === undefined) {
      ssl('req', '-x509', ...ec, '-days', '2', '-subj', `/CN=${s.cn}`, '-keyout', `${s.name}.key`, '-out', `${s.name}.crt`);
      continue;
    }
    ssl('req', ...ec, '-subj', `/CN=${s.cn}`, '-keyout', `${s.name}.key`, '-out', `${s.name}.csr`);
    writeFileSync(join(dir, `${s.name}.ext`), `${s.ext}\n`);
    ssl('x509', '-req', '-in', `${s.name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${s.name}.ext`, '-out', `${s.name}.crt`);
  }
}

/** The serving certificate of authz on 127.0.0.1 / localhost. */
export const SERVER_CERT: CertSpec = { name: 'server', cn: 'crossgate-authz', ext: 'subjectAltName=IP:127.0.0.1,DNS:localhost' };
