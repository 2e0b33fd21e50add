/**
 * The OpenID AuthZEN working group's Todo interop decision files, run as the working group's
 * own runner runs them (each `evaluation` entry to /access/v1/evaluation, each `evaluations`
 * entry to /access/v1/evaluations) against a real agent process loaded with the Todo scenario
 * written in Stepgate's language (test/support/fixtures/authzen-todo/). The 1.0-00 payloads
 * carry fields the specification tells a PDP to ignore (`subject.identity`, `subject._note`,
 * `resource.userID`, `resource.ownerID` outside `properties`).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentServing,
  call,
  compilePolicyDir,
  REPO_ROOT,
  type AgentProcess,
  type AgentServing,
} from './support.js';

const FIXTURES = resolve(REPO_ROOT, 'test/support/fixtures');
const DECISION_FILES = ['00', '01', '02'].map((n) => `decisions-authorization-api-1_0-${n}.json`);

interface InteropFile {
  evaluation?: { request: Record<string, unknown>; expected: boolean }[];
  evaluations?: { request: Record<string, unknown>; expected: { decision: boolean }[] }[];
}

const readDecisions = (file: string): InteropFile =>
  JSON.parse(readFileSync(join(FIXTURES, 'authzen-interop', file), 'utf8')) as InteropFile;

let serving: AgentServing;
let agent: AgentProcess;

beforeAll(async () => {
  serving = await agentServing(compilePolicyDir(join(FIXTURES, 'authzen-todo')));
  agent = serving.agent;
}, 300_000);

afterAll(async () => {
  await serving?.stop();
});

const label = (request: Record<string, unknown>): string => {
  const { subject, action, resource } = request as {
    subject?: { id?: string };
    action?: { name?: string };
    resource?: { id?: string };
  };
  return `${subject?.id ?? '(default)'} ${action?.name ?? '(default)'} ${resource?.id ?? '(batch)'}`;
};

describe.each(DECISION_FILES)('%s', (file) => {
  const decisions = readDecisions(file);

  it('has requests to run (the file was read)', () => {
    expect(
      (decisions.evaluation?.length ?? 0) + (decisions.evaluations?.length ?? 0),
    ).toBeGreaterThan(0);
  });

  it('answers every /access/v1/evaluation request as expected', async () => {
    const failures: string[] = [];
    for (const [index, { request, expected }] of (decisions.evaluation ?? []).entries()) {
      const response = await call(agent.url, 'POST', '/access/v1/evaluation', request);
      if (response.status !== 200 || response.body?.decision !== expected)
        failures.push(
          `#${index} ${label(request)}: expected ${expected}, got ${response.status} ${JSON.stringify(response.body)}`,
        );
    }
    expect(failures).toEqual([]);
  });

  it('answers every /access/v1/evaluations request as expected', async () => {
    const failures: string[] = [];
    for (const [index, { request, expected }] of (decisions.evaluations ?? []).entries()) {
      const response = await call(agent.url, 'POST', '/access/v1/evaluations', request);
      const got = (response.body?.evaluations ?? []) as { decision: unknown }[];
      const decided = got.map((item) => ({ decision: item.decision }));
      if (response.status !== 200 || JSON.stringify(decided) !== JSON.stringify(expected))
        failures.push(
          `#${index} ${label(request)}: expected ${JSON.stringify(expected)}, got ${response.status} ${JSON.stringify(response.body)}`,
        );
    }
    expect(failures).toEqual([]);
  });
});
