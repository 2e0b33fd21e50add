import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTHZ_HTTP_PATH } from './authz-http.js';
import { buildAgentOpenApiDocument } from './openapi-document.js';
import { routeTable, type HttpServerOptions } from './server.js';

/** `POST /v1/decide` for every route the agent's server answers. */
function servedRoutes(): string[] {
  // The handlers are only listed, never called, so the options may be empty.
  const table = routeTable({} as HttpServerOptions);
  const exact = Object.entries(table).flatMap(([path, handlers]) =>
    Object.keys(handlers).map((method) => `${method} ${path}`),
  );
  // The reverse-proxy check answers every method on its path and below it.
  const prefix = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].flatMap((method) => [
    `${method} ${AUTHZ_HTTP_PATH}`,
    `${method} ${AUTHZ_HTTP_PATH}/{path}`,
  ]);
  return [...exact, ...prefix].sort();
}

function documentedRoutes(): string[] {
  const paths = buildAgentOpenApiDocument().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('agent OpenAPI document', () => {
  const served = servedRoutes();

  it('reads the routes from the server (the listing itself found them)', () => {
    expect(served).toContain('POST /v1/decide');
    expect(served).toContain('POST /access/v1/search/subject');
    expect(served).toContain('GET /docs');
    expect(served.length).toBeGreaterThan(20);
  });

  it('documents every route the server answers, and no route it does not', () => {
    const documented = documentedRoutes();
    expect({
      undocumented: served.filter((route) => !documented.includes(route)),
      unserved: documented.filter((route) => !served.includes(route)),
    }).toEqual({ undocumented: [], unserved: [] });
  });

  it('takes the native decision input from the protocol schema, actionAttributes included', () => {
    const paths = buildAgentOpenApiDocument().paths as Record<string, Record<string, unknown>>;
    const decide = paths['/v1/decide']?.post as {
      requestBody: { content: { 'application/json': { schema: { properties: object } } } };
    };
    const body = decide.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['principal', 'action', 'actionAttributes', 'resource', 'context']),
    );
  });

  it('is loaded only when asked for: no module of the agent imports it or the UI statically', () => {
    const src = join(import.meta.dirname, '..');
    const offenders = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .flatMap((file) =>
        readFileSync(join(src, file), 'utf8')
          .split('\n')
          .filter((line) =>
            /^\s*(import|export)\b.*\bfrom '(\.\/openapi-document\.js|swagger-ui-dist)/.test(line),
          )
          .map((line) => `${file}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
    // The one way in: a dynamic import on the first request for the document.
    expect(readFileSync(join(src, 'http/docs-routes.ts'), 'utf8')).toContain(
      "import('./openapi-document.js')",
    );
  });
});
