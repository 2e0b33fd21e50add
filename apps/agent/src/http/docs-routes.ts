import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DOCS_ASSET_FILES,
  DOCS_ASSETS_PATH,
  DOCS_INIT_FILE,
  DOCS_SECURITY_HEADERS,
  docsContentType,
  docsInitScript,
  docsPage,
  StepgateError,
} from '@stepgate/protocol';

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * `/openapi.json` and the API reference at `/docs`. Nothing here is loaded before it is asked
 * for: the document is built (by a module imported then) on its first request, and the UI's
 * files are read from `swagger-ui-dist` on theirs, so they cost the decision path nothing.
 */
export function docsRoutes(): Record<string, Record<string, Route>> {
  let document: Promise<string> | undefined;
  const files = new Map<string, Promise<Buffer>>();

  const openApi: Route = async (_req, res) => {
    document ??= import('./openapi-document.js').then((module) =>
      JSON.stringify(module.buildAgentOpenApiDocument()),
    );
    send(res, 'application/json; charset=utf-8', await document, {});
  };
  const asset =
    (file: (typeof DOCS_ASSET_FILES)[number]): Route =>
    async (_req, res) => {
      let content = files.get(file);
      if (content === undefined) {
        content = (async () => readFile(join(swaggerUiDir(), file)))();
        files.set(file, content);
        content.catch(() => files.delete(file));
      }
      let body: Buffer;
      try {
        body = await content;
      } catch {
        throw new StepgateError(
          'service/unavailable',
          `the API reference page needs the swagger-ui-dist package (or swagger-ui/ beside the bundled agent); ${OPENAPI_PATH} has the document`,
        );
      }
      send(res, docsContentType(file), body, DOCS_SECURITY_HEADERS, 'public, max-age=3600');
    };

  return {
    [OPENAPI_PATH]: { GET: openApi },
    [DOCS_PATH]: {
      GET: async (_req, res) =>
        send(
          res,
          'text/html; charset=utf-8',
          docsPage('Stepgate agent API'),
          DOCS_SECURITY_HEADERS,
        ),
    },
    [`${DOCS_ASSETS_PATH}/${DOCS_INIT_FILE}`]: {
      GET: async (_req, res) =>
        send(
          res,
          docsContentType(DOCS_INIT_FILE),
          docsInitScript(OPENAPI_PATH),
          DOCS_SECURITY_HEADERS,
        ),
    },
    ...Object.fromEntries(
      DOCS_ASSET_FILES.map((file) => [`${DOCS_ASSETS_PATH}/${file}`, { GET: asset(file) }]),
    ),
  };
}

/**
 * The published agent is one bundled file with the UI's files copied beside it (swagger-ui/, see
 * scripts/bundle-agent.mjs); the workspace build reads them from the swagger-ui-dist package.
 */
function swaggerUiDir(): string {
  const beside = fileURLToPath(new URL('./swagger-ui/', import.meta.url));
  if (existsSync(beside)) return beside;
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

function send(
  res: ServerResponse,
  type: string,
  body: string | Buffer,
  headers: Readonly<Record<string, string>>,
  cache = 'no-cache',
): void {
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': cache,
  });
  res.end(body);
}
