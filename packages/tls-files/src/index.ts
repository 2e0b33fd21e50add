/**
 * HTTPS for the agent and the control plane: read and check the PEM files (STEPGATE_TLS_CERT,
 * _KEY, _CLIENT_CA) and reload them on change. Node-only (it reads files), so it is not one of
 * the pure packages; both apps use this one copy.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/** Where a reload is reported: pino and agent-core's Logger both fit. */
export interface TlsLogger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** The PEM files the server serves HTTPS with (STEPGATE_TLS_CERT, _KEY, _CLIENT_CA). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates must be signed by one of these CAs. */
  clientCaFile?: string;
}

/** What a server needs from a set of files: the context options and the certificate, for logs. */
export interface TlsCredentials {
  options: SecureContextOptions;
  certificate: X509Certificate;
}

/**
 * Reads the files and checks them as TLS will use them: each readable, a certificate, a private
 * key that belongs to it, a CA bundle that parses.
 * @throws Error with a one-line message naming the variable and the file.
 */
export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = readPem('STEPGATE_TLS_CERT', files.certFile);
  const key = readPem('STEPGATE_TLS_KEY', files.keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`STEPGATE_TLS_CERT: ${files.certFile} holds no PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`STEPGATE_TLS_KEY: ${files.keyFile} holds no unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey))
    throw new Error(
      `STEPGATE_TLS_KEY: ${files.keyFile} is not the key of the certificate in ${files.certFile}`,
    );
  const options: SecureContextOptions = { cert, key };
  if (files.clientCaFile !== undefined) {
    const ca = readPem('STEPGATE_TLS_CLIENT_CA', files.clientCaFile);
    try {
      new X509Certificate(ca);
    } catch {
      throw new Error(`STEPGATE_TLS_CLIENT_CA: ${files.clientCaFile} holds no PEM certificate`);
    }
    options.ca = ca;
  }
  try {
    createSecureContext(options);
  } catch (error) {
    throw new Error(`STEPGATE_TLS_CERT: ${files.certFile}: ${(error as Error).message}`);
  }
  return { options, certificate };
}

function readPem(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${variable}: cannot read ${file} (${code})`);
  }
}

/** The certificate's identity in logs (never the key). */
export function describeCertificate(certificate: X509Certificate): Record<string, string> {
  return {
    subject: certificate.subject.replace(/\n/g, ', '),
    serial: certificate.serialNumber,
    validTo: certificate.validTo,
  };
}

export interface TlsReloadTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Polls the files (fs.watchFile: a stat per interval, which also sees an atomic rename or a
 * Kubernetes Secret's symlink swap, unlike inotify on the old inode) and, when any changed,
 * gives the server the new pair: new handshakes use it, open connections keep theirs. A pair
 * that does not load (a key written before its certificate, a typo) is logged and the previous
 * one kept; the next change is tried again. Returns the function that stops watching.
 */
export function watchTlsFiles(
  server: TlsReloadTarget,
  files: TlsFiles,
  loaded: TlsCredentials,
  logger: TlsLogger,
  intervalMs = 1000,
): () => void {
  let current = loaded;
  let settle: NodeJS.Timeout | undefined;
  const reload = (): void => {
    let next: TlsCredentials;
    try {
      next = readTlsCredentials(files);
    } catch (error) {
      logger.error(
        { error: (error as Error).message, kept: describeCertificate(current.certificate) },
        'TLS files changed but do not load: still serving the previous certificate',
      );
      return;
    }
    const same =
      next.options.cert === current.options.cert &&
      next.options.key === current.options.key &&
      next.options.ca === current.options.ca;
    if (same) return;
    server.setSecureContext(next.options);
    current = next;
    logger.info(describeCertificate(next.certificate), 'TLS certificate reloaded');
  };
  const changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size)
      return;
    // A certificate and its key are often written one after the other: read both once settled.
    clearTimeout(settle);
    settle = setTimeout(reload, 200);
    settle.unref();
  };
  const paths = [files.certFile, files.keyFile, files.clientCaFile].filter(
    (path): path is string => path !== undefined,
  );
  for (const path of paths) watchFile(path, { interval: intervalMs, persistent: false }, changed);
  return () => {
    clearTimeout(settle);
    for (const path of paths) unwatchFile(path, changed);
  };
}
