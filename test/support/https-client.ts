/**
 * Real TLS clients for the suites: node:https (Node 20's fetch cannot be given a CA without
 * undici) with the test CA, optionally a client certificate and a keep-alive agent (else one new
 * connection per request), reporting the certificate the server presented; and the curl CLI.
 */
import { spawn } from 'node:child_process';
import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';

/** What a client trusts and shows: PEM text. */
export interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
}

export interface HttpsReply {
  status: number;
  body: any;
  /** The serial number of the certificate the server presented on this connection. */
  serial: string;
  /** Whether the answer came over a connection that had served a request before. */
  reused: boolean;
}

export function httpsRequest(
  url: string,
  tls: TlsClient,
  options: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    agent?: Agent;
  } = {},
): Promise<HttpsReply> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ca: tls.ca,
        ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
        // Without an agent of the caller's, a fresh connection (Node's global agent keeps them).
        agent: options.agent ?? false,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        timeout: 10_000,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber;
        const reused = (req as unknown as { reusedSocket: boolean }).reusedSocket;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, serial, reused });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface CurlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The curl CLI (`-sS`, 10 s at most) with `args`; resolves with its exit code and output. */
export function curl(args: readonly string[]): Promise<CurlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--max-time', '10', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
