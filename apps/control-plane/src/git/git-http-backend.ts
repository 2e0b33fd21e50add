import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type GitService = 'upload-pack' | 'receive-pack' | 'other';

export interface ServeGitHttpOptions {
  /** The folder holding the repository (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** The only repository served, e.g. 'policies.git'. */
  repoName: string;
  /** The request path below the mount point, e.g. '/policies.git/info/refs'. */
  pathInfo: string;
  /** The authenticated user (recorded by git as the pusher); authentication is the caller's. */
  remoteUser?: string;
  /** Kills the request's git processes after this long (default 60 s). */
  timeoutMs?: number;
  /** Extra environment for git (e.g. GIT_HTTP_MAX_REQUEST_BUFFER). */
  env?: Record<string, string>;
}

export interface ServeGitHttpResult {
  service: GitService;
  /** git answered with a success status and exited cleanly (for receive-pack: refs may have moved). */
  ok: boolean;
  status: number;
  /** git's own diagnostics, bounded, for the caller's log. */
  stderr: string;
  /** Why the request was cut short (time limit, client gone, git not runnable), if it was. */
  failure?: string;
}

/** Smart-HTTP endpoints only: no dumb-protocol object access. */
const ROUTES: Record<string, { methods: string[]; service?: GitService }> = {
  '/info/refs': { methods: ['GET'] },
  '/git-upload-pack': { methods: ['POST'], service: 'upload-pack' },
  '/git-receive-pack': { methods: ['POST'], service: 'receive-pack' },
};
const SAFE_REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_STDERR = 8 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
const KILL_GRACE_MS = 5_000;
/** Environment passed through to git (never secrets such as tokens or database URLs). */
const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/**
 * Serves one smart-HTTP request for the single repository `repoName` by running the real
 * `git http-backend` CGI: request body in, CGI headers parsed into the response, the rest
 * streamed out. Any other path is a 404. The request body must not have been consumed yet.
 * git runs in its own process group, terminated on timeout or when the client goes away.
 */
export function serveGitHttp(
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeGitHttpOptions,
): Promise<ServeGitHttpResult> {
  const prefix = `/${options.repoName}`;
  const route =
    SAFE_REPO_NAME.test(options.repoName) &&
    !options.repoName.includes('..') &&
    options.pathInfo.startsWith(prefix)
      ? ROUTES[options.pathInfo.slice(prefix.length)]
      : undefined;
  if (!route) return Promise.resolve(reply(res, 404, 'Not Found', 'other'));
  const query = (req.url ?? '').split('?')[1] ?? '';
  const service = route.service ?? serviceOf(query);
  if (!route.methods.includes(req.method ?? '')) {
    res.setHeader('Allow', route.methods.join(', '));
    return Promise.resolve(reply(res, 405, 'Method Not Allowed', service));
  }
  return runBackend(req, res, options, query, service);
}

function serviceOf(query: string): GitService {
  const requested = new URLSearchParams(query).get('service');
  if (requested === 'git-upload-pack') return 'upload-pack';
  if (requested === 'git-receive-pack') return 'receive-pack';
  return 'other';
}

function reply(
  res: ServerResponse,
  status: number,
  text: string,
  service: GitService,
): ServeGitHttpResult {
  if (!res.headersSent) {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`${text}\n`);
  }
  return { service, ok: false, status, stderr: '' };
}

function cgiEnvironment(
  req: IncomingMessage,
  options: ServeGitHttpOptions,
  query: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of INHERITED_ENV) if (process.env[name]) env[name] = process.env[name];
  Object.assign(env, options.env, {
    GIT_PROJECT_ROOT: options.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: options.pathInfo,
    QUERY_STRING: query,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
  });
  const length = req.headers['content-length'];
  if (length !== undefined) env.CONTENT_LENGTH = length;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;
  if (options.remoteUser) env.REMOTE_USER = options.remoteUser;
  return env;
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  options: ServeGitHttpOptions,
  query: string,
  service: GitService,
): Promise<ServeGitHttpResult> {
  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], {
      env: cgiEnvironment(req, options, query),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let status = 502;
    let stderr = '';
    let failure: string | undefined;
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the whole group is gone already.
      }
    };
    // SIGTERM first: git removes its lock files on it (a SIGKILLed receive-pack could leave
    // refs/heads/main.lock behind and block every later push); SIGKILL what is left after a grace.
    const terminate = (): void => {
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const abort = (httpStatus: number, text: string, why: string): void => {
      if (failure !== undefined) return;
      failure = why;
      terminate();
      // Keep reading so git never blocks writing to a response nobody will read.
      child.stdout.unpipe(res);
      child.stdout.resume();
      if (!res.headersSent) {
        status = httpStatus;
        reply(res, httpStatus, text, service);
      } else {
        res.destroy();
      }
    };
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(
      () => abort(504, 'Gateway Timeout', `timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    res.on('close', () => {
      if (!res.writableFinished) abort(499, 'Client Closed Request', 'the client went away');
    });

    let settled = false;
    const settle = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!res.writableEnded && !res.destroyed) res.end();
      const ok = failure === undefined && code === 0 && status < 400;
      resolve({ service, ok, status, stderr, ...(failure === undefined ? {} : { failure }) });
    };
    child.on('error', (error) => {
      abort(502, 'Bad Gateway', `cannot run git: ${error.message}`);
      // Spawning failed: no 'close' is guaranteed to follow.
      if (child.pid === undefined) settle(null);
    });
    child.stdin.on('error', () => undefined);
    req.on('error', () => abort(400, 'Bad Request', 'the request failed'));
    req.pipe(child.stdin);

    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR);
    });

    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      if (failure !== undefined) return; // aborted: the output is being drained
      head = Buffer.concat([head, chunk]);
      const split = headerEnd(head);
      if (!split) {
        if (head.length > MAX_HEADER_BYTES)
          abort(502, 'Bad Gateway', 'git http-backend sent no header block');
        return;
      }
      child.stdout.pause();
      child.stdout.off('data', onData);
      status = writeCgiHeaders(res, head.subarray(0, split.at).toString('latin1'));
      res.write(head.subarray(split.at + split.length));
      child.stdout.pipe(res);
    };
    child.stdout.on('data', onData);
    child.stdout.on('end', () => {
      // The CGI ended without a complete header block.
      if (!res.headersSent && failure === undefined)
        abort(502, 'Bad Gateway', 'git http-backend sent no header block');
    });

    child.on('close', settle);
  });
}

function headerEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

/** Applies CGI response headers (`Status: 404 Not Found`, `Content-Type: ...`); returns the status. */
function writeCgiHeaders(res: ServerResponse, block: string): number {
  let status = 200;
  let message: string | undefined;
  const headers: Record<string, string | string[]> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const match = /^(\d{3})\s*(.*)$/.exec(value);
      if (match) {
        status = Number(match[1]);
        message = match[2] || undefined;
      }
      continue;
    }
    const previous = headers[name];
    headers[name] =
      previous === undefined
        ? value
        : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  res.writeHead(status, message, headers);
  return status;
}
