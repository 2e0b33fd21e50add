import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { PUSH_REPORT_TOKEN_ENV, PUSH_REPORT_URL_ENV } from '../git/post-receive-report.js';
import { LOGGER } from '../logging/logger.js';
import { IMPACT_WAIT_MS, PushReportService, type PushReport } from './push-report.service.js';

/** One push being served: the hook's environment, and what it reported once it has. */
export interface PushSession {
  /** For git http-backend, which passes it on to the post-receive hook. */
  env: Record<string, string>;
  /** Set when the hook has reported the push's ref updates. */
  report?: PushReport;
  /**
   * Called once the verdict lines are sent, before the report waits for the impact: the handler
   * queues the syncs then (the push is in Git already), so the replay can run within the push.
   */
  onReported?: (report: PushReport) => Promise<boolean>;
  close(): void;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const reportRequestSchema = z.object({
  updates: z
    .array(
      z.object({
        oldSha: z.string().regex(SHA),
        newSha: z.string().regex(SHA),
        ref: z.string().min(1).max(1024),
      }),
    )
    .max(1000),
});
const MAX_BODY_BYTES = 512 * 1024;

/**
 * The way back from the post-receive hook (a process git starts) into the control plane serving
 * the push: a loopback HTTP endpoint on a port of its own, where the hook posts the ref updates
 * with a token valid for that one push and gets the report lines to print. The control plane
 * judges, so the pusher is told the verdict its sync records.
 */
@Injectable()
export class HookChannelService implements OnModuleInit, OnModuleDestroy {
  /** Keyed by the SHA-256 of each push's token, so the lookup compares no secret byte by byte. */
  private readonly sessions = new Map<string, PushSession>();
  private server?: Server;
  private url?: string;

  constructor(
    private readonly reports: PushReportService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const server = createServer((request, response) => void this.serve(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push-report`;
  }

  async onModuleDestroy(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** A session for one push; close it when the push has been served. */
  open(onReported?: PushSession['onReported']): PushSession {
    const token = randomBytes(32).toString('base64url');
    const key = tokenKey(token);
    const session: PushSession = {
      env: { [PUSH_REPORT_URL_ENV]: this.url ?? '', [PUSH_REPORT_TOKEN_ENV]: token },
      ...(onReported ? { onReported } : {}),
      close: () => this.sessions.delete(key),
    };
    this.sessions.set(key, session);
    return session;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const answer = (status: number, body: object): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const key = token === undefined ? undefined : tokenKey(token);
    const session = key === undefined ? undefined : this.sessions.get(key);
    if (request.method !== 'POST' || request.url !== '/push-report' || !session)
      return answer(404, { message: 'no push is being served with this token' });
    // One report per push: the token is spent (the handler keeps the session itself).
    this.sessions.delete(key!);
    try {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch {
        body = undefined;
      }
      const parsed = reportRequestSchema.safeParse(body);
      if (!parsed.success) return answer(400, { message: 'malformed ref updates' });
      const started = Date.now();
      const report = await this.reports.report(parsed.data.updates);
      session.report = report;
      // Streamed, one JSON object a line: the verdict goes out now, the impact when known.
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify({ lines: report.lines })}\n`);
      try {
        // Not queued (Redis away): no replay can come, so no wait; the command to see it later.
        const queued = (await session.onReported?.(report)) ?? true;
        const lines = await this.reports.impact(report, queued ? started + IMPACT_WAIT_MS : 0);
        if (lines.length > 0) response.write(`${JSON.stringify({ lines })}\n`);
      } catch (error) {
        this.logger.warn({ error: (error as Error).message }, 'could not report a push impact');
      }
      response.end();
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'could not report on a push');
      answer(500, { message: (error as Error).message.split('\n')[0] });
    }
  }
}

function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`the ref updates exceed ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
