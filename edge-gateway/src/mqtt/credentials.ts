// What the broker authenticates with, read from files: the users file, and the TLS listener's
// certificate, key and client CA bundle. Read at start and again on each reload (SIGHUP): every file
// is read and checked before anything is handed to the broker, so a bad file refuses the whole reload
// and the credentials in force stay as they were.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SecureContextOptions, createSecureContext } from 'node:tls';
import { Users } from './users.js';

/** Paths of the TLS listener's PEM files (the config's mqtt.tls). */
export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

/** The TLS files' contents, as tls.createServer and setSecureContext take them. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

export interface Credentials {
  users?: Users;
  tls?: TlsCredentials;
}

/** A TLS file that cannot be read or used; the message names the file and the key that points at it. */
export class TlsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFileError';
  }
}

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsFileError(`cannot read ${key} ${path}: ${(error as Error).message}`);
  }
}

/**
 * Every PEM block of the client CA bundle must be a certificate: tls.createSecureContext silently skips
 * one it cannot parse (and takes a bundle with none), so a corrupt CA would otherwise go unnoticed
 * until its clients are refused.
 */
function checkCaBundle(path: string, bundle: Buffer): void {
  // Each block from its BEGIN line to the next one (text around the blocks, as bundles have, is ignored).
  const blocks = bundle.toString('latin1').split(/(?=-----BEGIN )/).filter((block) => block.startsWith('-----BEGIN '));
  if (blocks.length === 0) throw new TlsFileError(`mqtt.tls.ca ${path} is not usable: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  blocks.forEach((block, index) => {
    const which = `block ${index + 1} of ${blocks.length}`;
    if (!block.startsWith('-----BEGIN CERTIFICATE-----')) throw new TlsFileError(`mqtt.tls.ca ${path} is not usable: ${which} is not a certificate (${block.split('\n', 1)[0]!.trim()})`);
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new TlsFileError(`mqtt.tls.ca ${path} is not usable: ${which}: ${(error as Error).message}`);
    }
  });
}

/**
 * Builds the secure context TLS builds from these files (the listener's, or a bridge upstream's client
 * certificate), so that what OpenSSL refuses (a key below its security level, "ee key too small"; a
 * certificate signed with SHA-1, "ca md too weak") is refused here, naming the config key (`prefix`,
 * e.g. mqtt.tls, then cert, key or ca) and the file, instead of by tls.createServer, setSecureContext or
 * the client's connect with OpenSSL's bare reason. The files go in one at a time so the error names
 * the one that was refused; the last step is the whole context.
 */
export function checkSecureContext(prefix: string, files: TlsFiles, tls: TlsCredentials): void {
  const steps: [key: string, path: string, options: SecureContextOptions][] = [
    [`${prefix}.cert`, files.cert, { cert: tls.cert }],
    [`${prefix}.key`, files.key, { cert: tls.cert, key: tls.key }],
  ];
  if (files.ca !== undefined) steps.push([`${prefix}.ca`, files.ca, tls]);
  for (const [key, path, options] of steps) {
    try {
      createSecureContext(options);
    } catch (error) {
      const { code, reason, message } = error as Error & { code?: string; reason?: string };
      const weak = /^ERR_SSL_\w+_TOO_(SMALL|WEAK)$/.test(code ?? '')
        ? " (below its security level: use an RSA key of at least 2048 bits or an EC key, in a certificate signed with SHA-256 or stronger)"
        : '';
      throw new TlsFileError(`${key} ${path} is refused by OpenSSL: ${reason ?? message}${weak}`);
    }
  }
}

/** Checks what the TLS server would otherwise take silently (a CA bundle without a certificate) or refuse unnamed. */
function checkedTls(files: TlsFiles): TlsCredentials {
  const cert = readPem('mqtt.tls.cert', files.cert);
  const key = readPem('mqtt.tls.key', files.key);
  const ca = files.ca === undefined ? undefined : readPem('mqtt.tls.ca', files.ca);
  const parse = <T>(what: string, path: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      throw new TlsFileError(`${what} ${path} is not usable: ${(error as Error).message}`);
    }
  };
  const certificate = parse('mqtt.tls.cert', files.cert, () => new X509Certificate(cert));
  const privateKey = parse('mqtt.tls.key', files.key, () => createPrivateKey(key));
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`mqtt.tls.key ${files.key} does not match the certificate mqtt.tls.cert ${files.cert}`);
  }
  if (files.ca !== undefined && ca !== undefined) checkCaBundle(files.ca, ca);
  const tls = ca === undefined ? { cert, key } : { cert, key, ca };
  checkSecureContext('mqtt.tls', files, tls);
  return tls;
}

/** Reads and checks every credentials file; throws UsersFileError or TlsFileError naming the file and the problem. */
export function loadCredentials(files: { usersFile?: string; tls?: TlsFiles }): Credentials {
  const users = files.usersFile === undefined ? undefined : Users.load(files.usersFile);
  const tls = files.tls === undefined ? undefined : checkedTls(files.tls);
  return { ...(users ? { users } : {}), ...(tls ? { tls } : {}) };
}
