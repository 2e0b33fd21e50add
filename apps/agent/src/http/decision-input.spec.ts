import { DecisionPoint, type BundleStore } from '@stepgate/agent-core';
import { compile, PolicyEngine, type DecisionRequest } from '@stepgate/policy';
import { checkRequestSchema, StepgateError, type DecisionInput } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { parseEvaluation } from './authzen.js';
import { parseDecisionInput } from './decision-input.js';

/**
 * One request check for every decision API (STYLE "One implementation of a rule"): the same
 * inputs, through every entry point, get the same verdict. A copy that drifts (accepts what
 * the others refuse, or the reverse) fails here.
 */

type Verdict = 'accepted' | 'refused';

// The language's input and the protocol's are one shape.
const sameShape: DecisionInput = {} as DecisionRequest;
const sameShapeBack: DecisionRequest = {} as DecisionInput;
void sameShape;
void sameShapeBack;

const base = (): DecisionRequest => ({
  principal: { id: 'alice', roles: ['dev'], groups: ['sre'], attributes: { team: 'core' } },
  action: 'deploy',
  actionAttributes: { soft: true },
  resource: { kind: 'service', id: 'prod/api', attributes: { tier: 1 } },
  context: { ip: '10.0.0.1' },
});

/** The same request in AuthZEN's words (DESIGN's mapping, which authzen.ts implements). */
function asAuthzen(request: Record<string, unknown>): Record<string, unknown> {
  const principal = request.principal as Record<string, unknown>;
  const resource = request.resource as Record<string, unknown>;
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(principal))
    if (key === 'roles' || key === 'groups') properties[key] = value;
  const subject: Record<string, unknown> = { type: 'user', id: principal.id };
  const attributes = principal.attributes;
  if (attributes !== undefined && (typeof attributes !== 'object' || Array.isArray(attributes)))
    subject.properties = attributes;
  else if (attributes !== undefined || Object.keys(properties).length > 0)
    subject.properties = { ...(attributes as object), ...properties };
  const action: Record<string, unknown> = { name: request.action };
  if ('actionAttributes' in request) action.properties = request.actionAttributes;
  const body: Record<string, unknown> = {
    subject,
    action,
    resource: { type: resource.kind, id: resource.id },
  };
  if (resource.attributes !== undefined)
    (body.resource as Record<string, unknown>).properties = resource.attributes;
  if ('context' in request) body.context = request.context;
  return body;
}

const point = new DecisionPoint({
  // No bundle: fail-open answers everything the request check lets through.
  store: { active: undefined, shadow: undefined, syncedAt: undefined } as unknown as BundleStore,
  failMode: 'open',
});
const compiled = compile([
  {
    path: 'stepgate.yaml',
    content: 'apiVersion: stepgate/v1\nkind: Settings\ndefaultEffect: deny\n',
  },
]);
if (!compiled.ok) throw new Error('the fixture does not compile');
const engine = new PolicyEngine(compiled.policySet);

function verdict(run: () => unknown): Verdict {
  try {
    run();
    return 'accepted';
  } catch (error) {
    if (error instanceof StepgateError && error.code === 'request/invalid') return 'refused';
    throw error;
  }
}

/** The verdict of every entry point for one request. */
function verdicts(request: Record<string, unknown>, withAuthzen: boolean) {
  const result: Record<string, Verdict> = {
    '/v1/decide': verdict(() => parseDecisionInput(request)),
    'decision point': verdict(() => point.decide(request as unknown as DecisionRequest)),
    '/v1/check': checkRequestSchema.safeParse(request).success ? 'accepted' : 'refused',
  };
  if (withAuthzen) result['AuthZEN'] = verdict(() => parseEvaluation(asAuthzen(request)));
  return result;
}

const set =
  (path: string, value: unknown) =>
  (request: Record<string, unknown>): Record<string, unknown> => {
    const keys = path.split('.');
    let target = request;
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
    const last = keys[keys.length - 1] as string;
    if (value === undefined) delete target[last];
    else target[last] = value;
    return request;
  };

const long = (n: number) => 'x'.repeat(n);

// [what, change, verdict, AuthZEN has the same field]
const CASES: [string, (r: Record<string, unknown>) => unknown, Verdict, boolean][] = [
  ['a full request', (r) => r, 'accepted', true],
  [
    'only the required fields',
    () => ({ principal: { id: 'a' }, action: 'x', resource: { kind: 'k', id: 'i' } }),
    'accepted',
    true,
  ],
  ['principal.id empty', set('principal.id', ''), 'refused', true],
  ['principal.id blank', set('principal.id', ' '), 'accepted', true],
  ['principal.id a number', set('principal.id', 7), 'refused', true],
  ['principal.id at its limit', set('principal.id', long(1024)), 'accepted', true],
  ['principal.id past its limit', set('principal.id', long(1025)), 'refused', true],
  ['principal.roles a string', set('principal.roles', 'admin'), 'refused', true],
  ['principal.roles null', set('principal.roles', null), 'refused', true],
  ['principal.roles with a number', set('principal.roles', ['a', 1]), 'refused', true],
  [
    'principal.groups past its limit',
    set('principal.groups', Array(1025).fill('g')),
    'refused',
    true,
  ],
  ['principal.groups item past its limit', set('principal.groups', [long(1025)]), 'refused', true],
  ['principal.attributes a list', set('principal.attributes', []), 'refused', true],
  [
    'principal.attributes past the size limit',
    set('principal.attributes', { b: long(70_000) }),
    'refused',
    true,
  ],
  ['action empty', set('action', ''), 'refused', true],
  ['action a number', set('action', 42), 'refused', true],
  ['action past its limit', set('action', long(513)), 'refused', true],
  ['actionAttributes missing', set('actionAttributes', undefined), 'accepted', true],
  ['actionAttributes empty', set('actionAttributes', {}), 'accepted', true],
  ['actionAttributes a list', set('actionAttributes', [1]), 'refused', true],
  ['actionAttributes null', set('actionAttributes', null), 'refused', true],
  ['actionAttributes a string', set('actionAttributes', 'soft'), 'refused', true],
  [
    'actionAttributes past the size limit',
    set('actionAttributes', { b: long(70_000) }),
    'refused',
    true,
  ],
  ['resource.id empty', set('resource.id', ''), 'accepted', true],
  ['resource.id missing', set('resource.id', undefined), 'refused', true],
  ['resource.id past its limit', set('resource.id', long(4097)), 'refused', true],
  ['resource.kind a number', set('resource.kind', 1), 'refused', true],
  ['resource.kind past its limit', set('resource.kind', long(513)), 'refused', true],
  ['resource.attributes null', set('resource.attributes', null), 'refused', true],
  ['context a string', set('context', 'x'), 'refused', true],
  [
    'context nested too deep',
    set('context', JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`)),
    'refused',
    true,
  ],
  [
    'context with a __proto__ key',
    set('context', JSON.parse('{"__proto__": {"x": 1}}')),
    'accepted',
    true,
  ],
  // Unknown fields: refused by our own protocol; AuthZEN ignores them (authzen.spec.ts).
  ['an unknown top-level field', set('extra', 1), 'refused', false],
  ['an unknown principal field', set('principal.nickname', 'y'), 'refused', false],
  ['an unknown resource field', set('resource.owner', 'y'), 'refused', false],
  [
    'a top-level __proto__ field',
    () => JSON.parse('{"__proto__": {"x": 1}, "principal": {"id": "a"}}'),
    'refused',
    false,
  ],
  ['auth, sent by test-file clients', set('auth', { level: 'mfa' }), 'accepted', false],
  ['not an object', () => [1, 2], 'refused', false],
  ['null', () => null, 'refused', false],
];

describe('every decision API checks a request the same way', () => {
  it.each(CASES)('%s', (_what, change, expected, withAuthzen) => {
    const request = change(base() as unknown as Record<string, unknown>) as Record<string, unknown>;
    const results = verdicts(request, withAuthzen);
    expect(results).toEqual(Object.fromEntries(Object.keys(results).map((k) => [k, expected])));
    // Whatever the parser lets through, the engine decides (it never refuses a parsed request).
    if (expected === 'accepted')
      expect(verdict(() => engine.decide(parseDecisionInput(request)))).toBe('accepted');
  });

  it('passes actionAttributes on, through every entry point, to the engine', () => {
    const request = base();
    const parsed = parseDecisionInput(request);
    expect(parsed.actionAttributes).toEqual({ soft: true });
    expect(checkRequestSchema.parse(request).actionAttributes).toEqual({ soft: true });
    expect(parseEvaluation(asAuthzen(request as never)).actionAttributes).toEqual({ soft: true });
    const soft = compile([
      {
        path: 'stepgate.yaml',
        content: 'apiVersion: stepgate/v1\nkind: Settings\ndefaultEffect: deny\n',
      },
      {
        path: 'soft.yaml',
        content: [
          'apiVersion: stepgate/v1',
          'kind: Policy',
          'name: soft',
          'rules:',
          '  - name: soft-only',
          '    effect: allow',
          '    when: actionAttributes.soft == true',
        ].join('\n'),
      },
    ]);
    if (!soft.ok) throw new Error(soft.errors.map((e) => e.message).join('\n'));
    const decide = (input: DecisionRequest) => new PolicyEngine(soft.policySet).decide(input);
    expect(decide(parsed).effect).toBe('allow');
    expect(
      decide(parseDecisionInput({ ...request, actionAttributes: { soft: false } })).effect,
    ).toBe('deny');
    const { actionAttributes: _dropped, ...without } = request;
    expect(decide(parseDecisionInput(without)).effect).toBe('deny');
  });

  it('names an unknown field first, as the agent always has', () => {
    const message = (body: unknown) => {
      try {
        parseDecisionInput(body);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(message(JSON.parse('{"__proto__": {"x": 1}, "principal": {"id": "a"}}'))).toMatch(
      /^unknown field "__proto__"/,
    );
    expect(message({ principal: { id: '', nick: 'n' }, action: 'x' })).toBe(
      'unknown field "principal.nick" (allowed: id, roles, groups, attributes)',
    );
  });

  it('names the field and the limit the same way in every API, in its own words', () => {
    const request = set('principal.id', long(1025))(base() as unknown as Record<string, unknown>);
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return [(error as StepgateError).message, (error as StepgateError).details];
      }
      return 'accepted';
    };
    expect(refusal(() => parseDecisionInput(request))).toEqual([
      'principal.id is 1025 characters long; the limit is 1024',
      { field: 'principal.id', limit: 1024 },
    ]);
    expect(refusal(() => point.decide(request as unknown as DecisionRequest))).toEqual(
      refusal(() => parseDecisionInput(request)),
    );
    expect(refusal(() => parseEvaluation(asAuthzen(request)))).toEqual([
      'subject.id is 1025 characters long; the limit is 1024',
      { field: 'subject.id', limit: 1024 },
    ]);
    const check = checkRequestSchema.safeParse(request);
    expect(check.success ? [] : check.error.issues.map((issue) => issue.message)).toEqual([
      'principal.id is 1025 characters long; the limit is 1024',
    ]);
  });
});
