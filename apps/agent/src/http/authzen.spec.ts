import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileMask,
  DecisionPoint,
  silentLogger,
  type AgentDecision,
  type BundleStore,
} from '@stepgate/agent-core';
import { compile, parseCidr, PolicyEngine, type Cidr } from '@stepgate/policy';
import { evaluateBatch, parseEvaluation, parseEvaluations, toAuthzenDecision } from './authzen.js';
import { pdpBaseUrl } from './authzen-metadata.js';
import { createHttpServer } from './server.js';
import type { DecisionRequest } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';

const LEVELS = [{ name: 'mfa', acr: ['urn:mfa'], amr: [] }];

const base = {
  subject: {
    type: 'user',
    id: 'alice',
    properties: { roles: ['dev'], groups: ['eng'], email: 'a@x', level: 3 },
  },
  action: { name: 'deploy' },
  resource: { type: 'environment', id: 'prod/billing', properties: { tier: 1 } },
  context: { ip: '10.0.0.1' },
};

function decision(
  effect: AgentDecision['effect'],
  extra: Partial<AgentDecision> = {},
): AgentDecision {
  return { effect, reasons: [], revision: 3, decisionId: 'd1', durationNs: 1, ...extra };
}

describe('AuthZEN mapping', () => {
  it('refuses a field past its size limit, named as AuthZEN names it', () => {
    const refused = (body: unknown) => {
      try {
        parseEvaluation(body);
      } catch (error) {
        return error instanceof StepgateError ? [error.message, error.details] : error;
      }
      return 'accepted';
    };
    expect(refused({ ...base, subject: { type: 'user', id: 's'.repeat(1025) } })).toEqual([
      'subject.id is 1025 characters long; the limit is 1024',
      { field: 'subject.id', limit: 1024 },
    ]);
    expect(refused({ ...base, action: { name: 'a'.repeat(513) } })).toEqual([
      'action.name is 513 characters long; the limit is 512',
      { field: 'action.name', limit: 512 },
    ]);
    expect(
      refused({
        ...base,
        subject: { type: 'user', id: 'alice', properties: { groups: Array(1025).fill('g') } },
      }),
    ).toEqual([
      'subject.properties.groups has 1025 entries; the limit is 1024',
      { field: 'subject.properties.groups', limit: 1024 },
    ]);
    expect(
      refused({
        ...base,
        resource: { type: 'doc', id: '1', properties: { x: 'y'.repeat(70_000) } },
      }),
    ).toMatchObject([
      expect.stringMatching(/^resource\.properties is larger than the limit of 65536/),
      { field: 'resource.properties', limit: 65_536 },
    ]);
    const batch = parseEvaluations({
      ...base,
      evaluations: [{ resource: { type: 'doc', id: 'r'.repeat(4097) } }, {}],
    });
    expect(batch.items[0]).toBeInstanceOf(StepgateError);
    expect((batch.items[0] as Error).message).toBe(
      'evaluations[0]: resource.id is 4097 characters long; the limit is 4096',
    );
    expect(batch.items[1]).not.toBeInstanceOf(StepgateError);
  });

  it('maps subject/action/resource/context to the language input', () => {
    expect(parseEvaluation(base)).toEqual({
      principal: {
        id: 'alice',
        roles: ['dev'],
        groups: ['eng'],
        attributes: { email: 'a@x', level: 3 },
      },
      action: 'deploy',
      resource: { kind: 'environment', id: 'prod/billing', attributes: { tier: 1 } },
      context: { ip: '10.0.0.1' },
    });
  });

  it.each([
    [{ ...base, subject: { id: 'alice' } }, /subject.type/],
    [
      { ...base, subject: { type: 'user', id: 'a', properties: { roles: 'x' } } },
      /subject.properties.roles/,
    ],
    [{ ...base, action: 'deploy' }, /action must be an object/],
    [{ ...base, action: { name: 'x', properties: [1] } }, /^action.properties must be an object$/],
    [{ ...base, action: { name: 'x', properties: 'soft' } }, /^action.properties must be/],
    [{ ...base, resource: { type: 'x', id: 7 } }, /resource.id/],
    [{ ...base, context: [] }, /context must be an object/],
    // The scenario's error cases (c-2-4-1, c-2-4-2, c-2-4-6).
    [{ action: base.action, resource: base.resource }, /^subject must be an object/],
    [{ subject: base.subject, resource: base.resource }, /^action must be an object/],
    [{ subject: base.subject, action: base.action }, /^resource must be an object/],
    [{ ...base, subject: { type: 'user' } }, /^subject.id must be a non-empty string$/],
    [{ ...base, action: {} }, /^action.name must be a non-empty string$/],
    [{ ...base, action: { name: 123 } }, /^action.name must be a non-empty string$/],
    [{ ...base, resource: { id: 'record-1' } }, /^resource.type must be a non-empty string$/],
    [{ ...base, resource: { type: 'record' } }, /^resource.id must be a string$/],
    [{ ...base, subject: 'alice' }, /^subject must be an object/],
    ['{}', /^the body must be a JSON object/],
    [null, /^the body must be a JSON object/],
  ])('refuses a malformed evaluation (%#)', (body, message) => {
    expect(() => parseEvaluation(body)).toThrow(message);
  });

  it('ignores unknown fields at every level and passes none of them on', () => {
    const withUnknown = {
      ...base,
      foo: 'bar',
      futureField: { nested: true },
      evaluations: [{ resource: { type: 'x', id: 'y' } }],
      options: { evaluations_semantic: 'nonsense' },
      subject: { ...base.subject, identity: 'CiRmZDA2MTRkMy1j', _note: 'interop file' },
      action: { ...base.action, verb: 'POST' },
      resource: { ...base.resource, owner: 'bob', parent: { type: 'folder', id: 'f' } },
    };
    expect(parseEvaluation(withUnknown)).toEqual(parseEvaluation(base));
    const batch = parseEvaluations({
      ...withUnknown,
      evaluations: [{ extra: 1, subject: { type: 'user', id: 'bob', x: 1 } }, {}],
      options: { evaluations_semantic: 'deny_on_first_deny', another_option: 'value' },
    });
    expect(batch.semantic).toBe('deny_on_first_deny');
    expect(batch.items[0]).toEqual({ ...parseEvaluation(base), principal: { id: 'bob' } });
    expect(batch.items[1]).toEqual(parseEvaluation(base));
  });

  it('maps action.properties to actionAttributes', () => {
    const soft = { ...base, action: { name: 'delete', properties: { soft: true } } };
    expect(parseEvaluation(soft)).toMatchObject({
      action: 'delete',
      actionAttributes: { soft: true },
    });
    expect(parseEvaluation(base)).not.toHaveProperty('actionAttributes');
    expect(
      parseEvaluation({ ...base, action: { name: 'read', properties: { method: 'GET' } } }),
    ).toMatchObject({ actionAttributes: { method: 'GET' } });
  });

  it('puts the step-up requirement in the context', () => {
    const result = toAuthzenDecision(
      decision('step_up', {
        require: { level: 'mfa', maxAge: 300, approvals: 1 },
        unmet: ['maxAge', 'approvals'],
        reasons: [{ policy: 'p', rule: 'r', effect: 'step_up', message: 'Need MFA.' }],
      }),
      LEVELS,
    );
    expect(result).toEqual({
      decision: false,
      context: {
        id: 'd1',
        effect: 'step_up',
        revision: 3,
        reason_admin: { en: 'p/r: Need MFA.' },
        reason_user: { en: 'Need MFA.' },
        step_up: {
          level: 'mfa',
          acr_values: 'urn:mfa',
          max_age: 300,
          approvals: 1,
          unmet: ['maxAge', 'approvals'],
        },
      },
    });
  });

  it('says why on deny and in fail mode', () => {
    expect(
      toAuthzenDecision(
        decision('deny', {
          failReason: 'no_bundle',
          reasons: [
            {
              policy: '(agent)',
              rule: 'fail_closed/no_bundle',
              effect: 'deny',
              message: 'No bundle.',
            },
          ],
        }),
        LEVELS,
      ).context,
    ).toMatchObject({ fail_reason: 'no_bundle', reason_user: { en: 'No bundle.' } });
  });
});

describe('AuthZEN evaluations', () => {
  const decide = (request: { resource: { id: string } }) =>
    decision(request.resource.id.startsWith('ok') ? 'allow' : 'deny');

  it('applies top-level defaults that an item replaces whole', () => {
    const batch = parseEvaluations({
      ...base,
      evaluations: [
        {},
        { resource: { type: 'doc', id: 'ok-1' } },
        { subject: { type: 'svc', id: 'bot' } },
      ],
    });
    const [first, second, third] = batch.items as Exclude<
      (typeof batch.items)[number],
      StepgateError
    >[];
    expect(first?.resource).toEqual({
      kind: 'environment',
      id: 'prod/billing',
      attributes: { tier: 1 },
    });
    expect(second?.resource).toEqual({ kind: 'doc', id: 'ok-1' });
    expect(third?.principal).toEqual({ id: 'bot' });
    expect(batch).toMatchObject({ semantic: 'execute_all', single: false });
  });

  it('stops where the semantic says', () => {
    const body = (semantic: string) => ({
      ...base,
      options: { evaluations_semantic: semantic },
      evaluations: [
        { resource: { type: 'd', id: 'ok-1' } },
        { resource: { type: 'd', id: 'no-2' } },
        { resource: { type: 'd', id: 'ok-3' } },
      ],
    });
    const decisions = (semantic: string) =>
      evaluateBatch(parseEvaluations(body(semantic)), decide, () => LEVELS).map((r) => r.decision);
    expect(decisions('execute_all')).toEqual([true, false, true]);
    expect(decisions('deny_on_first_deny')).toEqual([true, false]);
    expect(decisions('permit_on_first_permit')).toEqual([true]);
  });

  it('inherits the top-level context unless an item replaces it whole (c-3-2-6)', () => {
    const batch = parseEvaluations({
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      context: { time: '2025-06-27T18:03-07:00' },
      evaluations: [
        { resource: { type: 'record', id: 'record-1' } },
        {
          resource: { type: 'record', id: 'record-2' },
          context: { time: '2025-06-27T19:00-07:00', source: 'batch-override' },
        },
      ],
    });
    const [first, second] = batch.items as DecisionRequest[];
    expect(first?.context).toEqual({ time: '2025-06-27T18:03-07:00' });
    expect(second?.context).toEqual({ time: '2025-06-27T19:00-07:00', source: 'batch-override' });
  });

  it('answers a failed item under execute_all in place, keeping length and order (c-3-4-1)', () => {
    const batch = parseEvaluations({
      subject: { type: 'user', id: 'alice' },
      action: { name: 'read' },
      options: { evaluations_semantic: 'execute_all' },
      evaluations: [{ resource: { type: 'record', id: 'ok-1' } }, {}],
    });
    const results = evaluateBatch(batch, decide, () => LEVELS);
    expect(results).toHaveLength(2);
    expect(results[0]?.decision).toBe(true);
    expect(results[1]).toEqual({
      decision: false,
      context: {
        error: {
          status: 400,
          message: 'evaluations[1]: resource must be an object with type and id',
        },
      },
    });
  });

  it('short-circuits on a failed item and keeps a step-up false, its requirement in context', () => {
    const items = {
      ...base,
      evaluations: [
        { resource: { type: 'd', id: 'step-1' } },
        { resource: { type: 'd' } },
        { resource: { type: 'd', id: 'ok-3' } },
      ],
    };
    const stepUp = (request: { resource: { id: string } }) =>
      request.resource.id.startsWith('step')
        ? decision('step_up', { require: { level: 'mfa' } })
        : decide(request);
    const run = (semantic: string) =>
      evaluateBatch(
        parseEvaluations({ ...items, options: { evaluations_semantic: semantic } }),
        stepUp,
        () => LEVELS,
      );
    const denyFirst = run('deny_on_first_deny');
    expect(denyFirst).toHaveLength(1);
    expect(denyFirst[0]).toMatchObject({
      decision: false,
      context: { effect: 'step_up', step_up: { level: 'mfa', acr_values: 'urn:mfa' } },
    });
    const permitFirst = run('permit_on_first_permit');
    expect(permitFirst.map((result) => result.decision)).toEqual([false, false, true]);
    expect(permitFirst[1]?.context).toHaveProperty('error');
  });

  it('answers an invalid item in place and refuses an invalid envelope', () => {
    const batch = parseEvaluations({ ...base, evaluations: [{ resource: { type: 'd' } }, 7] });
    expect(evaluateBatch(batch, decide, () => LEVELS)).toEqual([
      {
        decision: false,
        context: {
          error: { status: 400, message: 'evaluations[0]: resource.id must be a string' },
        },
      },
      {
        decision: false,
        context: {
          error: { status: 400, message: 'evaluations[1]: an evaluation must be an object' },
        },
      },
    ]);
    expect(() => parseEvaluations({ evaluations: new Array(1001).fill({}) })).toThrow(
      /at most 1000/,
    );
    expect(() => parseEvaluations({ ...base, options: [] })).toThrow(/options/);
    expect(parseEvaluations({ ...base, evaluations: [] }).single).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Over HTTP: the agent's server with a decision point on a small policy set

const POLICY = [
  'apiVersion: stepgate/v1',
  'kind: Policy',
  'name: records',
  'rules:',
  '  - name: read',
  '    effect: allow',
  '    when: action == "read"',
  '  - name: soft-delete',
  '    effect: allow',
  '    when: action == "delete" && has(actionAttributes.soft) && actionAttributes.soft == true',
].join('\n');

let server: Server;
let url: string;

beforeAll(async () => {
  const compiled = compile([
    {
      path: 'stepgate.yaml',
      content: 'apiVersion: stepgate/v1\nkind: Settings\ndefaultEffect: deny\n',
    },
    { path: 'records.yaml', content: POLICY },
  ]);
  if (!compiled.ok) throw new Error(compiled.errors.map((e) => e.message).join('\n'));
  const store = {
    active: {
      engine: new PolicyEngine(compiled.policySet, { revision: 1 }),
      levels: [],
      revision: 1,
      mask: compileMask([]),
    },
    shadow: undefined,
    syncedAt: Date.now(),
  } as unknown as BundleStore;
  server = createHttpServer({
    point: new DecisionPoint({ store }),
    metrics: () => undefined,
    logger: silentLogger,
    challenge: 'rfc9470',
    trustedProxies: [parseCidr('10.9.0.0/16') as Cidr],
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const response = await fetch(`${url}${path}`, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const READ = JSON.stringify({
  subject: { type: 'user', id: 'alice' },
  action: { name: 'read' },
  resource: { type: 'record', id: 'record-1' },
});

describe('AuthZEN over HTTP', () => {
  it('decides on action.properties through the actionAttributes variable', async () => {
    const remove = (soft: unknown) =>
      post(
        '/access/v1/evaluation',
        JSON.stringify({
          subject: { type: 'user', id: 'alice' },
          action: { name: 'delete', ...(soft === undefined ? {} : { properties: { soft } }) },
          resource: { type: 'record', id: 'record-1' },
        }),
      );
    expect((await remove(true)).body.decision).toBe(true);
    expect((await remove(false)).body.decision).toBe(false);
    expect((await remove(undefined)).body.decision).toBe(false);
  });

  it.each([
    ['application/json', 200],
    ['application/json; charset=utf-8', 200],
    ['Application/JSON;charset="UTF-8"', 200],
    ['application/authzen+json', 200],
    ['text/plain', 400],
    ['application/x-www-form-urlencoded', 400],
    ['application/jsonp', 400],
    ['application/json; charset=iso-8859-1', 400],
  ])('answers Content-Type %s with %i, on every JSON endpoint', async (type, status) => {
    const decide = JSON.stringify({
      principal: { id: 'alice' },
      action: 'read',
      resource: { kind: 'record', id: 'record-1' },
    });
    const answers = [
      await post('/access/v1/evaluation', READ, { 'content-type': type }),
      await post('/access/v1/evaluations', READ, { 'content-type': type }),
      await post('/v1/decide', decide, { 'content-type': type }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([status, status, status]);
    if (status === 400) expect(answers[0]?.body.message).toMatch(/send the body as JSON|charset/);
  });

  it('refuses a body without a Content-Type, saying what to send', async () => {
    const response = await fetch(`${url}/access/v1/evaluation`, {
      method: 'POST',
      body: new Blob([READ]), // a Blob without a type: fetch sends no Content-Type
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'request/invalid',
      message:
        'the request has a body but no Content-Type; send the body as JSON with Content-Type: application/json',
    });
  });

  it('refuses an empty body and malformed JSON with 400 (c-2-4-4, c-2-4-5)', async () => {
    expect((await post('/access/v1/evaluation', '')).status).toBe(400);
    expect((await post('/access/v1/evaluation', '{"subject": ')).status).toBe(400);
    expect((await post('/access/v1/evaluations', '')).status).toBe(400);
  });

  it('echoes X-Request-ID on every AuthZEN answer, errors and discovery included', async () => {
    const id = { 'x-request-id': 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716' };
    const json = { 'content-type': 'application/json', ...id };
    const answers = [
      await fetch(`${url}/access/v1/evaluation`, { method: 'POST', body: READ, headers: json }),
      await fetch(`${url}/access/v1/evaluations`, { method: 'POST', body: READ, headers: json }),
      await fetch(`${url}/access/v1/evaluation`, { method: 'POST', body: '{', headers: json }),
      await fetch(`${url}/access/v1/evaluation`, { method: 'POST', body: READ, headers: id }),
      await fetch(`${url}/access/v1/evaluation`, { method: 'GET', headers: id }),
      await fetch(`${url}/access/v1/nothing`, { method: 'POST', body: READ, headers: json }),
      await fetch(`${url}/.well-known/authzen-configuration`, { headers: id }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 400, 400, 405, 404, 200]);
    for (const answer of answers)
      expect(answer.headers.get('x-request-id')).toBe(id['x-request-id']);
    const without = await fetch(`${url}/access/v1/evaluation`, {
      method: 'POST',
      body: READ,
      headers: { 'content-type': 'application/json' },
    });
    expect(without.status).toBe(200);
  });
});

describe('AuthZEN PDP metadata', () => {
  const metadata = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/.well-known/authzen-configuration`, { headers });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return { status: response.status, body: await response.json() };
  };

  it('lists every endpoint under the base URL the client used', async () => {
    expect((await metadata()).body).toEqual({
      policy_decision_point: url,
      access_evaluation_endpoint: `${url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${url}/access/v1/evaluations`,
      search_subject_endpoint: `${url}/access/v1/search/subject`,
      search_resource_endpoint: `${url}/access/v1/search/resource`,
      search_action_endpoint: `${url}/access/v1/search/action`,
    });
  });

  it('ignores forwarding headers from a peer that is not a trusted proxy', async () => {
    // The test's own connection comes from 127.0.0.1, outside the trusted 10.9.0.0/16.
    const { body } = await metadata({
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      forwarded: 'proto=https;host=evil.example',
    });
    expect(body.policy_decision_point).toBe(url);
  });
});

describe('pdpBaseUrl', () => {
  const TRUSTED = [parseCidr('10.9.0.0/16') as Cidr];
  const base = (headers: Record<string, string>, peer = '10.9.0.1', encrypted = false) =>
    pdpBaseUrl(
      { headers, socket: { remoteAddress: peer, encrypted } } as unknown as IncomingMessage,
      TRUSTED,
    );

  it('takes the scheme and host a trusted proxy forwards', () => {
    expect(base({ host: 'agent:8182', 'x-forwarded-proto': 'https' })).toBe('https://agent:8182');
    expect(
      base({ host: 'agent:8182', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pdp.example' }),
    ).toBe('https://pdp.example');
    expect(
      base({
        host: 'agent:8182',
        forwarded: 'for=192.0.2.60;proto=https;host="PDP.example:443", for=10.9.0.7;proto=http',
        'x-forwarded-proto': 'http',
      }),
    ).toBe('https://pdp.example');
    expect(base({ host: 'agent', 'x-forwarded-proto': 'https, http' })).toBe('https://agent');
    expect(base({ host: '[::1]:8182' }, '10.9.0.1', true)).toBe('https://[::1]:8182');
  });

  it('believes nobody else, and refuses what no URL can hold', () => {
    expect(base({ host: 'agent', 'x-forwarded-proto': 'https' }, '192.0.2.1')).toBe('http://agent');
    expect(() => base({ host: 'agent', 'x-forwarded-proto': 'gopher' })).toThrow(/http or https/);
    expect(() => base({ host: 'a/b@c' })).toThrow(/Host header "a\/b@c" is not a host/);
    expect(() => base({ host: 'agent', 'x-forwarded-host': 'x y' })).toThrow(/X-Forwarded-Host/);
    expect(() => base({ host: 'agent:99999' })).toThrow(/not a host/);
    expect(() => base({})).toThrow(/not a host/);
  });
});
