/**
 * The malformed-input drill: over 10,000 malformed requests of many kinds (invalid, truncated,
 * huge and deeply nested JSON, wrong types for every field, unknown and prototype-polluting
 * keys, NUL bytes and invalid UTF-8, wrong content types and methods, odd and huge headers, bad
 * credentials and JWTs, bad path parameters and query strings, protocol-level junk, malformed
 * socket.io handshakes and events) to every public endpoint of a real control plane and a real
 * agent. docs/architecture.md ("Failure behaviour"): malformed input on any API gets a 4xx naming the field, never a crash.
 *
 * Checked: every answer is the expected class (4xx, or 2xx where junk is a legitimate input),
 * never a 5xx or a hang; error bodies are JSON {error, message} with no stack trace or file
 * path; both processes are alive at the end (same process) and still answer valid requests
 * correctly; and the decision logs that well-behaved agents sent during the flood all arrive.
 *
 * The seed is printed; `DRILL_SEED=<n> npx vitest run test/drills/malformed-input.spec.ts`
 * replays the same requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createToken,
  ensureControlPlaneBuilt,
  metricValue,
} from '../integration/control-plane/support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import { agentTokenFor } from '../integration/agents/support.js';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  AgentProcess,
  api,
  exampleCase,
  killAllAgents,
  removeTempDirs,
  waitFor,
} from '../e2e/support.js';
import { agentEndpoints, controlPlaneEndpoints, type Endpoint } from './malformed/catalogue.js';
import { buildCases, type DrillCase } from './malformed/cases.js';
import {
  flood,
  RAW_REQUESTS,
  sendRaw,
  summaryTable,
  violation,
  type Outcome,
  type RawOutcome,
} from './malformed/http-flood.js';
import { drillSeed, Prng } from './malformed/prng.js';
import { shipSteadily, socketDrill, type SocketDrillResult } from './malformed/socket-drill.js';
import { REPO_ROOT } from '../support/control-plane-process.js';

const ALLOW = exampleCase(
  'api/admin-step-up.test.yaml',
  'Staff changing ordinary API resources from home need no step-up',
);
const CP_REQUESTS = 5600;
const AGENT_REQUESTS = 4800;
const CONCURRENCY = 6;

const seed = drillSeed();
let cp: ControlPlaneProcess;
let flooded: AgentProcess;
let steady: AgentProcess;
let tokens: { agent: string; viewer: string };
let cpStartTime = 0;

/** Everything the flood produced, checked by the tests below. */
const run = {
  outcomes: [] as Outcome[],
  raw: [] as { target: string; outcome: RawOutcome }[],
  socket: undefined as SocketDrillResult | undefined,
  steadyDecisions: 0,
  /** Valid decisions answered 200, by agent id. */
  steadyByAgent: new Map<string, number>(),
  steadyDecisionErrors: [] as string[],
  steadyBatches: { sent: 0, problems: [] as string[], agentId: '' },
  ms: 0,
  endpoints: [] as Endpoint[],
};

/** The principal of every well-behaved decision during the flood (to count them afterwards). */
const STEADY = `drill-steady-${seed}`;

beforeAll(async () => {
  console.log(`malformed-input drill: seed ${seed} (DRILL_SEED=${seed} replays it)`);
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  cp = await startControlPlane();
  tokens = {
    agent: (await createToken(cp, 'drill-agent', ['agent'])).token,
    viewer: (await createToken(cp, 'drill-viewer', ['viewer'])).token,
  };
  await waitFor(
    'the seed version to be active',
    async () => (await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active')).status === 200,
    60_000,
    250,
  );
  // A token is one agent's identity: each agent has its own (tokens.agent is the socket drill's).
  const startAgent = async (name: string) =>
    AgentProcess.start({
      name,
      url: cp.url,
      token: await agentTokenFor(cp, `drill-${name}-${seed}`),
      agentId: `drill-${name}-${seed}`,
    });
  [flooded, steady] = await Promise.all([startAgent('flooded'), startAgent('steady')]);
  for (const agent of [flooded, steady])
    await waitFor(`agent ${agent.name} to hold a bundle`, async () => {
      const ready = await agent.readyz();
      const metrics = await fetch(`${agent.url}/metrics`);
      return ready.status === 200 && ready.body.connected === true && metrics.ok;
    });
  cpStartTime = await metricValue(cp.url, 'stepgate_control_plane_process_start_time_seconds');
}, 180_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  removeTempDirs();
}, 60_000);

/** Valid decisions on both agents, one every `intervalMs`, until `stop()`. */
function decideSteadily(intervalMs = 40) {
  let running = true;
  const input = { ...ALLOW.input, principal: { ...(ALLOW.input.principal as object), id: STEADY } };
  const loop = (async () => {
    let turn = 0;
    while (running) {
      const agent = turn++ % 2 === 0 ? flooded : steady;
      try {
        const reply = await agent.decide(input);
        if (reply.status === 200) {
          run.steadyDecisions += 1;
          const id = agent.agentId as string;
          run.steadyByAgent.set(id, (run.steadyByAgent.get(id) ?? 0) + 1);
        } else
          run.steadyDecisionErrors.push(
            `${agent.name}: ${reply.status} ${JSON.stringify(reply.body)}`,
          );
      } catch (error) {
        run.steadyDecisionErrors.push(`${agent.name}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

describe('malformed-input drill: every public endpoint of the control plane and the agent', () => {
  it('floods both processes with over 10,000 malformed requests and gets only the expected answers', async () => {
    const rng = new Prng(seed);
    const docs = await api(cp.url, undefined, 'GET', '/docs');
    expect(docs.status).toBe(200);
    const cpEndpoints = controlPlaneEndpoints(docs.body);
    const agentList = agentEndpoints({ decide: ALLOW.input });
    run.endpoints = [...cpEndpoints, ...agentList];
    // The catalogue follows the OpenAPI document: its core routes must be there.
    const labels = cpEndpoints.map((e) => e.label);
    for (const route of [
      'POST /v1/tokens',
      'POST /v1/webhooks/{sourceId}',
      'GET /v1/decisions',
      'GET /readyz',
    ])
      expect(labels).toContain(route);

    const methodsOf = (list: Endpoint[]) => {
      const map = new Map<string, Set<string>>();
      for (const e of list) {
        const path = e.path.split('?')[0] as string;
        (map.get(path) ?? map.set(path, new Set()).get(path))?.add(e.method);
      }
      return map;
    };
    const cpCases = buildCases(cpEndpoints, CP_REQUESTS, rng, {
      adminToken: cp.adminToken,
      methodsByPath: methodsOf(cpEndpoints),
    });
    const agentCases = buildCases(agentList, AGENT_REQUESTS, rng, {
      adminToken: cp.adminToken,
      methodsByPath: methodsOf(agentList),
    });

    const started = performance.now();
    const stopDeciding = decideSteadily();
    const shipper = await shipSteadily(
      cp,
      (await createToken(cp, 'drill-steady-shipper', ['agent'])).token,
      STEADY,
    );
    const [cpOutcomes, agentOutcomes, socket, raw] = await Promise.all([
      flood(cp.url, cpCases, CONCURRENCY),
      flood(flooded.url, agentCases, CONCURRENCY),
      socketDrill(cp, tokens, new Prng(seed ^ 0x5eed)),
      Promise.all(
        [cp.url, flooded.url].flatMap((url) =>
          RAW_REQUESTS.map(async ({ name, bytes }) => ({
            target: url === cp.url ? 'cp' : 'agent',
            outcome: await sendRaw(url, name, bytes),
          })),
        ),
      ),
    ]);
    await stopDeciding();
    run.steadyBatches = await shipper.stop();
    run.ms = performance.now() - started;
    run.outcomes = [...cpOutcomes, ...agentOutcomes];
    run.socket = socket;
    run.raw = raw;

    const total =
      run.outcomes.length + raw.length + socket.handshakes + socket.events + socket.rawPackets;
    console.log(
      [
        `malformed-input drill (seed ${seed}): ${total} malformed requests in ${(run.ms / 1000).toFixed(1)} s`,
        `  HTTP: ${cpOutcomes.length} to the control plane, ${agentOutcomes.length} to the agent; raw TCP: ${raw.length}`,
        `  socket.io: ${socket.handshakes} bad handshakes (${JSON.stringify(socket.refusals)}), ${socket.events} junk events, ${socket.rawPackets} raw engine.io packets`,
        `  well-behaved meanwhile: ${run.steadyDecisions} decisions, ${run.steadyBatches.sent} records in log batches`,
        summaryTable([
          ...run.outcomes.map((o) => ({
            target: o.case.target,
            endpoint: o.case.endpoint,
            status: o.status,
          })),
          ...raw.map((r) => ({
            target: r.target,
            endpoint: '(raw TCP)',
            status: typeof r.outcome.status === 'number' ? r.outcome.status : ('reset' as const),
          })),
        ]),
      ].join('\n'),
    );

    expect(total).toBeGreaterThanOrEqual(10_000);
    const problems = run.outcomes
      .map((outcome) => ({ outcome, why: violation(outcome, REPO_ROOT) }))
      .filter((p) => p.why !== undefined)
      .map(({ outcome, why }) => describeProblem(outcome.case, why as string));
    expect(unique(problems).slice(0, 40)).toEqual([]);
  }, 240_000);

  it('answers protocol-level junk with a 4xx or a closed connection, never a 5xx or a hang', () => {
    const bad = run.raw.filter(
      ({ outcome }) =>
        outcome.status === 'timeout' ||
        (typeof outcome.status === 'number' && outcome.status >= 500),
    );
    expect(run.raw.length).toBe(RAW_REQUESTS.length * 2);
    expect(
      bad.map((b) => `${b.target} ${b.outcome.name}: ${b.outcome.status} ${b.outcome.text}`),
    ).toEqual([]);
  });

  it('refuses every malformed handshake and survives junk events on the agents namespace', () => {
    expect(run.socket).toBeDefined();
    expect(run.socket?.problems).toEqual([]);
    expect(run.socket?.events).toBeGreaterThan(100);
  });

  it('leaves both processes alive (the same control-plane process) and answering valid requests correctly', async () => {
    expect(flooded.alive()).toBe(true);
    expect(steady.alive()).toBe(true);
    expect(await metricValue(cp.url, 'stepgate_control_plane_process_start_time_seconds')).toBe(
      cpStartTime,
    );
    const decision = await flooded.decide(ALLOW.input);
    expect(decision.status).toBe(200);
    expect(decision.body.effect).toBe(ALLOW.effect);
    const versions = await api(cp.url, cp.adminToken, 'GET', '/v1/versions');
    expect(versions.status).toBe(200);
    expect(versions.body.versions.some((v: { active: boolean }) => v.active)).toBe(true);
    // /v1/check takes roles and groups from the policy data, never from the body: asked about
    // the same principal id alone, it must answer as the agent does for that input.
    const asked = {
      ...ALLOW.input,
      principal: { id: (ALLOW.input.principal as { id: string }).id },
    };
    const check = await api(cp.url, cp.adminToken, 'POST', '/v1/check', asked);
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    const same = await flooded.decide(asked);
    expect(same.status).toBe(200);
    expect(check.body.decision.effect).toBe(same.body.effect);
    expect((await flooded.readyz()).body.connected).toBe(true);
    expect(crashLines(cp.output())).toEqual([]);
    expect(crashLines(flooded.output())).toEqual([]);
  });

  it('stores every decision a well-behaved agent logged during the flood', async () => {
    expect(run.steadyDecisionErrors.slice(0, 10)).toEqual([]);
    expect(run.steadyBatches.problems.slice(0, 10)).toEqual([]);
    expect(run.steadyDecisions).toBeGreaterThan(50);
    const expected = run.steadyDecisions + run.steadyBatches.sent;
    let stored = 0;
    await waitFor(
      `all ${expected} well-behaved decisions in GET /v1/decisions`,
      async () => {
        stored = await countDecisions(cp, STEADY);
        return stored >= expected;
      },
      60_000,
      500,
    ).catch(async (error: Error) => {
      // Which sender lost records: each agent's count against what it was answered or acked.
      const senders = [
        ...run.steadyByAgent.entries(),
        [run.steadyBatches.agentId, run.steadyBatches.sent],
      ];
      const detail = await Promise.all(
        senders.map(
          async ([id, sent]) =>
            `${id}: sent ${sent}, stored ${await countDecisions(cp, STEADY, id as string)}`,
        ),
      );
      const clues = [flooded.output(), cp.output()]
        .join('\n')
        .split('\n')
        .filter((line) => /decision|log batch|dropped|refused/i.test(line))
        .slice(-15);
      throw new Error(
        `${error.message}: ${stored} stored (${detail.join('; ')})\n${clues.join('\n')}`,
      );
    });
    expect(stored).toBe(expected);
  }, 90_000);
});

async function countDecisions(
  on: ControlPlaneProcess,
  principal: string,
  agent?: string,
): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = await api(
      on.url,
      on.adminToken,
      'GET',
      `/v1/decisions?principal=${encodeURIComponent(principal)}${agent ? `&agent=${encodeURIComponent(agent)}` : ''}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (page.status !== 200) throw new Error(`GET /v1/decisions: ${page.status}`);
    count += page.body.decisions.length;
    cursor = page.body.nextCursor;
  } while (cursor);
  return count;
}

function describeProblem(item: DrillCase, why: string): string {
  return `${item.target} ${item.endpoint} [${item.kind}: ${item.variant}] ${item.method} ${item.path.slice(0, 80)} -> ${why}`;
}

/** One line per distinct problem (the same bug found many times is reported once, counted). */
function unique(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts.entries()].map(([line, n]) => (n > 1 ? `${line} (x${n})` : line));
}

const CRASH_SIGNS = [
  /uncaught/i,
  /unhandled ?rejection/i,
  /FATAL ERROR/,
  /"msg":"unhandled error"/,
];

/** Lines of a process's output that say it hit an error nobody expected. */
function crashLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => CRASH_SIGNS.some((sign) => sign.test(line)))
    .slice(0, 10);
}
