/**
 * A loopback smart-HTTP Git server for tests: serves one bare repository through the control
 * plane's serveGitHttp (the real `git http-backend`), optionally behind HTTP basic auth. It plays
 * "the remote GitHub" for fetch tests and the embedded repository for push tests.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import {
  serveGitHttp,
  type ServeGitHttpResult,
} from '../../apps/control-plane/src/git/git-http-backend.js';

export interface GitHttpServerOptions {
  /** Path of the bare repository; its folder name is the repository name in the URL. */
  repoDir: string;
  /** When set, every request needs these basic-auth credentials (else 401). */
  auth?: { username: string; password: string };
}

export interface RunningGitHttpServer {
  /** The clone URL, e.g. http://127.0.0.1:41234/policies.git */
  url: string;
  /** Every request served, in order, with what serveGitHttp reported. */
  requests: Array<{ method: string; path: string; chunked: boolean } & ServeGitHttpResult>;
  close(): Promise<void>;
}

export class GitHttpTestServer {
  constructor(private readonly options: GitHttpServerOptions) {}

  async start(): Promise<RunningGitHttpServer> {
    const repoName = basename(this.options.repoDir);
    const requests: RunningGitHttpServer['requests'] = [];
    const server: Server = createServer((req, res) => {
      const user = this.authenticate(req);
      if (user === null) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end('Unauthorized\n');
        return;
      }
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://test').pathname);
      serveGitHttp(req, res, {
        projectRoot: dirname(this.options.repoDir),
        repoName,
        pathInfo: path,
        ...(user ? { remoteUser: user } : {}),
      }).then(
        (result) => {
          const chunked = req.headers['transfer-encoding'] === 'chunked';
          requests.push({ method: req.method ?? '', path, chunked, ...result });
        },
        (error: unknown) => {
          res.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/${repoName}`,
      requests,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  /** The user name when credentials are required and right, '' when none are required. */
  private authenticate(req: IncomingMessage): string | null {
    const expected = this.options.auth;
    if (!expected) return '';
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(.+)$/i.exec(header);
    if (!match) return null;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    return colon >= 0 && username === expected.username && password === expected.password
      ? username
      : null;
  }
}
