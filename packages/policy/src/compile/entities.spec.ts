import { describe, expect, it } from 'vitest';
import { compileErrors, compileOk, policy } from '../__support__/policy-fixture.js';
import { parsePolicySet } from '../bundle/policy-set.js';
import { compile } from './compile.js';

const allow = policy('p', '  - name: allow\n    effect: allow\n');

const USERS = `apiVersion: stepgate/v1
kind: Entities
name: users
subjects:
  - { type: user, id: alice }
  - type: user
    id: bob
    properties: { role: admin, roles: [ops], groups: [staff] }
actions: [read, write]
`;

const RECORDS = `apiVersion: stepgate/v1
kind: Entities
name: records
resources:
  - { type: record, id: record-1, properties: { status: active } }
  - { type: record, id: record-2, properties: { status: archived } }
actions: [delete]
`;

describe('kind: Entities', () => {
  it('merges every Entities document in path order into the policy set', () => {
    const set = compileOk({ 'p.yaml': allow, 'z/users.yaml': USERS, 'a/records.yaml': RECORDS });
    expect(set.entities).toEqual({
      subjects: [
        { type: 'user', id: 'alice' },
        {
          type: 'user',
          id: 'bob',
          properties: { role: 'admin', roles: ['ops'], groups: ['staff'] },
        },
      ],
      resources: [
        { type: 'record', id: 'record-1', properties: { status: 'active' } },
        { type: 'record', id: 'record-2', properties: { status: 'archived' } },
      ],
      // a/records.yaml comes before z/users.yaml
      actions: ['delete', 'read', 'write'],
    });
    // What the agent reloads is what was compiled.
    expect(parsePolicySet(JSON.parse(JSON.stringify(set)))).toEqual(set);
  });

  it('leaves the policy set as it was when there are none', () => {
    const set = compileOk({ 'p.yaml': allow });
    expect('entities' in set).toBe(false);
    expect(Object.keys(set)).toEqual(['format', 'settings', 'policies', 'data']);
  });

  it('is deterministic whatever order the files are given in', () => {
    const files = { 'p.yaml': allow, 'z/users.yaml': USERS, 'a/records.yaml': RECORDS };
    const forward = Object.entries(files).map(([path, content]) => ({ path, content }));
    const a = compile(forward);
    const b = compile([...forward].reverse());
    expect(a.ok && b.ok).toBe(true);
    expect(JSON.stringify(a.policySet)).toBe(JSON.stringify(b.policySet));
  });

  it('may share a file with a policy (--- between documents)', () => {
    const set = compileOk({ 'p.yaml': `${allow}---\n${USERS}` });
    expect(set.policies.map((p) => p.name)).toEqual(['p']);
    expect(set.entities?.subjects.map((s) => s.id)).toEqual(['alice', 'bob']);
  });

  it('a subject declared in two files is an error at the second, naming the first', () => {
    const errors = compileErrors({
      'p.yaml': allow,
      'a.yaml': USERS,
      'b.yaml':
        'apiVersion: stepgate/v1\nkind: Entities\nname: more\nsubjects:\n  - { type: user, id: bob }\n',
    });
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'entity/duplicate',
        file: 'b.yaml',
        line: 5,
        message: expect.stringMatching(/subject "user" "bob" is already declared at a\.yaml:6/),
      }),
    ]);
  });

  it('the same id under another type is another entity', () => {
    const set = compileOk({
      'p.yaml': allow,
      'e.yaml':
        'apiVersion: stepgate/v1\nkind: Entities\nname: e\nsubjects:\n  - { type: user, id: x }\n  - { type: service, id: x }\nresources:\n  - { type: user, id: x }\n',
    });
    expect(set.entities?.subjects).toHaveLength(2);
    expect(set.entities?.resources).toHaveLength(1);
  });

  it('duplicate resources, actions and document names are errors', () => {
    const errors = compileErrors({
      'p.yaml': allow,
      'a.yaml': RECORDS,
      'b.yaml': `apiVersion: stepgate/v1
kind: Entities
name: records
actions: [read]
---
apiVersion: stepgate/v1
kind: Entities
name: other
resources:
  - { type: record, id: record-2 }
actions: [read, delete]
`,
    });
    expect(errors.map((e) => [e.code, e.file, e.line, e.message.slice(0, 40)])).toEqual([
      [
        'entity/duplicate',
        'b.yaml',
        3,
        expect.stringContaining('Entities name "records" is already'),
      ],
      ['entity/duplicate', 'b.yaml', 10, expect.stringContaining('resource "record" "record-2"')],
      ['entity/duplicate', 'b.yaml', 11, expect.stringContaining('action "delete" is already')],
    ]);
    expect(errors[2]?.message).toContain('already declared at a.yaml:7');
  });

  it.each([
    ['a missing id', '  - { type: user }\n', 'subjects[0].id: is required', 5],
    [
      'an empty type',
      '  - { type: "", id: a }\n',
      'subjects[0].type: must be a non-empty string',
      5,
    ],
    [
      'a number as id',
      '  - { type: user, id: 7 }\n',
      'subjects[0].id: Invalid input: expected string, received number',
      5,
    ],
    ['an unknown field', '  - { type: user, id: a, name: A }\n', 'unknown field "name"', 5],
    [
      'roles that are not a list of strings',
      '  - { type: user, id: a, properties: { roles: admin } }\n',
      'subjects[0].properties.roles',
      5,
    ],
    [
      'a __proto__ key in properties',
      '  - type: user\n    id: a\n    properties:\n      tags: { __proto__: 1 }\n',
      'subjects[0].properties.tags.__proto__: the key "__proto__" is not allowed',
      8,
    ],
  ])('refuses %s with its file, line and field', (_what, subjects, message, line) => {
    const errors = compileErrors({
      'p.yaml': allow,
      'e.yaml': `apiVersion: stepgate/v1\nkind: Entities\nname: e\nsubjects:\n${subjects}`,
    });
    expect(errors).toEqual([
      expect.objectContaining({ file: 'e.yaml', line, message: expect.stringContaining(message) }),
    ]);
  });

  it('refuses actions that are not names, and properties too large to be decision input', () => {
    const big = 'x'.repeat(70_000);
    const errors = compileErrors({
      'p.yaml': allow,
      'e.yaml': `apiVersion: stepgate/v1\nkind: Entities\nname: e\nresources:\n  - { type: r, id: a, properties: { blob: "${big}" } }\n---\napiVersion: stepgate/v1\nkind: Entities\nname: f\nactions:\n  - { name: read }\n`,
    });
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ['entity/invalid', 5],
      ['schema/invalid', 11],
    ]);
    expect(errors[1]?.message).toContain('actions[0]: Invalid input: expected string');
    expect(errors[0]?.message).toMatch(
      /resources\[0\]\.properties: are 700\d\d bytes as JSON; the limit is 65536/,
    );
  });
});
