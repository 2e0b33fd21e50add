/**
 * Certificates made for one test run with the real `openssl` CLI: a CA, server certificates for
 * 127.0.0.1 / localhost / ::1 signed by it, and client certificates. Nothing is checked in.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  /** As Node reports it (`X509Certificate.serialNumber`, `getPeerCertificate().serialNumber`). */
  serial: string;
}

export interface TestCa {
  name: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate's PEM text. */
  pem: string;
}

export interface TestPki {
  dir: string;
  /** A CA named `name` (its own key), in the run's directory. */
  ca(name: string): TestCa;
  /** A server certificate for 127.0.0.1, ::1 and localhost. */
  server(ca: TestCa, name: string): Issued;
  /** A client certificate (extendedKeyUsage clientAuth) with common name `cn`. */
  client(ca: TestCa, name: string, cn: string): Issued;
  /** Removes every file. */
  cleanup(): void;
}

const CONFIG = '[req]\ndistinguished_name = dn\n[dn]\n';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function testPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-tls-'));
  const config = join(dir, 'openssl.cnf');
  // Only the extensions asked for below: not the system openssl.cnf's defaults.
  writeFileSync(config, CONFIG);
  const openssl = (args: string[]) =>
    execFileSync('openssl', ['req', '-x509', '-new', '-config', config, ...EC_KEY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const leaf = (ca: TestCa, name: string, cn: string, extensions: string[]): Issued => {
    const certFile = join(dir, `${name}.pem`);
    const keyFile = join(dir, `${name}.key`);
    openssl([
      ...['-keyout', keyFile, '-out', certFile, '-subj', `/CN=${cn}`, '-days', '2'],
      ...['-CA', ca.certFile, '-CAkey', ca.keyFile],
      ...['-addext', 'basicConstraints=critical,CA:FALSE'],
      ...extensions.flatMap((extension) => ['-addext', extension]),
    ]);
    return {
      certFile,
      keyFile,
      serial: new X509Certificate(readFileSync(certFile)).serialNumber,
    };
  };
  return {
    dir,
    ca(name) {
      const certFile = join(dir, `${name}.pem`);
      const keyFile = join(dir, `${name}.key`);
      openssl([
        ...['-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`, '-days', '2'],
        ...['-addext', 'basicConstraints=critical,CA:TRUE'],
        ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      ]);
      return { name, certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
    },
    server: (ca, name) =>
      leaf(ca, name, 'localhost', [
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        'extendedKeyUsage=serverAuth',
      ]),
    client: (ca, name, cn) => leaf(ca, name, cn, ['extendedKeyUsage=clientAuth']),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Replaces `to` by a copy of `from` in one rename, as a Kubernetes Secret update does. */
export function replaceAtomically(from: string, to: string): void {
  writeFileSync(`${to}.new`, readFileSync(from));
  renameSync(`${to}.new`, to);
}
