import { parseDuration } from '../duration.js';
import type { CompileError } from '../errors.js';
import type { DataSourceDeclaration, LiveDataDeclaration } from '../model.js';
import type { DataSourceDocument } from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';

/** Fetches of one source are at least this many seconds apart (10s or more outside tests). */
export const MIN_DATA_SOURCE_EVERY = 1;
export const MAX_DATA_SOURCE_EVERY = 7 * 86400;
export const DEFAULT_DATA_SOURCE_MAX_BYTES = 10 * 1024 * 1024;
/** No body larger than this is ever read: the control plane holds it in memory to parse it. */
export const MAX_DATA_SOURCE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DATA_SOURCE_TIMEOUT = 10;
const MIN_TIMEOUT = 0.1;
const MAX_TIMEOUT = 300;
const MAX_HEADERS = 20;

/**
 * Header values may name only environment variables with this prefix: a policy author picks the
 * URL too, so `${DATABASE_URL}` or `${STEPGATE_SECRET_KEY}` would send the control plane's own
 * secrets wherever they like.
 */
export const DATA_SOURCE_ENV_PREFIX = 'DATA_SOURCE_';

/** Headers the fetcher sets itself or that would change what the connection is. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'if-none-match',
  'if-modified-since',
]);

const REFERENCE = /\$\{([^}]*)\}/g;
const VARIABLE = /^[A-Z][A-Z0-9_]*$/;

/**
 * The environment variables a header value references (`${NAME}`), or a problem with one of
 * its references. A `$` not followed by `{` is literal.
 */
export function headerReferences(value: string): { names: string[] } | { problem: string } {
  const names: string[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    const name = match[1] as string;
    if (!VARIABLE.test(name))
      return {
        problem: `\${${name}} is not an environment variable reference; write \${${DATA_SOURCE_ENV_PREFIX}NAME} (capital letters, digits, "_")`,
      };
    if (!name.startsWith(DATA_SOURCE_ENV_PREFIX))
      return {
        problem: `\${${name}} may not be read: header values reference only environment variables named ${DATA_SOURCE_ENV_PREFIX}*, so a repository cannot send the control plane's other secrets to its URL; rename it, e.g. ${DATA_SOURCE_ENV_PREFIX}${name}`,
      };
    names.push(name);
  }
  const rest = value.replace(REFERENCE, '');
  if (rest.includes('${'))
    return { problem: 'has an unclosed ${: write ${NAME} to reference an environment variable' };
  return { names };
}

/**
 * Header values with their `${NAME}` references replaced from `env`; the names missing from
 * `env` instead (nothing is sent then). Values are never part of the result's errors.
 */
export function resolveHeaders(
  headers: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): { headers: Record<string, string> } | { missing: string[] } {
  const resolved: Record<string, string> = {};
  const missing = new Set<string>();
  for (const [header, template] of Object.entries(headers)) {
    resolved[header] = template.replace(REFERENCE, (_, name: string) => {
      const value = Object.hasOwn(env, name) ? env[name] : undefined;
      if (value === undefined || !name.startsWith(DATA_SOURCE_ENV_PREFIX)) {
        missing.add(name);
        return '';
      }
      return value;
    });
  }
  return missing.size > 0 ? { missing: [...missing].sort() } : { headers: resolved };
}

/** `url` without its query string and fragment (which may hold a key), for reasons and logs. */
export function shownDataSourceUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.search = '';
    parsed.hash = '';
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

export function compileDataSources(
  docs: readonly DataSourceDocument[],
  liveData: Readonly<Record<string, LiveDataDeclaration>>,
  liveDataDeclared: ReadonlySet<string>,
  source: YamlDocument,
  errors: CompileError[],
): DataSourceDeclaration[] {
  const compiled: DataSourceDeclaration[] = [];
  const fed = new Map<string, number>();
  docs.forEach((doc, index) => {
    const before = errors.length;
    const fail = (message: string, ...path: (string | number)[]) =>
      errors.push(
        source.error('data_source/invalid', `dataSources[${index}] (${doc.name}): ${message}`, [
          'dataSources',
          index,
          ...path,
        ]),
      );
    if (!liveDataDeclared.has(doc.name)) {
      const names = [...liveDataDeclared].sort();
      fail(
        `no live data document "${doc.name}" is declared; a data source feeds a document declared under liveData: (its schema checks every fetched value, its default holds until the first good fetch)${names.length > 0 ? `; declared: ${names.join(', ')}` : ''}`,
        'name',
      );
    }
    const earlier = fed.get(doc.name);
    if (earlier !== undefined)
      fail(
        `dataSources[${earlier}] already feeds "${doc.name}"; a document has at most one source (each fetch replaces its whole value)`,
        'name',
      );
    else fed.set(doc.name, index);

    const urlProblem = dataSourceUrlProblem(doc.url);
    if (urlProblem !== undefined) fail(urlProblem, 'url');

    const every = typeof doc.every === 'number' ? doc.every : parseDuration(doc.every);
    if (every === undefined || every < MIN_DATA_SOURCE_EVERY || every > MAX_DATA_SOURCE_EVERY)
      fail(
        `every must be a duration from 1s up to 7d (10s or more outside tests, e.g. 5m), got ${JSON.stringify(doc.every)}`,
        'every',
      );

    let timeout = DEFAULT_DATA_SOURCE_TIMEOUT;
    if (doc.timeout !== undefined) {
      const seconds = typeof doc.timeout === 'number' ? doc.timeout : parseDuration(doc.timeout);
      if (seconds === undefined || seconds < MIN_TIMEOUT || seconds > MAX_TIMEOUT)
        fail(
          `timeout must be a duration from 100ms up to 5m (e.g. 10s), got ${JSON.stringify(doc.timeout)}`,
          'timeout',
        );
      else timeout = seconds;
    }

    const maxBytes = doc.maxBytes ?? DEFAULT_DATA_SOURCE_MAX_BYTES;
    if (maxBytes > MAX_DATA_SOURCE_MAX_BYTES)
      fail(
        `maxBytes is at most ${MAX_DATA_SOURCE_MAX_BYTES} (64 MiB), got ${maxBytes}`,
        'maxBytes',
      );

    const headers = doc.headers ?? {};
    const headerNames = Object.keys(headers);
    if (headerNames.length > MAX_HEADERS)
      fail(`at most ${MAX_HEADERS} headers, got ${headerNames.length}`, 'headers');
    const seen = new Set<string>();
    for (const header of headerNames) {
      const lower = header.toLowerCase();
      if (RESERVED_HEADERS.has(lower))
        fail(`header ${header} is set by the control plane itself; remove it`, 'headers', header);
      if (seen.has(lower)) fail(`header ${header} is given twice`, 'headers', header);
      seen.add(lower);
      const value = headers[header] as string;
      if (/[\r\n\0]/.test(value))
        fail(`header ${header} holds a line break or NUL`, 'headers', header);
      const references = headerReferences(value);
      if ('problem' in references)
        fail(`header ${header} ${references.problem}`, 'headers', header);
    }

    if (errors.length > before || !Object.hasOwn(liveData, doc.name)) return;
    const declaration: DataSourceDeclaration = {
      name: doc.name,
      url: doc.url,
      every: every as number,
      format: doc.format,
      maxBytes,
      timeout,
    };
    if (headerNames.length > 0) declaration.headers = { ...headers };
    compiled.push(declaration);
  });
  return compiled;
}

/** Why `url` cannot be a data source's URL, or undefined. */
export function dataSourceUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url ${JSON.stringify(url)} is not a URL; write e.g. https://www.spamhaus.org/drop/drop.txt`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `url must be http:// or https://, got ${parsed.protocol}`;
  if (parsed.username !== '' || parsed.password !== '')
    return 'url holds credentials (user:password@), which would live in Git; remove them and send them in a header from an environment variable, e.g. headers: {Authorization: "Bearer ${DATA_SOURCE_FEED_TOKEN}"}';
  return undefined;
}
