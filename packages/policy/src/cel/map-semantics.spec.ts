import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, NOW, policy, SETTINGS } from '../__support__/policy-fixture.js';
import { PolicyEngine } from '../evaluate/engine.js';
import type { DecisionRequest } from '../model.js';

/**
 * Data documents, the attributes, `actionAttributes` and `context` are CEL maps: `in`, indexing,
 * `has()`, `size()` and the macros behave as the CEL specification says, both when the
 * condition is type-checked at compile time and when the engine evaluates it.
 */

const DATA = {
  'data/users.yaml': 'alice:\n  role: admin\n  teams: [ops]\nbob:\n  role: dev\n',
  'data/geo/blocked.yaml': 'countries: [KP]\n',
};

const REQUEST = {
  principal: {
    id: 'alice',
    attributes: { department: 'eng', clearance: { level: 3 } },
  },
  action: 'deploy',
  actionAttributes: { method: 'PUT' },
  resource: { kind: 'service', id: 'api', attributes: { owner: 'alice' } },
  context: { ip: '10.1.2.3', tags: { env: 'prod' } },
} as DecisionRequest;

const rule = (when: string) => `  - name: r
    effect: allow
    when: '${when.replace(/'/g, "''")}'
`;

function engineWith(when: string, settings = SETTINGS): PolicyEngine {
  return new PolicyEngine(
    compileOk({ ...DATA, 'stepgate.yaml': settings, 'p.yaml': policy('p', rule(when)) }),
  );
}

/** true / false for what the condition evaluated to, or 'error' when it failed at run time. */
function outcome(when: string): boolean | 'error' {
  const decision = engineWith(when).decide(REQUEST, undefined, { now: NOW });
  if (decision.errors) return 'error';
  return decision.effect === 'allow';
}

/** The same checks on every map a condition can read, each named by an expression. */
const MAPS: [string, { present: string; value: string; absent: string; size: number }][] = [
  [
    'data.users',
    { present: 'alice', value: '{"role": "admin", "teams": ["ops"]}', absent: 'carol', size: 2 },
  ],
  ['principal.attributes', { present: 'department', value: '"eng"', absent: 'team', size: 2 }],
  ['resource.attributes', { present: 'owner', value: '"alice"', absent: 'tenant', size: 1 }],
  ['actionAttributes', { present: 'method', value: '"PUT"', absent: 'body', size: 1 }],
  ['context', { present: 'ip', value: '"10.1.2.3"', absent: 'country', size: 2 }],
];

describe.each(MAPS)('%s is a CEL map', (m, { present, value, absent, size }) => {
  it.each([
    [`"${present}" in ${m}`, true],
    [`"${absent}" in ${m}`, false],
    [`!("${absent}" in ${m})`, true],
    [`${m}["${present}"] == ${value}`, true],
    [`${m}.${present} == ${value}`, true],
    // Indexing a missing key is an error (CEL: no_such_key), not null or false.
    [`${m}["${absent}"] == ${value}`, 'error'],
    [`${m}.${absent} == ${value}`, 'error'],
    // ...which `||` and `&&` absorb when the other side decides, as CEL specifies.
    [`${m}.${absent} == ${value} || true`, true],
    [`false && ${m}.${absent} == ${value}`, false],
    [`has(${m}.${present})`, true],
    [`has(${m}.${absent})`, false],
    [`"${absent}" in ${m} && ${m}.${absent} == ${value}`, false],
    [`${m}.exists(k, k == "${present}")`, true],
    [`${m}.exists(k, k == "${absent}")`, false],
    [`${m}.exists_one(k, k == "${present}")`, true],
    [`${m}.all(k, k != "${absent}")`, true],
    [`${m}.all(k, k == "${present}")`, size === 1],
    [`${m}.filter(k, k == "${present}") == ["${present}"]`, true],
    [`size(${m}) == ${size} && ${m}.size() == ${size}`, true],
  ])('%s -> %s', (when, expected) => {
    expect(outcome(when)).toBe(expected);
  });
});

describe('data documents as maps', () => {
  it.each([
    ['principal.id in data.users', true],
    ['data.users[principal.id].role == "admin"', true],
    ['"ops" in data.users[principal.id].teams', true],
    ['has(data.users.alice.teams) && !has(data.users.bob.teams)', true],
    ['data.users.exists(u, data.users[u].role == "dev")', true],
    // has() takes a chain of field selections only (cel-js); a key test on an index is `in`.
    ['data.users.all(u, "role" in data.users[u])', true],
    ['"KP" in data.geo.blocked.countries', true],
    ['has(data.geo.blocked.countries)', true],
    ['"countries" in data.geo.blocked', true],
    ['size(data.geo.blocked.countries) == 1', true],
    // A nested map from the request: `in`, has() and a missing key one level down.
    ['"env" in context.tags && has(context.tags.env) && !has(context.tags.team)', true],
    ['context.tags.team == "x"', 'error'],
    ['principal.attributes.clearance.level >= 3', true],
  ])('%s -> %s', (when, expected) => {
    expect(outcome(when)).toBe(expected);
  });

  it('a missing key fails the rule, and onError decides: deny records it, ignore skips it', () => {
    const when = 'data.users[context.ip].role == "admin"';
    const denied = engineWith(when).decide(REQUEST, undefined, { now: NOW });
    expect(denied.effect).toBe('deny');
    expect(denied.reasons[0]?.message).toMatch(/onError: deny.*10\.1\.2\.3/);
    expect(denied.errors).toEqual([expect.objectContaining({ policy: 'p', rule: 'r' })]);

    const ignoring = engineWith(
      `${when} || principal.id == "alice"`,
      SETTINGS.replace('onError: deny', 'onError: ignore'),
    );
    // The error on the left is absorbed by the true right side: no error at all.
    expect(ignoring.decide(REQUEST, undefined, { now: NOW })).toMatchObject({ effect: 'allow' });
    const skipped = engineWith(when, SETTINGS.replace('onError: deny', 'onError: ignore')).decide(
      REQUEST,
      undefined,
      { now: NOW },
    );
    expect(skipped.effect).toBe('deny');
    expect(skipped.reasons[0]?.rule).toBe('defaultEffect');
    expect(skipped.errors).toHaveLength(1);
  });
});

describe('the path to a data document is checked at compile time', () => {
  const errorsOf = (when: string, files: Record<string, string> = DATA) =>
    compileErrors({ ...files, 'p.yaml': policy('p', rule(when)) });

  it.each([
    ['data.netwrok.corporate == []', 'data.netwrok', 'data/netwrok'],
    ['"KP" in data.geo.blokced.countries', 'data.geo.blokced', 'data/geo/blokced'],
  ])('%s fails with the path and the file it would need', (when, path, file) => {
    const [error] = errorsOf(when);
    expect(error).toMatchObject({ code: 'cel/type', rule: 'r' });
    expect(error?.message).toContain(`no data document or folder is named ${path}`);
    expect(error?.message).toContain(`${file}.yaml`);
  });

  it('with no data files at all, any data reference fails to compile', () => {
    const [error] = errorsOf('principal.id in data.users', {});
    expect(error?.message).toContain('no data document or folder is named data.users');
  });

  it('a folder of documents is not a map, and the message says what to use instead', () => {
    const [error] = errorsOf('"blocked" in data.geo');
    expect(error).toMatchObject({ code: 'cel/type' });
    expect(error?.message).toContain('data.geo is a folder of data documents, not a map');
  });
});
