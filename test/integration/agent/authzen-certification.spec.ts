/**
 * The OpenID AuthZEN Authorization API 1.0 certification scenario, levels Basic (Core and
 * Properties), Batch (Core and Properties) and Discovery, with the transport requirements, against
 * the real agent process.
 *
 * The scenario: the Markdown file certification/authorization-api-1_0-scenario in the
 * github.com/openid/authzen repository, commit e287920 (not vendored: the tests encode it). Every test of its test-id matrix for these levels is one `it`, named by its id
 * and title, sending the scenario's own request bodies and checking what its harness checks:
 * status, `Content-Type: application/json`, the response structure, the decision where the fixture
 * mandates one, the `X-Request-ID` echo, idempotency. The Search level (c-4-*) is in its own spec
 * over the same fixture.
 *
 * The PDP under test: the built agent, loaded (over the control-plane socket, as a signed bundle)
 * with the scenario's Required Fixture as a policy repository
 * (test/support/fixtures/authzen-certification), behind real nginx that terminates TLS, as the
 * specification's HTTPS binding asks. The agent trusts nginx's forwarding headers
 * (STEPGATE_TRUSTED_PROXIES), so discovery names the https URL the client used. Requests go to
 * the endpoints the metadata names, as the harness does.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, PolicyEngine, runTestSuites, type CompiledPolicySet } from '@stepgate/policy';
import { spawnNginx, type NginxProcess } from '../nginx/nginx-process.js';
import { tlsProxyConfig } from '../nginx/nginx-config.js';
import {
  agentServing,
  call,
  cleanup,
  ensureAgentBuilt,
  REPO_ROOT,
  tempDir,
  type AgentProcess,
  type AgentServing,
} from './support.js';

const CERTIFICATION_FIXTURE = join(REPO_ROOT, 'test/support/fixtures/authzen-certification');

/** The fixture repository (every YAML file in it), compiled. */
function fixture(): ReturnType<typeof compile> {
  const files = readdirSync(CERTIFICATION_FIXTURE)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => ({
      path: name,
      content: readFileSync(join(CERTIFICATION_FIXTURE, name), 'utf8'),
    }));
  return compile(files);
}

let serving: AgentServing;
let agent: AgentProcess;
let nginx: NginxProcess;
let tls: Agent;
const dirs: string[] = [];
/** The endpoints the PDP metadata names (the harness uses them when present). */
let evaluationUrl: string;
let evaluationsUrl: string;

beforeAll(async () => {
  await ensureAgentBuilt();
  const compiled = fixture();
  if (!compiled.ok)
    throw new Error(compiled.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  const set: CompiledPolicySet = compiled.policySet;

  const keys = tempDir('authzen-tls');
  dirs.push(keys);
  // A certificate for nginx's TLS listener, trusted by this suite's client only.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(keys, 'key.pem'),
      '-out',
      join(keys, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  tls = new Agent({ ca: readFileSync(join(keys, 'cert.pem')), keepAlive: true });

  // nginx, on the same host, is the trusted proxy whose X-Forwarded-Proto/Host are believed.
  serving = await agentServing(set, { STEPGATE_TRUSTED_PROXIES: '127.0.0.1/32' });
  agent = serving.agent;
  nginx = await spawnNginx(
    (listen, runDir) =>
      tlsProxyConfig({
        listen,
        agent: `127.0.0.1:${agent.port}`,
        certificate: join(keys, 'cert.pem'),
        key: join(keys, 'key.pem'),
        runDir,
      }),
    'https',
  );
  const metadata = await send('GET', `${nginx.url}/.well-known/authzen-configuration`);
  evaluationUrl = metadata.json?.access_evaluation_endpoint ?? `${nginx.url}/access/v1/evaluation`;
  evaluationsUrl =
    metadata.json?.access_evaluations_endpoint ?? `${nginx.url}/access/v1/evaluations`;
}, 300_000);

afterAll(async () => {
  await nginx?.stop();
  await serving?.stop();
  tls?.destroy();
  cleanup(...dirs);
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: any;
}

/** One HTTPS request through nginx; `body` is sent as given (a string) or as JSON. */
function send(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = body === undefined
    ? {}
    : { 'content-type': 'application/json' },
): Promise<Answer> {
  const payload =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, agent: tls, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

let requestCounter = 0;

/**
 * An Access Evaluation (or Evaluations) request as the harness sends it, with an X-Request-ID,
 * and the checks it makes of every successful answer: 200, `Content-Type: application/json`, the
 * echoed request id, a JSON object body.
 */
async function evaluate(url: string, body: unknown): Promise<Answer> {
  const id = `cert-${++requestCounter}`;
  const answer = await send('POST', url, body, {
    'content-type': 'application/json',
    'x-request-id': id,
  });
  expect(answer.status, answer.text).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^application\/json\b/);
  expect(answer.headers['x-request-id']).toBe(id);
  expect(answer.json).toBeTypeOf('object');
  return answer;
}

/** c-2-3: a `decision` boolean; a `context`, when present, is an object. */
function expectDecision(decision: unknown, value?: boolean): void {
  expect(decision).toBeTypeOf('object');
  const { decision: verdict, context } = decision as { decision: unknown; context?: unknown };
  expect(verdict).toBeTypeOf('boolean');
  if (value !== undefined) expect(verdict).toBe(value);
  if (context !== undefined) {
    expect(context).toBeTypeOf('object');
    expect(Array.isArray(context)).toBe(false);
  }
}

/** c-3-3: an `evaluations` array of `count` decisions, in request order, with these values. */
function expectEvaluations(body: any, values: (boolean | undefined)[]): void {
  expect(Array.isArray(body.evaluations)).toBe(true);
  expect(body.evaluations).toHaveLength(values.length);
  values.forEach((value, index) => expectDecision(body.evaluations[index], value));
}

/** c-2-4: a 400 (whatever the body; ours is `{error, message}`), with the request id echoed. */
async function expectBadRequest(
  url: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<void> {
  const answer = await send('POST', url, body, { ...headers, 'x-request-id': 'bad-1' });
  expect(answer.status, answer.text).toBe(400);
  expect(answer.headers['x-request-id']).toBe('bad-1');
}

// The scenario's request bodies.
const ALICE = { type: 'user', id: 'alice' };
const BOB = { type: 'user', id: 'bob' };
const READ = { name: 'read' };
const WRITE = { name: 'write' };
const RECORD_1 = { type: 'record', id: 'record-1' };
const RECORD_2 = { type: 'record', id: 'record-2' };
const RULE_1 = { subject: ALICE, action: READ, resource: RECORD_1 };

describe('the fixture', () => {
  it('passes its own policy tests (the eight decisions of the Required Fixture)', () => {
    const compiled = fixture();
    if (!compiled.ok) throw new Error(compiled.errors.map((e) => e.message).join('\n'));
    const report = runTestSuites(new PolicyEngine(compiled.policySet), compiled.testSuites);
    const names = report.suites.flatMap((suite) => suite.cases.map((c) => c.name));
    for (const rule of [1, 2, 3, 4, 5, 6, 7, 8])
      expect(names.some((name) => name.startsWith(`${rule}. `))).toBe(true);
    expect(report.failed, JSON.stringify(report.suites, null, 2)).toBe(0);
  });
});

describe('Basic Core: Access Evaluation API', () => {
  it('c-2-2-1 fixture request -- permit decision', async () => {
    const { json } = await evaluate(evaluationUrl, RULE_1);
    expectDecision(json, true);
  });

  it('c-2-2-2 fixture request -- deny decision', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: BOB,
      action: WRITE,
      resource: RECORD_1,
    });
    expectDecision(json, false);
  });

  it('c-2-2-3 request with optional context', async () => {
    const { json } = await evaluate(evaluationUrl, {
      ...RULE_1,
      context: { time: '2025-06-27T18:03-07:00', ip: '192.168.1.1' },
    });
    expectDecision(json, true);
  });

  it('c-2-2-8 request with additional properties', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: { type: 'user', id: 'alice', properties: { department: 'Sales', role: 'manager' } },
      action: { name: 'read', properties: { method: 'GET' } },
      resource: { type: 'record', id: 'record-1', properties: { status: 'active', owner: 'bob' } },
    });
    expectDecision(json, true);
  });

  it('c-2-2-9 request with unknown fields', async () => {
    const { json } = await evaluate(evaluationUrl, {
      ...RULE_1,
      foo: 'bar',
      futureField: { nested: true },
    });
    expectDecision(json, true);
  });

  it('c-2-3-1 decision field is required', async () => {
    const { text } = await evaluate(evaluationUrl, RULE_1);
    const body = JSON.parse(text);
    expect(body).toHaveProperty('decision');
    expect(typeof body.decision).toBe('boolean');
  });

  it('c-2-3-2 response context is permitted', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: BOB,
      action: WRITE,
      resource: RECORD_1,
    });
    // The agent says why in the context; the harness only requires it to be an object.
    expect(json.context).toBeTypeOf('object');
    expect(Array.isArray(json.context)).toBe(false);
  });

  it('c-2-4-1 missing required fields', async () => {
    await expectBadRequest(evaluationUrl, { action: READ, resource: RECORD_1 });
    await expectBadRequest(evaluationUrl, { subject: ALICE, resource: RECORD_1 });
    await expectBadRequest(evaluationUrl, { subject: ALICE, action: READ });
  });

  it('c-2-4-2 missing required sub-fields', async () => {
    await expectBadRequest(evaluationUrl, {
      subject: { id: 'alice' },
      action: READ,
      resource: RECORD_1,
    });
    await expectBadRequest(evaluationUrl, {
      subject: { type: 'user' },
      action: READ,
      resource: RECORD_1,
    });
    await expectBadRequest(evaluationUrl, { subject: ALICE, action: {}, resource: RECORD_1 });
    await expectBadRequest(evaluationUrl, {
      subject: ALICE,
      action: READ,
      resource: { id: 'record-1' },
    });
    await expectBadRequest(evaluationUrl, {
      subject: ALICE,
      action: READ,
      resource: { type: 'record' },
    });
  });

  it('c-2-4-3 invalid content type', async () => {
    const body = JSON.stringify(RULE_1);
    await expectBadRequest(evaluationUrl, body, { 'content-type': 'text/plain' });
    await expectBadRequest(evaluationUrl, body, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    await expectBadRequest(evaluationUrl, body, {}); // no Content-Type at all
    await expectBadRequest(evaluationsUrl, body, { 'content-type': 'text/plain' });
  });

  it('c-2-4-4 malformed JSON', async () => {
    await expectBadRequest(evaluationUrl, '{"subject": {"type": "user", "id": "alice"},');
    await expectBadRequest(evaluationUrl, 'not json');
  });

  it('c-2-4-5 empty request body', async () => {
    await expectBadRequest(evaluationUrl, '');
  });

  it('c-2-4-6 invalid field types', async () => {
    await expectBadRequest(evaluationUrl, { subject: 'alice', action: READ, resource: RECORD_1 });
    await expectBadRequest(evaluationUrl, {
      subject: ALICE,
      action: { name: 123 },
      resource: RECORD_1,
    });
  });

  it('c-2-5-1 X-Request-ID echo', async () => {
    const id = 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716';
    const answer = await send('POST', evaluationUrl, RULE_1, {
      'content-type': 'application/json',
      'x-request-id': id,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-request-id']).toBe(id);
  });

  it('c-2-5-2 X-Request-ID absent', async () => {
    const answer = await send('POST', evaluationUrl, RULE_1);
    expect(answer.status).toBe(200);
    expectDecision(answer.json, true);
  });

  it('c-2-6 idempotency', async () => {
    const decisions: boolean[] = [];
    for (let i = 0; i < 5; i++)
      decisions.push((await evaluate(evaluationUrl, RULE_1)).json.decision);
    expect(decisions).toEqual([true, true, true, true, true]);
    const denials: boolean[] = [];
    for (let i = 0; i < 5; i++)
      denials.push(
        (await evaluate(evaluationUrl, { subject: BOB, action: WRITE, resource: RECORD_1 })).json
          .decision,
      );
    expect(denials).toEqual([false, false, false, false, false]);
  });
});

describe('Basic Properties: Access Evaluation API', () => {
  it('c-2-2-4 fixture request -- deny based on properties', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: ALICE,
      action: WRITE,
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    });
    expectDecision(json, false);
  });

  it('c-2-2-5 fixture request -- permit based on subject properties', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: { type: 'user', id: 'bob', properties: { role: 'admin' } },
      action: WRITE,
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
    });
    expectDecision(json, true);
  });

  it('c-2-2-6 fixture request -- permit based on action properties', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: ALICE,
      action: { name: 'delete', properties: { soft: true } },
      resource: RECORD_1,
    });
    expectDecision(json, true);
  });

  it('c-2-2-7 fixture request -- deny based on action properties', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: ALICE,
      action: { name: 'delete', properties: { soft: false } },
      resource: RECORD_1,
    });
    expectDecision(json, false);
  });
});

describe('Batch Core: Access Evaluations API', () => {
  it('c-3-2-1 batch request with evaluations array', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: READ,
      evaluations: [{ resource: RECORD_1 }, { resource: RECORD_2 }],
    });
    expectEvaluations(json, [undefined, undefined]);
  });

  it('c-3-2-2 batch with fixture decisions validated', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: BOB,
      resource: RECORD_1,
      evaluations: [{ action: READ }, { action: WRITE }],
    });
    expectEvaluations(json, [true, false]);
  });

  it('c-3-2-5 batch with fully specified evaluations (no defaults)', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      evaluations: [
        { subject: ALICE, action: READ, resource: RECORD_1 },
        { subject: BOB, action: WRITE, resource: RECORD_1 },
      ],
    });
    expectEvaluations(json, [true, false]);
  });

  it('c-3-2-6 batch with context inheritance', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: READ,
      context: { time: '2025-06-27T18:03-07:00' },
      evaluations: [
        { resource: RECORD_1 },
        {
          resource: RECORD_2,
          context: { time: '2025-06-27T19:00-07:00', source: 'batch-override' },
        },
      ],
    });
    expectEvaluations(json, [undefined, undefined]);
  });

  it('c-3-3-1 response array length matches request', async () => {
    const items = [RECORD_1, RECORD_2, RECORD_1, RECORD_2, RECORD_1].map((resource) => ({
      resource,
    }));
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: READ,
      evaluations: items,
    });
    expect(json.evaluations).toHaveLength(items.length);
  });

  it('c-3-3-2 response ordering', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: BOB,
      resource: RECORD_1,
      evaluations: [{ action: WRITE }, { action: READ }, { action: WRITE }, { action: READ }],
    });
    expectEvaluations(json, [false, true, false, true]);
  });

  it('c-3-3-3 each evaluation contains a decision', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: BOB,
      resource: RECORD_1,
      evaluations: [{ action: READ }, { action: WRITE }],
    });
    for (const item of json.evaluations) expectDecision(item);
  });

  it('c-3-3-4 top-level decision field', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: BOB,
      resource: RECORD_1,
      evaluations: [{ action: READ }, { action: WRITE }],
    });
    // SHOULD be omitted when the answer has an evaluations array (the harness ignores it).
    expect(json).not.toHaveProperty('decision');
  });

  it('c-3-4-1 evaluation-level errors (execute_all semantic)', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: READ,
      options: { evaluations_semantic: 'execute_all' },
      evaluations: [{ resource: RECORD_1 }, {}],
    });
    expectEvaluations(json, [true, false]);
  });

  it('c-3-4-2 missing evaluations array (backwards-compatible)', async () => {
    const { json } = await evaluate(evaluationsUrl, RULE_1);
    expectDecision(json, true);
    expect(json).not.toHaveProperty('evaluations');
  });

  it('c-3-4-3 empty evaluations array (backwards-compatible)', async () => {
    const { json } = await evaluate(evaluationsUrl, { ...RULE_1, evaluations: [] });
    expectDecision(json, true);
    expect(json).not.toHaveProperty('evaluations');
  });
});

describe('Batch Properties: Access Evaluations API', () => {
  it('c-3-2-3 batch with properties validated', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: WRITE,
      evaluations: [
        { resource: { type: 'record', id: 'record-1', properties: { status: 'active' } } },
        { resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } } },
      ],
    });
    expectEvaluations(json, [true, false]);
  });

  it('c-3-2-4 batch with subject properties validated', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      action: WRITE,
      resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } },
      evaluations: [
        { subject: ALICE },
        { subject: { type: 'user', id: 'bob', properties: { role: 'admin' } } },
      ],
    });
    expectEvaluations(json, [false, true]);
  });

  it('c-3-2-7 batch with top-level default inheritance', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: ALICE,
      action: WRITE,
      resource: { type: 'record', id: 'record-1', properties: { status: 'active' } },
      evaluations: [
        {},
        { resource: { type: 'record', id: 'record-2', properties: { status: 'archived' } } },
      ],
    });
    expectEvaluations(json, [true, false]);
  });
});

describe('Transport requirements (c-5)', () => {
  it('c-5-1 accepts HTTPS requests with Content-Type: application/json', async () => {
    expect(evaluationUrl.startsWith('https://')).toBe(true);
    const { json } = await evaluate(evaluationUrl, RULE_1);
    expectDecision(json, true);
  });

  it('c-5-2 successful answers are 200 with Content-Type: application/json', async () => {
    for (const [url, body] of [
      [evaluationUrl, RULE_1],
      [evaluationsUrl, { subject: ALICE, action: READ, evaluations: [{ resource: RECORD_1 }] }],
    ] as const) {
      const answer = await send('POST', url, body);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^application\/json\b/);
    }
  });

  it('c-5-3 missing required fields are a 400', async () => {
    await expectBadRequest(evaluationUrl, { subject: ALICE, action: READ });
    await expectBadRequest(evaluationsUrl, { subject: ALICE, action: READ });
  });

  it('c-5-4 echoes X-Request-ID', async () => {
    for (const url of [evaluationUrl, evaluationsUrl]) {
      const answer = await send('POST', url, RULE_1, {
        'content-type': 'application/json',
        'x-request-id': 'transport-4',
      });
      expect(answer.headers['x-request-id']).toBe('transport-4');
    }
  });

  it('c-5-5 ignores unknown fields in the request body', async () => {
    const { json } = await evaluate(evaluationsUrl, {
      subject: { ...ALICE, identity: 'CiRmZDA2', _note: 'unknown' },
      action: { ...READ, verb: 'GET' },
      extension: { x: 1 },
      options: { evaluations_semantic: 'execute_all', another_option: 'value' },
      evaluations: [{ resource: { ...RECORD_1, parent: 'folder-1' }, extra: true }],
    });
    expectEvaluations(json, [true]);
  });
});

describe('Discovery: PDP metadata (c-6)', () => {
  it('c-6 metadata endpoint, response format, required and optional fields, validation', async () => {
    const answer = await send('GET', `${nginx.url}/.well-known/authzen-configuration`, undefined, {
      'x-request-id': 'discovery-1',
    });
    // c-6-2 / c-6-5: 200, application/json, valid JSON; c-6-6: never a 404.
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json\b/);
    expect(answer.headers['x-request-id']).toBe('discovery-1');
    const metadata = JSON.parse(answer.text);
    // c-6-3: policy_decision_point is the base URL used for discovery (https, no query/fragment).
    expect(metadata.policy_decision_point).toBe(nginx.url);
    const pdp = new URL(metadata.policy_decision_point);
    expect([pdp.protocol, pdp.search, pdp.hash]).toEqual(['https:', '', '']);
    // c-6-3 / c-6-4: every endpoint present is a valid https URL.
    expect(metadata).toEqual({
      policy_decision_point: nginx.url,
      access_evaluation_endpoint: `${nginx.url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${nginx.url}/access/v1/evaluations`,
      search_subject_endpoint: `${nginx.url}/access/v1/search/subject`,
      search_resource_endpoint: `${nginx.url}/access/v1/search/resource`,
      search_action_endpoint: `${nginx.url}/access/v1/search/action`,
    });
    for (const value of Object.values(metadata))
      expect(new URL(value as string).protocol).toBe('https:');
    expect(metadata).not.toHaveProperty('capabilities');
    expect(metadata).not.toHaveProperty('signed_metadata');
    // The suite sent every request above to the endpoints named here.
    expect([evaluationUrl, evaluationsUrl]).toEqual([
      metadata.access_evaluation_endpoint,
      metadata.access_evaluations_endpoint,
    ]);
  });

  it('names the agent itself when asked directly, not through the proxy', async () => {
    const direct = await call(agent.url, 'GET', '/.well-known/authzen-configuration');
    expect(direct.body.policy_decision_point).toBe(agent.url);
  });
});

describe('beyond the scenario', () => {
  it('a step-up is decision false, with the requirement in the context', async () => {
    const { json } = await evaluate(evaluationUrl, {
      subject: ALICE,
      action: { name: 'delete', properties: { soft: false } },
      resource: RECORD_1,
    });
    expectDecision(json, false);
    expect(json.context).toMatchObject({ effect: 'step_up', step_up: { level: 'mfa' } });
  });

  it('short-circuits deny_on_first_deny and permit_on_first_permit after the deciding item', async () => {
    const body = (semantic: string) => ({
      subject: BOB,
      resource: RECORD_1,
      options: { evaluations_semantic: semantic },
      evaluations: [{ action: READ }, { action: WRITE }, { action: READ }],
    });
    const all = await evaluate(evaluationsUrl, body('execute_all'));
    expectEvaluations(all.json, [true, false, true]);
    const denyFirst = await evaluate(evaluationsUrl, body('deny_on_first_deny'));
    expectEvaluations(denyFirst.json, [true, false]);
    const permitFirst = await evaluate(evaluationsUrl, body('permit_on_first_permit'));
    expectEvaluations(permitFirst.json, [true]);
  });
});
