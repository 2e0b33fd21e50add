/**
 * Serves the console's built files (apps/console/dist) at /console: hashed assets with a long
 * cache, every other path the single page (the console routes in the browser). Mounted on
 * Express before Nest's routes, like Git smart HTTP.
 */
import express, { Router, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { consoleContentSecurityPolicy, consoleSecurityHeaders } from './console-headers.js';

export interface ConsoleOptions {
  directory: string;
  /**
   * Origins the page may also call (the console issuer's token endpoint, where the browser
   * redeems its authorization code), read for each page load.
   */
  connectOrigins?: () => Promise<readonly string[]>;
}

export function consoleRouter(options: ConsoleOptions): Router {
  const router = Router();
  let page: Promise<Buffer> | undefined;
  const readPage = () => {
    page ??= readFile(join(options.directory, 'index.html'));
    page.catch(() => (page = undefined));
    return page;
  };
  router.use((_request, response, next) => {
    response.set(consoleSecurityHeaders());
    next();
  });
  router.use(
    '/assets',
    express.static(join(options.directory, 'assets'), {
      index: false,
      dotfiles: 'deny',
      redirect: false,
      immutable: true,
      maxAge: '365d',
    }),
  );
  router.use('/assets', (request: Request, response: Response) => {
    response
      .status(404)
      .json({ error: 'route/not_found', message: `no console file ${request.path}` });
  });
  router.get(/.*/, async (_request: Request, response: Response) => {
    try {
      const html = await readPage();
      const origins = await (options.connectOrigins?.() ?? []);
      response
        .set('content-security-policy', consoleContentSecurityPolicy(origins))
        .set('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(html);
    } catch {
      response.status(503).json({
        error: 'service/unavailable',
        message: existsSync(options.directory)
          ? `the console's index.html is missing in ${options.directory}: run npm run build`
          : `the console is not built (${options.directory} is missing): run npm run build, or set STEPGATE_CONSOLE_DIR`,
      });
    }
  });
  router.use((request: Request, response: Response) => {
    response
      .status(405)
      .set('allow', 'GET, HEAD')
      .json({
        error: 'request/invalid',
        message: `the console answers GET, not ${request.method}`,
      });
  });
  return router;
}

/**
 * The token endpoint's origin when the active version declares a console issuer (none while
 * the issuer cannot be reached: the page then offers token sign-in only).
 */
export async function consoleConnectOrigins(config: {
  config(): Promise<{ oidc: { tokenEndpoint: string } | null }>;
}): Promise<string[]> {
  try {
    const { oidc } = await config.config();
    return oidc ? [new URL(oidc.tokenEndpoint).origin] : [];
  } catch {
    return [];
  }
}
