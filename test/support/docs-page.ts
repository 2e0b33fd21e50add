/**
 * What both servers' `/docs` must be, checked over real HTTP: an HTML page (for a browser's
 * Accept) under a strict CSP, whose every stylesheet and script the server itself serves (no
 * CDN: the page works offline), and whose start-up script loads the server's own OpenAPI
 * document.
 */
import { expect } from 'vitest';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

export interface DocsPageCheck {
  /** Paths of the page's stylesheets and scripts, as the page names them. */
  assets: string[];
  /** The OpenAPI document the start-up script loads. */
  document: { openapi: string; paths: Record<string, unknown> };
}

export async function checkDocsPage(base: string): Promise<DocsPageCheck> {
  const page = await fetch(`${base}/docs`, { headers: { accept: BROWSER_ACCEPT } });
  const html = await page.text();
  expect(page.status, html).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  // No inline script: every <script> has a src, and every src and href is on this server.
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  const assets = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  expect(assets.length).toBeGreaterThanOrEqual(3);
  for (const asset of assets) expect(asset, 'served by this server').toMatch(/^\/(?!\/)/);

  let specPath: string | undefined;
  for (const asset of assets) {
    const response = await fetch(`${base}${asset}`);
    const text = await response.text();
    expect(response.status, `${asset}: ${text.slice(0, 200)}`).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    if (asset.endsWith('.css')) expect(response.headers.get('content-type')).toMatch(/^text\/css/);
    else expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(text.length).toBeGreaterThan(0);
    specPath ??= /SwaggerUIBundle\(\{"url":"([^"]+)"/.exec(text)?.[1];
  }
  const bundle = assets.find((asset) => asset.endsWith('swagger-ui-bundle.js'));
  expect(bundle, 'the page loads Swagger UI').toBeDefined();
  expect(specPath, 'a script starts Swagger UI on a document of this server').toMatch(/^\/(?!\/)/);

  const spec = await fetch(`${base}${specPath}`);
  expect(spec.status).toBe(200);
  expect(spec.headers.get('content-type')).toMatch(/^application\/json/);
  const document = (await spec.json()) as DocsPageCheck['document'];
  expect(document.openapi).toMatch(/^3\.1\./);
  return { assets, document };
}
