import { createServer, type Server } from 'node:https';
import type { Logger } from '@stepgate/agent-core';
import type { HttpServerOptions } from './server.js';
import {
  describeCertificate,
  readTlsCredentials,
  watchTlsFiles,
  type TlsFiles,
} from '@stepgate/tls-files';

/** The agent's HTTPS: what createHttpServer needs, the reload, and the certificate for the log. */
export interface HttpsServing {
  https: NonNullable<HttpServerOptions['https']>;
  /** Reloads the files into the server created through `https.create` when they change. */
  watch(logger: Logger): () => void;
  certificate: Record<string, string>;
  clientCertificates: boolean;
}

/**
 * Reads and checks the files (loaded only by an agent given a certificate, so node:https and
 * node:tls cost nothing otherwise).
 * @throws Error with a one-line message naming the variable and the file.
 */
export function httpsServing(files: TlsFiles): HttpsServing {
  const loaded = readTlsCredentials(files);
  let server: Server | undefined;
  const clientCertificates = files.clientCaFile !== undefined;
  return {
    https: (listener) =>
      (server = createServer(
        {
          ...loaded.options,
          // A client CA makes a certificate mandatory (the Kubernetes API server's).
          ...(clientCertificates ? { requestCert: true, rejectUnauthorized: true } : {}),
        },
        listener,
      )),
    watch: (logger) =>
      server === undefined ? () => undefined : watchTlsFiles(server, files, loaded, logger),
    certificate: describeCertificate(loaded.certificate),
    clientCertificates,
  };
}
