/**
 * Replay in the push loop (issue 14, item 3) on a real control plane with PostgreSQL and Redis:
 * decision records come in through two socket.io agents' `logs` batches, candidate versions are
 * pushed with a real `git` client to the embedded repository, and every new ready version is
 * replayed by the sync over the last 24 h. The `git push` output prints the impact (or the
 * command to see it); the activation gate in stepgate.yaml holds a version that changes more
 * than its limit (it stays ready, the reason is in GET /v1/versions/{n} and in the push output)
 * and lets a reasoned, audited manual activation through.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionRecord } from '@stepgate/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { agentTokenFor, connectAgent, reason, record, type FakeAgent } from '../agents/support.js';
import {
  api,
  commit,
  createToken,
  ensureControlPlaneBuilt,
  git,
  tempDirs,
  waitFor,
  waitForVersion,
} from './support.js';
import { cloneEmbedded, pushPolicies } from './step-up-support.js';

const BASE = `apiVersion: stepgate/v1
kind: Policy
name: gate-docs
target: { actions: ["gate:read"] }
rules:
  - name: read
    effect: allow
`;
/** Steps up every secret document: 3 of the 10 recorded decisions change (30%). */
const stricter = (comment: string) => `# ${comment}
${BASE}  - name: secret-mfa
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
`;

const temp = tempDirs();
let cp: ControlPlaneProcess;
let operator: string;
let work: string;
let settings: string;
const agents: FakeAgent[] = [];
const now = Date.now();

function decision(n: number, principal: string, resourceId: string): DecisionRecord {
  return record({
    decisionId: randomUUID(),
    at: new Date(now - 1800_000 + n * 1000).toISOString(),
    revision: 2,
    effect: 'allow',
    reasons: [reason('gate-docs', 'read', 'allow')],
    principal,
    action: 'gate:read',
    resource: { kind: 'doc', id: resourceId },
    input: {
      principal: { id: principal },
      action: 'gate:read',
      resource: { kind: 'doc', id: resourceId },
      context: { ip: '198.51.100.4' },
    },
    replay: { version: 1 },
    signals: { failed_logins: 0, new_device: false },
  });
}
const RECORDS = [
  decision(1, 'bob', 'secret/plan'),
  decision(2, 'bob', 'secret/keys'),
  decision(3, 'carol', 'secret/plan'),
  ...[4, 5, 6, 7, 8, 9, 10].map((n) => decision(n, 'alice', `public/${n}`)),
];

/** The `stepgate: ...` lines of a push, without the `remote: ` git adds. */
function reportLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('remote: stepgate:'))
    .map((line) => line.replace(/^remote: /, '').trimEnd());
}

/** Commits and pushes with a real git client; the push's report lines and the new version. */
async function push(files: Record<string, string>, message: string) {
  const sha = await commit(work, files, message);
  const pushed = await git(['push', 'origin', 'HEAD:main'], work);
  expect(pushed.status, pushed.stderr).toBe(0);
  const version = await waitForVersion(cp, sha, (v) => v.status !== undefined, 120_000);
  return { sha, lines: reportLines(pushed.stderr), number: version.number as number };
}

async function detail(number: number): Promise<any> {
  const response = await api(cp.url, operator, 'GET', `/v1/versions/${number}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** The version's detail once its sync replay has ended. */
async function replayed(number: number): Promise<any> {
  let body: any;
  await waitFor(
    `the replay of version ${number}`,
    async () => {
      body = await detail(number);
      return body.replay !== null && !['queued', 'running'].includes(body.replay.status);
    },
    90_000,
  );
  return body;
}

const gate = (limit: string) => `${settings.trimEnd()}\nactivation:\n  maxChanged: ${limit}\n`;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  operator = (await createToken(cp, 'gate-operator', ['operator'])).token;
  work = temp.make('replay-gate');
  await cloneEmbedded(cp, work);
  settings = readFileSync(join(work, 'stepgate.yaml'), 'utf8');
  await pushPolicies(cp, work, { 'gate/docs.yaml': BASE }, 'gate: base');
  for (const id of ['gate-a', 'gate-b'])
    agents.push(await connectAgent(cp, { token: await agentTokenFor(cp, id), agentId: id }));
  expect(
    await agents[0]!.sendLogs({ batchId: 'ga-1', records: RECORDS.slice(0, 5), dropped: 0 }),
  ).toEqual({ ok: true });
  expect(
    await agents[1]!.sendLogs({ batchId: 'gb-1', records: RECORDS.slice(5), dropped: 0 }),
  ).toEqual({ ok: true });
  await waitFor('the records stored', async () => {
    const from = encodeURIComponent(new Date(now - 3600_000).toISOString());
    const to = encodeURIComponent(new Date(now + 3600_000).toISOString());
    const listed = await api(
      cp.url,
      operator,
      'GET',
      `/v1/decisions?limit=1000&from=${from}&to=${to}`,
    );
    const mine = (listed.body.decisions ?? []).filter((d: any) => d.action === 'gate:read');
    return mine.length === RECORDS.length;
  });
}, 600_000);

afterAll(async () => {
  for (const agent of agents) agent.close();
  await cp?.destroy();
  temp.cleanup();
});

describe('replay in the push loop', () => {
  it('without a gate: the push auto-activates and prints the impact (or the command to see it)', async () => {
    const { sha, lines, number } = await push(
      { 'gate/docs.yaml': stricter('no gate') },
      'gate: stricter, no gate',
    );
    expect(lines[0]).toMatch(new RegExp(`^stepgate: ${sha.slice(0, 7)} compiles`));
    const impact = lines.slice(1).join('\n');
    expect(impact).toMatch(
      new RegExp(
        `stepgate: version ${number} replayed against the last 24 h: 3 of 10 decisions change|see it with: stepgate versions (${number}|${sha.slice(0, 7)})`,
      ),
    );
    if (impact.includes('replayed against')) expect(impact).toContain('allow -> step_up  3');
    expect(impact).not.toContain('NOT activated');
    await waitForVersion(cp, sha, (v) => v.active, 60_000);
    const body = await replayed(number);
    expect(body.replay).toMatchObject({
      status: 'done',
      totals: { records: 10, replayed: 10, changed: 3, notReplayable: 0 },
      changes: [{ change: 'allow -> step_up', count: 3 }],
    });
    expect(body.activationHeld).toBeNull();
  }, 240_000);

  it('a version over the gate is held: stays ready, says why (detail and push output); a reasoned activation goes through, audited', async () => {
    const { sha, lines, number } = await push(
      { 'gate/docs.yaml': stricter('gate 10%'), 'stepgate.yaml': gate('"10%"') },
      'gate: stricter with a 10% gate',
    );
    const output = lines.join('\n');
    expect(lines[0]).toContain('its replay changes at most 10% (activation.maxChanged)');
    expect(output).toContain(
      `stepgate: version ${number} replayed against the last 24 h: 3 of 10 decisions change`,
    );
    expect(output).toContain(
      `stepgate: version ${number} is NOT activated: the activation gate holds it (its replay changes 3 of 10 decisions, more than activation.maxChanged 10%);`,
    );
    expect(output).toContain(`stepgate activate ${number} --reason '<why>'`);

    const body = await replayed(number);
    expect(body).toMatchObject({ status: 'ready', active: false });
    expect(body.activationHeld).toEqual({
      reason: 'its replay changes 3 of 10 decisions, more than activation.maxChanged 10%',
      changed: 3,
      total: 10,
      limit: '10%',
    });
    // The sync has finished deciding (the held audit row) and did not activate it.
    await waitFor('the hold audited', async () => {
      const audit = await api(cp.url, operator, 'GET', '/v1/audit?action=version.activation_held');
      return audit.body.events?.some((e: any) => e.details?.version === number);
    });
    expect((await detail(number)).active).toBe(false);

    // Shadowing the held version is not an activation: the hold stays (it used to be lifted).
    const shadow = await api(cp.url, cp.adminToken, 'POST', `/v1/versions/${number}/shadow`, {
      reason: 'dry-run the stricter version first',
    });
    expect(shadow.status, JSON.stringify(shadow.body)).toBe(200);
    expect((await detail(number)).activationHeld).toMatchObject({ changed: 3, limit: '10%' });
    const cleared = await api(cp.url, cp.adminToken, 'DELETE', '/v1/shadow', {
      reason: 'dry-run done',
    });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);

    const bare = await api(cp.url, cp.adminToken, 'POST', `/v1/versions/${number}/activate`, {});
    expect(bare.status).toBe(400);
    expect(bare.body.message).toContain('held by the activation gate');
    const reasoned = await api(cp.url, cp.adminToken, 'POST', `/v1/versions/${number}/activate`, {
      reason: 'the step-up on secret documents is intended',
    });
    expect(reasoned.status, JSON.stringify(reasoned.body)).toBe(200);
    await waitForVersion(cp, sha, (v) => v.active, 30_000);
    const audit = await api(cp.url, operator, 'GET', '/v1/audit?action=version.activate&limit=50');
    const event = audit.body.events.find((e: any) => e.details?.activationHeld);
    expect(event).toMatchObject({
      reason: 'the step-up on secret documents is intended',
      details: { activationHeld: { changed: 3, total: 10, limit: '10%' } },
    });
    expect((await detail(number)).activationHeld).toBeNull();
  }, 240_000);

  it('a version under the gate auto-activates', async () => {
    const { sha, lines, number } = await push(
      { 'gate/docs.yaml': stricter('gate 50%'), 'stepgate.yaml': gate('"50%"') },
      'gate: stricter with a 50% gate',
    );
    expect(lines.join('\n')).not.toContain('NOT activated');
    await waitForVersion(cp, sha, (v) => v.active, 120_000);
    const body = await replayed(number);
    expect(body.replay.totals).toMatchObject({ changed: 3, replayed: 10 });
    expect(body.activationHeld).toBeNull();
  }, 240_000);
});
