// Certificates for TLS tests, made by openssl (a real third-party tool, as a plant's PKI would):
// self-signed CAs and certificates they sign, as PEM files `<name>.pem` / `<name>.key` in `dir`.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

export function certificateMaker(dir: string) {
  const file = (name: string) => join(dir, name);
  return {
    file,
    /** A self-signed CA `name` (its certificate `name.pem`, its key `name.key`). */
    ca(name: string): void {
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '1', '-subj', `/CN=${name}`);
    },
    /** A certificate `name` with this subject signed by CA `by`; `ipSan`: a subjectAltName for a server at that address. */
    signed(name: string, subject: string, by: string, ipSan?: string): void {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      const extra: string[] = [];
      if (ipSan !== undefined) {
        writeFileSync(file(`${name}.cnf`), `subjectAltName=IP:${ipSan}\n`);
        extra.push('-extfile', file(`${name}.cnf`));
      }
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${by}.pem`), '-CAkey', file(`${by}.key`), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', ...extra);
    },
  };
}
