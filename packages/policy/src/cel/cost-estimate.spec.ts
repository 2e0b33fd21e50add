import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy } from '../__support__/policy-fixture.js';
import { compile } from '../compile/compile.js';

const rule = (when: string) => `  - name: heavy
    effect: allow
    when: '${when}'
`;

/** The ~600-character condition that stalled the control plane for 65 s in its policy tests. */
export const SIX_NESTED_ALL = (() => {
  const list = `[${Array.from({ length: 22 }, (_, i) => i).join(', ')}]`;
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  let body = `${names.join(' + ')} >= 0`;
  for (const name of [...names].reverse()) body = `${list}.all(${name}, ${body})`;
  return body;
})();

function costError(files: Record<string, string>) {
  return compileErrors(files).filter((error) => error.code === 'cel/cost');
}

describe('cost budget at compile time', () => {
  it('refuses six nested .all() over literal lists with file, rule and position', () => {
    expect(SIX_NESTED_ALL.length).toBeGreaterThan(500);
    const errors = costError({ 'attack.yaml': policy('attack', rule(SIX_NESTED_ALL)) });
    expect(errors).toEqual([
      expect.objectContaining({
        file: 'attack.yaml',
        policy: 'attack',
        rule: 'heavy',
        line: 7,
        message: expect.stringMatching(
          /at least [\d,]+ iterations .* budget of a condition is 100,000/,
        ),
      }),
    ]);
    // The position is the comprehension where the count crosses the budget, inside the string.
    expect(errors[0]?.offset).toBeGreaterThan(0);
    expect(errors[0]?.column).toBeGreaterThan(11);
  });

  it('refuses more than three comprehensions nested over request fields', () => {
    let when = 'true';
    for (const v of ['a', 'b', 'c', 'd']) when = `principal.roles.all(${v}, ${when} && ${v} != "")`;
    const errors = costError({ 'p.yaml': policy('p', rule(when)) });
    expect(errors[0]?.message).toMatch(/4 comprehensions are nested over request fields/);
    // Three are allowed: they are bounded at run time by the budget.
    const three = when.replace('principal.roles.all(d, ', '(').replace(' && d != "")', ')');
    compileOk({ 'p.yaml': policy('p', rule(three)) });
  });

  it('uses the sizes of the data documents: five nested .map() over 60 elements', () => {
    let when = 'data.lists.sixty.map(e, e)';
    for (let level = 1; level < 5; level++) when = `data.lists.sixty.map(m${level}, ${when})`;
    const sixty = `sixty: [${Array.from({ length: 60 }, (_, i) => i).join(', ')}]\n`;
    const errors = costError({
      'data/lists.yaml': sixty,
      'p.yaml': policy('p', rule(`size(${when}) > 0`)),
    });
    expect(errors).toHaveLength(1);
  });

  it('counts the elements a step scans: x in big for every x in big', () => {
    const big = `big: [${Array.from({ length: 2000 }, (_, i) => `"i${i}"`).join(', ')}]\n`;
    expect(
      costError({
        'data/lists.yaml': big,
        'p.yaml': policy('p', rule('data.lists.big.all(x, x in data.lists.big)')),
      }),
    ).toHaveLength(1);
    // One search of the same list, or one pass over it, is fine.
    compileOk({
      'data/lists.yaml': big,
      'p.yaml': policy(
        'p',
        rule('context.item in data.lists.big && data.lists.big.exists(x, x == context.item)'),
      ),
    });
  });

  it('finds a map key in one step: k in a data map costs no scan, as at run time', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `u${i}`);
    const users = `${keys.map((k) => `${k}: { teams: { t1: 1, t2: 2 } }`).join('\n')}\n`;
    compileOk({
      'data/users.yaml': users,
      'p.yaml': policy(
        'p',
        rule('data.users.all(u, u in data.users && "t1" in data.users[u].teams)'),
      ),
    });
    // The same search of a list of that size scans it on every step.
    expect(
      costError({
        'data/users.yaml': `list: [${keys.map((k) => `"${k}"`).join(', ')}]\n`,
        'p.yaml': policy('p', rule('data.users.list.all(u, u in data.users.list)')),
      }),
    ).toHaveLength(1);
  });

  it('bounds a dynamic index into data by the largest value there', () => {
    const teams = `teams:\n  a: [${Array.from({ length: 400 }, (_, i) => `"u${i}"`).join(', ')}]\n  b: ["x"]\n`;
    expect(
      costError({
        'data/org.yaml': teams,
        'p.yaml': policy(
          'p',
          rule(
            'data.org.teams[context.team].all(u, data.org.teams[context.team].exists(v, u == v))',
          ),
        ),
      }),
    ).toHaveLength(1);
  });

  it('keeps reasonable comprehensions: the example policies and a pass over big data', () => {
    const root = join(import.meta.dirname, '../../../../policies');
    const walk = (dir: string): { path: string; content: string }[] =>
      readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) return walk(full);
        return [{ path: relative(root, full), content: readFileSync(full, 'utf8') }];
      });
    const result = compile(walk(root));
    expect(result.errors).toEqual([]);

    const big = `ips: [${Array.from({ length: 50_000 }, (_, i) => `"10.${i >> 8}.${i & 255}.1/32"`).join(', ')}]\n`;
    compileOk({
      'data/threats.yaml': big,
      'p.yaml': policy(
        'p',
        rule(
          'context.ip.inCidr(data.threats.ips) || data.threats.ips.exists(c, c.startsWith("192.")) || principal.groups.exists(g, principal.roles.exists(r, r == g))',
        ),
      ),
    });
  });
});
