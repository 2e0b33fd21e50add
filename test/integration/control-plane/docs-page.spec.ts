/**
 * The control plane's API reference at /docs (for a browser) beside the OpenAPI document it
 * has always answered there to API clients, from a real control-plane process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { checkDocsPage } from '../../support/docs-page.js';
import { ensureControlPlaneBuilt } from './support.js';

let cp: ControlPlaneProcess;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
}, 180_000);

afterAll(async () => {
  await cp?.destroy();
});

describe('control-plane API reference', () => {
  it('/docs is Swagger UI served by the control plane, on its own OpenAPI document', async () => {
    const { document } = await checkDocsPage(cp.url);
    expect(Object.keys(document.paths)).toContain('/v1/versions');
    expect(Object.keys(document.paths)).toContain('/docs/assets/{file}');
  });

  it('/docs still answers the document to an API client, and varies on Accept', async () => {
    const response = await fetch(`${cp.url}/docs`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('vary') ?? '').toMatch(/accept/i);
    expect(((await response.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });

  it('an unknown docs file is a JSON 404 (no file of the package beyond the page’s)', async () => {
    for (const file of ['index.html', '..%2Fpackage.json', 'swagger-ui-bundle.js.map']) {
      const response = await fetch(`${cp.url}/docs/assets/${file}`);
      expect(response.status, file).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'route/not_found' });
    }
  });
});
