import { describe, expect, it } from 'vitest';
import { decisionRequestSchema, parseDecisionRequest, wellFormed } from './decision-request.js';
import { StepgateError } from './errors.js';

const body = {
  principal: { id: 'alice', roles: ['dev'] },
  action: 'read',
  resource: { kind: 'doc', id: 'd1' },
  auth: { ignored: true },
};

describe('parseDecisionRequest', () => {
  it('returns a fresh input without auth, and refuses an unknown field by name', () => {
    const input = parseDecisionRequest(body);
    expect(input).not.toBe(body);
    expect(input).toEqual({
      principal: { id: 'alice', roles: ['dev'] },
      action: 'read',
      resource: { kind: 'doc', id: 'd1' },
    });
    expect(() => parseDecisionRequest({ ...body, acton: 'x' })).toThrow(/acton/);
  });

  it('hands back an input it built as it is: a decision point after an edge parses once', () => {
    const input = parseDecisionRequest(body);
    expect(parseDecisionRequest(input)).toBe(input);
  });

  it('does not remember an input parsed with remember: false (the last parse of a request)', () => {
    const input = parseDecisionRequest(body, { remember: false });
    expect(input).toEqual(parseDecisionRequest(body));
    const again = parseDecisionRequest(input);
    expect(again).not.toBe(input);
    expect(again).toEqual(input);
  });

  it('still checks an equal object it did not build', () => {
    const input = parseDecisionRequest(body);
    const copy = structuredClone(input);
    expect(parseDecisionRequest(copy)).not.toBe(copy);
    const tooLong = { ...copy, principal: { id: 'x'.repeat(100_000) } };
    expect(() => parseDecisionRequest(tooLong)).toThrow(StepgateError);
  });
});

/** The zod schema's reading of `value` as parseDecisionRequest returns it (auth dropped). */
function schemaReading(value: unknown): unknown {
  const result = decisionRequestSchema.safeParse(value);
  if (!result.success) return undefined;
  const { auth: _auth, ...input } = result.data;
  return Object.fromEntries(Object.entries(input).filter(([, field]) => field !== undefined));
}

describe('the hand-written shape check (the fast path)', () => {
  const full = {
    principal: {
      id: 'alice',
      roles: ['dev', 'ops'],
      groups: ['g'],
      attributes: { department: 'eng', nested: { a: [1, 2] } },
    },
    action: 'deploy',
    actionAttributes: { dryRun: false },
    resource: { kind: 'service', id: 'api', attributes: { env: 'prod' } },
    context: { ip: '10.0.0.1' },
    auth: { level: 'mfa' },
  };
  const wrong: unknown[] = [undefined, null, 0, 1, '', 'x', true, [], ['x'], {}, [1], { a: 1 }];
  /** Every field of `full` (and of its principal and resource) removed, or replaced by each wrong value, and an unknown key at each level. */
  function variants(): unknown[] {
    const out: unknown[] = [
      full,
      body,
      JSON.parse(
        '{"__proto__":{"x":1},"principal":{"id":"a"},"action":"a","resource":{"kind":"k","id":"i"}}',
      ),
    ];
    const at = (
      path: string[],
      replace: (parent: Record<string, unknown>, key: string) => void,
    ) => {
      const copy = structuredClone(full) as Record<string, unknown>;
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
      replace(parent, path[path.length - 1] as string);
      out.push(copy);
    };
    const paths = [
      ...Object.keys(full).map((key) => [key]),
      ...Object.keys(full.principal).map((key) => ['principal', key]),
      ...Object.keys(full.resource).map((key) => ['resource', key]),
    ];
    for (const path of paths) {
      at(path, (parent, key) => delete parent[key]);
      for (const value of wrong) at(path, (parent, key) => (parent[key] = value));
    }
    for (const where of [[], ['principal'], ['resource']])
      at([...where, 'unknownField'], (parent, key) => (parent[key] = 1));
    at(['principal', 'roles'], (parent, key) => (parent[key] = ['a', 2]));
    at(
      ['principal', 'groups'],
      (parent, key) =>
        (parent[key] = Array.from({ length: 2 }, (_, i) => (i === 1 ? 'b' : undefined))),
    );
    return out;
  }

  it('takes the common shapes itself, as the schema reads them', () => {
    expect(wellFormed(full)).toEqual(schemaReading(full));
    expect(wellFormed(body)).toEqual(schemaReading(body));
    expect(wellFormed(full)).not.toHaveProperty('auth');
  });

  it('never takes an input the schema refuses, and reads every one it takes as the schema does', () => {
    const all = variants();
    let taken = 0;
    for (const value of all) {
      const fast = wellFormed(value);
      if (fast === undefined) continue;
      taken++;
      expect(fast, JSON.stringify(value)).toEqual(schemaReading(value));
    }
    // The table holds both kinds: inputs the fast path takes, and ones it leaves to zod.
    expect(taken).toBeGreaterThan(10);
    expect(taken).toBeLessThan(all.length);
    // And every one, through the parser, gets the schema's verdict.
    for (const value of all)
      if (schemaReading(value) === undefined)
        expect(() => parseDecisionRequest(value), JSON.stringify(value)).toThrow(StepgateError);
      else expect(parseDecisionRequest(value)).toEqual(schemaReading(value));
  });
});
