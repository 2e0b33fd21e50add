import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';
import { headerReferences, resolveHeaders, shownDataSourceUrl } from './data-sources.js';

const allow = policy('p', '  - name: allow\n    effect: allow\n');
const LIVE = `liveData:
  blocked_ips: { schema: schemas/blocked-ips.json, default: [] }
  oncall: { schema: schemas/any.json, default: [] }
`;

function repo(sources: string): Record<string, string> {
  return {
    'stepgate.yaml': `${SETTINGS}${LIVE}dataSources:\n${sources}`,
    'schemas/blocked-ips.json': '{"type": "array", "items": {"type": "string"}}',
    'schemas/any.json': '{}',
    'p.yaml': allow,
  };
}

/** The line of stepgate.yaml that is line `n` of the dataSources entries. */
const line = (n: number) => SETTINGS.split('\n').length - 1 + LIVE.split('\n').length + n;

function messages(sources: string): string[] {
  return compileErrors(repo(sources)).map((e) => `${e.file}:${e.line ?? '?'} ${e.message}`);
}

describe('compile: dataSources in stepgate.yaml', () => {
  it('compiles each source with its defaults, and the shipped form keeps them', () => {
    const set = compileOk(
      repo(`  - name: blocked_ips
    url: https://www.spamhaus.org/drop/drop.txt
    every: 1h
    format: lines
  - name: oncall
    url: https://cmdb.example.com/oncall.csv?team=sre
    every: 1s
    format: csv
    headers: { Authorization: "Bearer \${DATA_SOURCE_CMDB_TOKEN}", Accept: text/csv }
    maxBytes: 1024
    timeout: 2500ms
`),
    );
    expect(set.settings.dataSources).toEqual([
      {
        name: 'blocked_ips',
        url: 'https://www.spamhaus.org/drop/drop.txt',
        every: 3600,
        format: 'lines',
        maxBytes: 10 * 1024 * 1024,
        timeout: 10,
      },
      {
        name: 'oncall',
        url: 'https://cmdb.example.com/oncall.csv?team=sre',
        every: 1,
        format: 'csv',
        headers: { Authorization: 'Bearer ${DATA_SOURCE_CMDB_TOKEN}', Accept: 'text/csv' },
        maxBytes: 1024,
        timeout: 2.5,
      },
    ]);
    expect(parsePolicySet(JSON.stringify(set)).settings).toEqual(set.settings);
  });

  it('leaves dataSources out when none is declared', () => {
    expect('dataSources' in compileOk(repo('  []\n')).settings).toBe(false);
  });

  it('refuses a source for a document liveData does not declare, with its line', () => {
    expect(
      messages(`  - name: blocked_ips
    url: https://example.com/a.txt
    every: 1m
    format: lines
  - name: threat_feed
    url: https://example.com/b.txt
    every: 1m
    format: lines
`),
    ).toEqual([
      `stepgate.yaml:${line(5)} dataSources[1] (threat_feed): no live data document "threat_feed" is declared; a data source feeds a document declared under liveData: (its schema checks every fetched value, its default holds until the first good fetch); declared: blocked_ips, oncall`,
    ]);
  });

  it('refuses two sources for one document', () => {
    expect(
      messages(`  - { name: blocked_ips, url: "https://a.example/x", every: 1m, format: lines }
  - { name: blocked_ips, url: "https://b.example/x", every: 1m, format: lines }
`),
    ).toEqual([
      `stepgate.yaml:${line(2)} dataSources[1] (blocked_ips): dataSources[0] already feeds "blocked_ips"; a document has at most one source (each fetch replaces its whole value)`,
    ]);
  });

  it.each([
    ['ftp://example.com/list.txt', 'url must be http:// or https://, got ftp:'],
    ['not a url', 'url "not a url" is not a URL'],
    ['https://user:secret@example.com/list.txt', 'url holds credentials (user:password@)'],
  ])('refuses the url %s', (url, message) => {
    const [error] = messages(
      `  - { name: blocked_ips, url: "${url}", every: 1m, format: lines }\n`,
    );
    expect(error).toContain(`stepgate.yaml:${line(1)} dataSources[0] (blocked_ips): ${message}`);
  });

  it.each([
    ['every: 500ms', 'every must be a duration from 1s up to 7d'],
    ['every: 8d', 'every must be a duration from 1s up to 7d'],
    ['every: 5 minutes', 'every must be a duration'],
    ['every: 1m, timeout: 10m', 'timeout must be a duration from 100ms up to 5m'],
    ['every: 1m, maxBytes: 67108865', 'maxBytes is at most 67108864 (64 MiB), got 67108865'],
    ['every: 1m, maxBytes: 0', 'maxBytes'],
  ])('refuses %s', (fields, message) => {
    const errors = messages(
      `  - { name: blocked_ips, url: "https://example.com/x", format: lines, ${fields} }\n`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
    expect(errors[0]).toMatch(new RegExp(`^stepgate.yaml:${line(1)} `));
  });

  it.each([
    [
      '"${DATABASE_URL}"',
      '${DATABASE_URL} may not be read: header values reference only environment variables named DATA_SOURCE_*',
    ],
    ['"Bearer ${data_source_x}"', '${data_source_x} is not an environment variable reference'],
    ['"Bearer ${DATA_SOURCE_X"', 'has an unclosed ${'],
  ])('refuses the header value %s', (value, message) => {
    const errors = messages(
      `  - name: blocked_ips
    url: https://example.com/x
    every: 1m
    format: lines
    headers:
      Authorization: ${value}
`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      `stepgate.yaml:${line(6)} dataSources[0] (blocked_ips): header Authorization ${message}`,
    );
  });

  it('refuses headers the fetcher sets itself', () => {
    expect(
      messages(`  - name: blocked_ips
    url: https://example.com/x
    every: 1m
    format: lines
    headers: { If-None-Match: "x", Host: evil.example }
`),
    ).toEqual([
      `stepgate.yaml:${line(5)} dataSources[0] (blocked_ips): header If-None-Match is set by the control plane itself; remove it`,
      `stepgate.yaml:${line(5)} dataSources[0] (blocked_ips): header Host is set by the control plane itself; remove it`,
    ]);
  });

  it('refuses an unknown format or field through the schema', () => {
    const [error] = messages(
      `  - { name: blocked_ips, url: "https://example.com/x", every: 1m, format: xml }\n`,
    );
    expect(error).toMatch(new RegExp(`^stepgate.yaml:${line(1)} .*format`));
  });
});

describe('data source header references', () => {
  it('lists the referenced variables', () => {
    expect(headerReferences('Bearer ${DATA_SOURCE_A}:${DATA_SOURCE_B2} $5')).toEqual({
      names: ['DATA_SOURCE_A', 'DATA_SOURCE_B2'],
    });
  });

  it('resolves them from the environment, or names the missing ones', () => {
    const headers = { Authorization: 'Bearer ${DATA_SOURCE_TOKEN}', Accept: 'text/plain' };
    expect(resolveHeaders(headers, { DATA_SOURCE_TOKEN: 's3cret' })).toEqual({
      headers: { Authorization: 'Bearer s3cret', Accept: 'text/plain' },
    });
    expect(resolveHeaders(headers, {})).toEqual({ missing: ['DATA_SOURCE_TOKEN'] });
    // Never another variable, even if a shipped set was edited by hand.
    expect(resolveHeaders({ X: '${DATABASE_URL}' }, { DATABASE_URL: 'postgres://x' })).toEqual({
      missing: ['DATABASE_URL'],
    });
  });

  it('shows a URL without its query string', () => {
    expect(shownDataSourceUrl('https://feeds.example/list.txt?key=secret#x')).toBe(
      'https://feeds.example/list.txt',
    );
  });
});
