import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import * as git from 'isomorphic-git';
import type { FsClient, GitAuth, HttpClient } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { guardedLookup, urlHostProblem, type OutboundPolicy } from '../common/outbound-guard.js';
import { GitSourceError } from './git-errors.js';

export interface FetchRemoteOptions {
  /** http(s) URL of the repository. */
  url: string;
  branch: string;
  /** The local bare repository this source is fetched into; created on first use. */
  cacheDir: string;
  credentials?: { username: string; password: string };
  /** Which addresses the fetch may connect to (STEPGATE_ALLOW_PRIVATE_URLS). */
  addresses: OutboundPolicy;
  /** Whole-operation limit (default 120 s); a stalled socket fails after `idleTimeoutMs`. */
  timeoutMs?: number;
  /** Default 30 s. */
  idleTimeoutMs?: number;
  fs?: FsClient;
}

const REMOTE = 'origin';

/**
 * Brings `cacheDir` up to date with the remote branch: the first call makes it a bare,
 * single-branch, tag-less copy; later calls fetch only what is new. The local branch ref is then
 * moved to the remote head even when that is not a fast-forward (force-push), so a
 * GitPolicyReader on `cacheDir` sees the branch as the remote has it. Returns the head sha.
 * Failures become a one-line GitSourceError ('git/fetch_failed') that never contains credentials.
 * Callers must not run two fetches into the same `cacheDir` at once.
 */
export async function fetchRemote(options: FetchRemoteOptions): Promise<string> {
  const fs = options.fs ?? nodeFs;
  const gitdir = options.cacheDir;
  const shownUrl = redactUrl(options.url);
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const client = guardedHttpClient(
    controller.signal,
    options.idleTimeoutMs ?? 30_000,
    options.addresses,
  );
  const { credentials } = options;
  try {
    const refused = urlHostProblem(options.url, options.addresses);
    if (refused !== undefined) throw new Error(`refused: ${refused}`);
    if (!nodeFs.existsSync(join(gitdir, 'HEAD'))) {
      await git.init({ fs, gitdir, bare: true, defaultBranch: options.branch });
    }
    // Recorded for people inspecting the cache (never with credentials); fetches pass the URL.
    await git.addRemote({ fs, gitdir, remote: REMOTE, url: shownUrl, force: true });
    const result = await git.fetch({
      fs,
      http: client,
      gitdir,
      url: options.url,
      remote: REMOTE,
      ref: options.branch,
      singleBranch: true,
      tags: false,
      ...(credentials ? { onAuth: (): GitAuth => ({ ...credentials }) } : {}),
    });
    const head = result.fetchHead;
    if (!head) throw new Error(`branch ${options.branch} not found`);
    await git.writeRef({
      fs,
      gitdir,
      ref: `refs/heads/${options.branch}`,
      value: head,
      force: true,
    });
    return head;
  } catch (error) {
    const reason = controller.signal.aborted
      ? `timed out after ${timeoutMs / 1000}s`
      : describeFailure(error, options);
    throw new GitSourceError('git/fetch_failed', `cannot fetch ${shownUrl}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * isomorphic-git's Node client, with every request tied to one deadline and an idle timeout,
 * every connection made through the guarded lookup (each address a host name resolves to is
 * checked when connecting), and redirects refused: a redirect could lead to an address nobody
 * reviewed, and the configured URL should name the repository exactly.
 */
function guardedHttpClient(
  signal: AbortSignal,
  idleTimeoutMs: number,
  addresses: OutboundPolicy,
): HttpClient {
  const lookup = guardedLookup(addresses);
  return {
    request: async (request) => {
      const response = await http.request({
        ...request,
        signal,
        fetchOptions: { timeout: idleTimeoutMs, lookup, followRedirects: false },
      });
      const location = response.headers?.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location)
        throw new Error(
          `redirected (HTTP ${response.statusCode}) to ${redactUrl(new URL(location, request.url).toString())}; redirects are not followed: use that URL`,
        );
      return response;
    },
  };
}

function describeFailure(error: unknown, options: FetchRemoteOptions): string {
  if (error instanceof git.Errors.HttpError) {
    const { statusCode, statusMessage } = error.data;
    let reason = `HTTP ${statusCode}${statusMessage ? ` ${statusMessage}` : ''}`;
    if (statusCode === 401 || statusCode === 403)
      reason += options.credentials ? ' (credentials rejected)' : ' (no credentials configured)';
    return reason;
  }
  if (error instanceof git.Errors.NotFoundError)
    return `branch ${options.branch} not found (${error.message})`;
  if (error instanceof git.Errors.SmartHttpError)
    return 'not a Git smart-HTTP endpoint (is the URL a repository?)';
  if (error instanceof git.Errors.UserCanceledError) return 'authentication cancelled';
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return scrub(
    typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message,
    options,
  );
}

/** One line, bounded, with the URL's and the configured credentials' secrets removed. */
function scrub(message: string, options: FetchRemoteOptions): string {
  let text = message.split(options.url).join(redactUrl(options.url));
  for (const secret of [options.credentials?.password, passwordOf(options.url)]) {
    if (secret) text = text.split(secret).join('***');
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function passwordOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    return undefined;
  }
}

/** The URL without user info, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}
