/**
 * The API reference page both servers answer at `/docs`: Swagger UI from the `swagger-ui-dist`
 * package, served by the server itself (no CDN, works offline), reading the server's own
 * OpenAPI document. The page runs no inline script, so its CSP allows scripts from the server
 * only.
 */

/** Where the UI's files are served, and the files (in `swagger-ui-dist`) each path answers with. */
export const DOCS_ASSETS_PATH = '/docs/assets';
export const DOCS_ASSET_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const;
/** The page's own start-up script (not a file of the package). */
export const DOCS_INIT_FILE = 'docs-init.js';

/**
 * Swagger UI sets inline `style` attributes and draws icons from `data:` URLs; everything else
 * comes from the server itself, and the page may not be framed.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every docs response (page and assets). */
export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DOCS_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The HTML of the page; `title` names the server. */
export function docsPage(title: string): string {
  const safe = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safe}</title>
<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<noscript>${safe}: the OpenAPI document is at the path this page loads (see ${DOCS_ASSETS_PATH}/${DOCS_INIT_FILE}).</noscript>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_ASSETS_PATH}/${DOCS_INIT_FILE}"></script>
</body>
</html>
`;
}

/** The start-up script: Swagger UI on the given OpenAPI document (a same-origin path). */
export function docsInitScript(specPath: string): string {
  return `window.ui = SwaggerUIBundle(${JSON.stringify({ url: specPath, dom_id: '#swagger-ui', deepLinking: true })});\n`;
}

/** `content-type` of a docs asset by its file name. */
export function docsContentType(file: string): string {
  return file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
}

/** The OpenAPI path parameters of a templated path (`/v1/versions/{ref}` -> `ref`): strings. */
export function openApiPathParameters(path: string): Record<string, unknown>[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}
