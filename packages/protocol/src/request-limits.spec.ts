import { describe, expect, it } from 'vitest';
import { REQUEST_LIMITS, requestLimitProblem } from './request-limits.js';

const base = () => ({
  principal: { id: 'alice', roles: ['dev'], groups: ['sre'], attributes: { team: 'core' } },
  action: 'deploy',
  resource: { kind: 'service', id: 'prod/api', attributes: { tier: 1 } },
  context: { ip: '10.0.0.1' },
});

describe('requestLimitProblem', () => {
  it('accepts a request at every limit', () => {
    const request = base();
    request.principal.id = 'p'.repeat(REQUEST_LIMITS.principalId);
    request.action = 'a'.repeat(REQUEST_LIMITS.action);
    request.resource.kind = 'k'.repeat(REQUEST_LIMITS.resourceKind);
    request.resource.id = 'r'.repeat(REQUEST_LIMITS.resourceId);
    request.principal.groups = Array(REQUEST_LIMITS.listItems).fill(
      'g'.repeat(REQUEST_LIMITS.listItemLength),
    );
    expect(requestLimitProblem(request)).toBeUndefined();
  });

  it.each([
    ['principal.id', (r: ReturnType<typeof base>) => (r.principal.id = 'p'.repeat(1025)), 1024],
    ['action', (r: ReturnType<typeof base>) => (r.action = 'a'.repeat(513)), 512],
    ['resource.kind', (r: ReturnType<typeof base>) => (r.resource.kind = 'k'.repeat(513)), 512],
    ['resource.id', (r: ReturnType<typeof base>) => (r.resource.id = 'r'.repeat(4097)), 4096],
    [
      'principal.roles',
      (r: ReturnType<typeof base>) => (r.principal.roles = Array(1025).fill('x')),
      1024,
    ],
    [
      'principal.groups[1]',
      (r: ReturnType<typeof base>) => (r.principal.groups = ['ok', 'g'.repeat(1025)]),
      1024,
    ],
  ])('names %s and its limit', (field, change, limit) => {
    const request = base();
    change(request);
    expect(requestLimitProblem(request)).toMatchObject({ field, limit });
    expect(requestLimitProblem(request)?.message).toContain(`the limit is ${limit}`);
  });

  it('bounds attributes and context by about their JSON size', () => {
    const request = base();
    (request.context as Record<string, unknown>).blob = 'x'.repeat(REQUEST_LIMITS.structuredSize);
    expect(requestLimitProblem(request)).toMatchObject({ field: 'context', limit: 65_536 });

    const keys = base();
    keys.resource.attributes = Object.fromEntries(
      Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]),
    ) as unknown as { tier: number };
    expect(requestLimitProblem(keys)).toMatchObject({ field: 'resource.attributes' });

    const wide = base();
    wide.principal.attributes = { list: Array(70_000).fill(0) } as unknown as { team: string };
    expect(requestLimitProblem(wide)).toMatchObject({ field: 'principal.attributes' });

    const fine = base();
    (fine.context as Record<string, unknown>).blob = 'x'.repeat(60_000);
    expect(requestLimitProblem(fine)).toBeUndefined();
  });

  it('refuses deep nesting, walking no deeper than the limit', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const request = { ...base(), context: { deep } };
    expect(requestLimitProblem(request)).toMatchObject({ field: 'context', limit: 32 });
    let ok: unknown = 'leaf';
    for (let i = 0; i < 30; i++) ok = { ok };
    expect(requestLimitProblem({ ...base(), context: { ok } })).toBeUndefined();
    // The context itself is level 1: 32 levels pass, 33 do not.
    let levels: unknown = {};
    for (let i = 1; i < 32; i++) levels = { levels };
    expect(requestLimitProblem({ ...base(), context: levels as Record<string, unknown> })).toBe(
      undefined,
    );
    expect(requestLimitProblem({ ...base(), context: { levels } })).toMatchObject({ limit: 32 });
  });

  it('adds up the size over every level and branch', () => {
    const half = 'x'.repeat(REQUEST_LIMITS.structuredSize / 2);
    const request = { ...base(), context: { a: { b: [half] }, c: [{ d: half }] } };
    expect(requestLimitProblem(request)).toMatchObject({ field: 'context', limit: 65_536 });
    const under = {
      ...base(),
      context: { a: { b: [half.slice(100)] }, c: [{ d: half.slice(100) }] },
    };
    expect(requestLimitProblem(under)).toBeUndefined();
  });

  it('names fields the way the caller spells them', () => {
    const request = base();
    request.principal.id = 'p'.repeat(2000);
    const problem = requestLimitProblem(request, (field) =>
      field === 'principal.id' ? 'subject.id' : field,
    );
    expect(problem?.message).toBe('subject.id is 2000 characters long; the limit is 1024');
  });
});
