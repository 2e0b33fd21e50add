import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  DOCS_ASSET_FILES,
  DOCS_INIT_FILE,
  DOCS_SECURITY_HEADERS,
  docsContentType,
  docsInitScript,
  docsPage,
  StepgateError,
} from '@stepgate/protocol';
import { Public } from '../common/scopes.js';
import { buildOpenApiDocument } from './openapi.document.js';

const OPENAPI_JSON_PATH = '/docs/openapi.json';

/**
 * The OpenAPI document and the API reference page. `/docs` answers a browser (which asks for
 * text/html) with the page and any other client with the document, as it always has.
 */
@Controller()
@Public()
export class OpenApiController {
  private readonly document = buildOpenApiDocument();
  /** The UI's files, read from swagger-ui-dist on their first request. */
  private readonly assets = new Map<string, Promise<Buffer>>();

  @Get('docs')
  docs(@Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response) {
    res.vary('Accept');
    if (!prefersHtml(accept)) return this.document;
    res.set({ ...DOCS_SECURITY_HEADERS, 'cache-control': 'no-cache' });
    res.type('text/html; charset=utf-8');
    return docsPage('Stepgate control plane API');
  }

  @Get('docs/openapi.json')
  json() {
    return this.document;
  }

  @Get('docs/assets/:file')
  async asset(@Param('file') file: string, @Res({ passthrough: true }) res: Response) {
    let body: string | Buffer;
    if (file === DOCS_INIT_FILE) body = docsInitScript(OPENAPI_JSON_PATH);
    else if ((DOCS_ASSET_FILES as readonly string[]).includes(file)) body = await this.read(file);
    else throw new StepgateError('route/not_found', `no file ${file} in the API reference`);
    res.set({ ...DOCS_SECURITY_HEADERS, 'cache-control': 'public, max-age=3600' });
    res.type(docsContentType(file));
    return body;
  }

  private async read(file: string): Promise<Buffer> {
    let content = this.assets.get(file);
    if (content === undefined) {
      content = (async () => {
        const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
        return readFile(join(dir, file));
      })();
      this.assets.set(file, content);
      content.catch(() => this.assets.delete(file));
    }
    try {
      return await content;
    } catch {
      throw new StepgateError(
        'service/unavailable',
        `the API reference page needs the swagger-ui-dist package; ${OPENAPI_JSON_PATH} has the document`,
      );
    }
  }
}

/** A browser's Accept lists text/html; API clients send application/json, *\/* or nothing. */
function prefersHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}
