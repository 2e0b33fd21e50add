import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { bearerToken } from '../auth/auth.guard.js';
import { actorOf, hasScope, type Principal } from '../common/scopes.js';
import { TokenService } from '../auth/token.service.js';
import { serveGitHttp } from '../git/git-http-backend.js';
import { LOGGER } from '../logging/logger.js';
import { DEFAULT_SOURCE_ID } from '../sources/sources.service.js';
import { SyncQueueService } from '../sync/sync-queue.service.js';
import {
  EmbeddedRepositoryService,
  EMBEDDED_REPO_NAME,
} from '../git/embedded-repository.service.js';
import { HookChannelService } from './hook-channel.service.js';
import type { PushReport } from './push-report.service.js';

/**
 * Git smart HTTP for the embedded repository, mounted at `/git`. Cloning needs a viewer
 * token, pushing an admin token (HTTP basic password, any user name, or a bearer token).
 * While a push is served, its post-receive hook reports back through the HookChannelService,
 * which tells the pusher the verdict on the pushed commit; once the push succeeded, a sync of
 * that commit (its id straight from the ref update) is queued, recording the pusher (the token
 * that authenticated) on the versions it creates.
 */
@Injectable()
export class GitHttpHandler {
  constructor(
    private readonly repository: EmbeddedRepositoryService,
    private readonly tokens: TokenService,
    private readonly queue: SyncQueueService,
    private readonly hooks: HookChannelService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  readonly handle = (request: Request, response: Response, next: NextFunction): void => {
    this.serve(request, response).catch(next);
  };

  private async serve(request: Request, response: Response): Promise<void> {
    const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '');
    if (!path.startsWith(`/${EMBEDDED_REPO_NAME}/`) && path !== `/${EMBEDDED_REPO_NAME}`) {
      response.status(404).json({
        error: 'route/not_found',
        message: `the embedded repository is /git/${EMBEDDED_REPO_NAME}`,
      });
      return;
    }
    // Express would read `?service=a&service=b` as a list and git http-backend as one of the
    // two: the access check and git must see the same request, so a repeat is refused.
    const repeated = repeatedParameter(request.url);
    if (repeated !== undefined) {
      response.status(400).json({
        error: 'request/invalid',
        message: `the query repeats "${repeated}"; send each parameter once`,
      });
      return;
    }
    const isPush =
      request.query.service === 'git-receive-pack' || path.endsWith('/git-receive-pack');
    const principal = await this.tokens.authenticate(
      credentialOf(request.headers.authorization) ?? '',
    );
    const allowed = principal && hasScope(principal, isPush ? ['admin'] : ['viewer', 'operator']);
    if (!allowed) {
      response.setHeader('WWW-Authenticate', 'Basic realm="stepgate", charset="UTF-8"');
      const status = principal ? 403 : 401;
      response
        .status(status)
        .type('text/plain')
        .send(
          principal
            ? `this token may not ${isPush ? 'push (needs admin)' : 'read'}\n`
            : 'use an admin token as the password\n',
        );
      return;
    }
    // Only receive-pack requests run the hook; they get a report channel for this push.
    const session = path.endsWith('/git-receive-pack')
      ? this.hooks.open((report) => this.queueSyncs(principal, report))
      : undefined;
    try {
      const result = await serveGitHttp(request, response, {
        projectRoot: this.repository.projectRoot,
        repoName: EMBEDDED_REPO_NAME,
        pathInfo: path,
        remoteUser: principal.name,
        ...(session ? { env: session.env } : {}),
      });
      // Already queued when the hook reported (same job ids: queued once); again in case it did not.
      if (result.service === 'receive-pack' && result.ok)
        await this.queueSyncs(principal, session?.report);
    } finally {
      session?.close();
    }
  }

  /**
   * A sync of each commit pushed to the tracked branch, as the hook reported it. Without a
   * report (the hook could not run) one sync of the branch as it now is.
   */
  private async queueSyncs(pusher: Principal, report: PushReport | undefined): Promise<boolean> {
    const base = {
      sourceId: DEFAULT_SOURCE_ID,
      trigger: 'push' as const,
      pushedBy: actorOf(pusher),
    };
    try {
      if (!report) await this.queue.enqueue(base);
      else for (const headSha of report.pushed) await this.queue.enqueue({ ...base, headSha });
      return true;
    } catch (error) {
      // Redis may be down: the push is safe in Git and the next poll or restart picks it up.
      this.logger.warn(
        { error: (error as Error).message },
        'push accepted but the sync could not be queued yet',
      );
      return false;
    }
  }
}

/** The token from `Authorization: Basic base64(user:token)` or `Bearer token`. */
export function credentialOf(header: string | undefined): string | undefined {
  const bearer = bearerToken(header);
  if (bearer) return bearer;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** The first query parameter named more than once (`?service=a&service=b`), if any. */
export function repeatedParameter(url: string): string | undefined {
  const cut = url.indexOf('?');
  if (cut === -1) return undefined;
  const seen = new Set<string>();
  for (const name of new URLSearchParams(url.slice(cut + 1)).keys()) {
    if (seen.has(name)) return name.slice(0, 64);
    seen.add(name);
  }
  return undefined;
}
