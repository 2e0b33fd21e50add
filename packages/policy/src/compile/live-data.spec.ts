import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';
import { compile } from './compile.js';

const allow = policy('p', '  - name: allow\n    effect: allow\n');
const CIDRS = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'array',
  items: { type: 'string', pattern: '^[0-9a-f.:]+/[0-9]+$' },
});

const LIVE = `liveData:
  blocked_ips:
    schema: schemas/blocked-ips.json
    default: []
  limits:
    schema: schemas/limits.json
    default: { ci: 10 }
signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
  new_device: { event: new_device, window: 24h, aggregate: exists }
  last_country: { event: login, field: country, window: 30d, aggregate: last }
  countries: { event: login, field: country, window: 86400, aggregate: distinct }
`;

function repo(settings: string, files: Record<string, string> = {}): Record<string, string> {
  return {
    'stepgate.yaml': `${SETTINGS}${settings}`,
    'schemas/blocked-ips.json': CIDRS,
    'schemas/limits.json': '{"type": "object", "additionalProperties": {"type": "integer"}}',
    'p.yaml': allow,
    ...files,
  };
}

/** `file:line message` of every compile error. */
function messages(files: Record<string, string>): string[] {
  return compileErrors(files).map((e) => `${e.file}:${e.line ?? '?'} ${e.message}`);
}

/** The line of stepgate.yaml that is line `n` of what `repo` appends to SETTINGS. */
const line = (n: number) => SETTINGS.split('\n').length - 1 + n;

describe('compile: liveData and signals in stepgate.yaml', () => {
  it('compiles schemas, defaults and signals into the settings', () => {
    const set = compileOk(repo(LIVE));
    expect(set.settings.liveData).toEqual({
      blocked_ips: { schema: JSON.parse(CIDRS), default: [] },
      limits: {
        schema: { type: 'object', additionalProperties: { type: 'integer' } },
        default: { ci: 10 },
      },
    });
    expect(set.settings.signals).toEqual({
      failed_logins: { event: 'login_failed', window: 3600, aggregate: 'count' },
      new_device: { event: 'new_device', window: 86400, aggregate: 'exists' },
      last_country: { event: 'login', field: 'country', window: 2592000, aggregate: 'last' },
      countries: { event: 'login', field: 'country', window: 86400, aggregate: 'distinct' },
    });
    // The shipped form keeps them.
    expect(parsePolicySet(JSON.stringify(set)).settings).toEqual(set.settings);
  });

  it('compiles two schemas with the same $id, each checking its own default', () => {
    const settings = `liveData:
  a: { schema: schemas/a.json, default: [] }
  b: { schema: schemas/b.json, default: 1 }
`;
    const files = {
      'schemas/a.json': '{"$id": "https://example.com/s", "type": "array"}',
      'schemas/b.json': '{"$id": "https://example.com/s", "type": "integer"}',
    };
    expect(compileOk(repo(settings, files)).settings.liveData?.b?.default).toBe(1);
    expect(messages(repo(settings.replace('default: 1', 'default: []'), files))).toEqual([
      `stepgate.yaml:${line(3)} liveData.b: default does not match schemas/b.json: (root): must be integer`,
    ]);
  });

  it('leaves both out when nothing is declared, so existing bundles do not change', () => {
    const set = compileOk({ 'p.yaml': allow });
    expect(Object.keys(set.settings)).toEqual([
      'defaultEffect',
      'onError',
      'levels',
      'issuers',
      'mask',
    ]);
  });

  it('reports a missing, non-JSON, non-2020-12 or invalid schema file at the schema line', () => {
    const settings = `liveData:
  a: { schema: schemas/missing.json, default: [] }
  b: { schema: schemas/broken.json, default: [] }
  c: { schema: schemas/draft7.json, default: [] }
  d: { schema: schemas/invalid.json, default: [] }
  e: { schema: ../outside.json, default: [] }
  f: { schema: data/list.json, default: [] }
`;
    const errors = messages(
      repo(settings, {
        'schemas/broken.json': '{"type": ',
        'schemas/draft7.json': '{"$schema": "http://json-schema.org/draft-07/schema#"}',
        'schemas/invalid.json': '{"type": "array", "tpye": "string"}',
        'data/list.json': '[]',
      }),
    );
    expect(errors).toEqual([
      `stepgate.yaml:${line(2)} liveData.a: schema file schemas/missing.json does not exist in the policy repository`,
      expect.stringMatching(
        new RegExp(
          `^stepgate.yaml:${line(3)} liveData.b: schema file schemas/broken.json is not JSON: `,
        ),
      ),
      `stepgate.yaml:${line(4)} liveData.c: schema file schemas/draft7.json declares $schema "http://json-schema.org/draft-07/schema#"; live data schemas are JSON Schema 2020-12 ("https://json-schema.org/draft/2020-12/schema", or leave $schema out)`,
      `stepgate.yaml:${line(5)} liveData.d: schema file schemas/invalid.json is not a valid JSON Schema (2020-12): strict mode: unknown keyword: "tpye"`,
      `stepgate.yaml:${line(6)} liveData.e: schema must be the path of a .json file inside the policy repository, from its root (e.g. schemas/blocked-ips.json), got "../outside.json"`,
      `stepgate.yaml:${line(7)} liveData.f: schema data/list.json is under data/, where it would also be a Git data document; move it, e.g. to schemas/`,
    ]);
  });

  it('reports a default that does not match its schema, or no default', () => {
    const settings = `liveData:
  blocked_ips:
    schema: schemas/blocked-ips.json
    default: ["10.0.0.0/8", "not a cidr"]
`;
    expect(messages(repo(settings))).toEqual([
      `stepgate.yaml:${line(4)} liveData.blocked_ips: default does not match schemas/blocked-ips.json: /1: must match pattern "^[0-9a-f.:]+/[0-9]+$"`,
    ]);
    expect(messages(repo('liveData:\n  limits:\n    schema: schemas/limits.json\n'))).toEqual([
      `stepgate.yaml:${line(3)} liveData.limits.default: is required (expected nonoptional, received undefined)`,
    ]);
  });

  it('refuses a name that is also Git data, a bad name and too many documents', () => {
    const many = Array.from(
      { length: 65 },
      (_, i) => `  d${i}: { schema: schemas/limits.json, default: {} }`,
    ).join('\n');
    expect(
      messages(
        repo('liveData:\n  network: { schema: schemas/limits.json, default: {} }\n', {
          'data/network/office.yaml': '[]',
        }),
      ),
    ).toEqual([
      `stepgate.yaml:${line(2)} liveData.network: data.network is already Git data (data/network/office.yaml); a name is either Git data or live data, so rename one`,
    ]);
    expect(
      messages(repo('signals:\n  Bad-Name: { event: e, window: 1h, aggregate: count }\n')),
    ).toEqual([
      `stepgate.yaml:${line(2)} signals.Bad-Name: invalid name: must be 1-63 lowercase letters, digits or "_", starting with a letter (and not "constructor" or "prototype", which reach JavaScript's object internals)`,
    ]);
    expect(messages(repo(`liveData:\n${many}\n`))).toEqual([
      `stepgate.yaml:${line(2)} liveData declares 65 documents; at most 64 are allowed`,
    ]);
  });

  it('checks every signal: window, field and aggregate', () => {
    const settings = `signals:
  a: { event: e, window: 91d, aggregate: count }
  b: { event: e, window: 1.5s, aggregate: exists }
  c: { event: e, window: 1h, aggregate: last }
  d: { event: e, field: f, window: 1h, aggregate: count }
  e: { event: e, window: 1h, aggregate: sum }
`;
    expect(messages(repo(settings))).toEqual([
      expect.stringMatching(/^stepgate.yaml:\d+ signals.e.aggregate: Invalid option/),
    ]);
    expect(messages(repo(settings.replace(/ {2}e: .*\n/, '')))).toEqual([
      `stepgate.yaml:${line(2)} signals.a: window must be a duration of whole seconds from 1s up to 90d (e.g. 1h, 24h), got "91d"`,
      `stepgate.yaml:${line(3)} signals.b: window must be a duration of whole seconds from 1s up to 90d (e.g. 1h, 24h), got "1.5s"`,
      `stepgate.yaml:${line(4)} signals.c: aggregate last reads an event attribute: add field (e.g. field: country)`,
      `stepgate.yaml:${line(5)} signals.d: aggregate count reads no attribute; remove field (or use last or distinct)`,
    ]);
  });
});

describe('compile: conditions over live data and signals', () => {
  const rules = (when: string) =>
    policy('risk', `  - name: r\n    effect: deny\n    when: '${when}'\n`);

  it('type-checks data.<live name> like Git data and signals by aggregate', () => {
    for (const when of [
      'context.ip.inCidr(data.blocked_ips)',
      'size(data.blocked_ips) > 0 && data.limits["ci"] > 3',
      'signals.failed_logins >= 3 && signals.countries + 1 > 2',
      'signals.new_device && signals.last_country != "CH"',
      'signals.last_country == null',
    ])
      expect(
        compile(
          Object.entries(repo(LIVE, { 'risk.yaml': rules(when) })).map(([path, content]) => ({
            path,
            content,
          })),
        ).errors,
      ).toEqual([]);
  });

  it('reports a misspelt live document or signal, and a signal used as the wrong type', () => {
    for (const [when, message] of [
      ['context.ip.inCidr(data.blocked_ipz)', 'No such key: blocked_ipz'],
      ['signals.faild_logins >= 3', 'No such key: faild_logins'],
      ['signals.new_device > 1', 'no such overload'],
      ['signals.failed_logins', 'must be a bool'],
    ] as const) {
      const errors = compileErrors(repo(LIVE, { 'risk.yaml': rules(when) }));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ file: 'risk.yaml', line: 7 });
      expect(errors[0]?.message.toLowerCase()).toContain(message.toLowerCase());
    }
  });

  it('has no signals when none is declared', () => {
    const errors = compileErrors({ 'risk.yaml': rules('signals.failed_logins >= 3') });
    expect(errors[0]?.message).toContain('No such key: failed_logins');
  });
});
