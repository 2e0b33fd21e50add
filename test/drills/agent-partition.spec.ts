/**
 * Drill: two agents cut off from the control plane for longer than their `maxStaleness`.
 *
 * Each partitioned agent reaches the control plane through its own TCP proxy; cutting the proxy
 * resets the agent's socket and refuses its reconnects (a partition: both processes keep
 * running). With STEPGATE_MAX_STALENESS=10s, docs/architecture.md ("Failure behaviour") promises:
 * the cached bundle serves until it is older than maxStaleness, then the configured fail mode
 * (`closed` denies, `open` allows, with the reason on the decision); when the network heals, the
 * agent reconnects by itself with backoff and catches up by revision on what was pushed meanwhile,
 * and every decision it took reaches the control plane. A third agent, never partitioned, is the
 * control: it gets the push at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, decisionIdsOf, killAllAgents, removeTempDirs } from '../e2e/support.js';
import {
  activeRevisionOf,
  ALLOW,
  api,
  crashLines,
  decideNormally,
  DENY,
  pushPolicy,
  startDrill,
  taggedInput,
  TcpProxy,
  waitFor,
  waitForDecisionsStored,
  type Drill,
} from './support.js';

/**
 * Generous so that, even on a loaded machine, the first question after the cut is answered well
 * within it. The assertions hold whatever the timing: an answer is judged by when it was asked
 * and answered relative to the cut, never by how many fit in a window.
 */
const MAX_STALENESS_MS = 10_000;

let drill: Drill;
let proxies: TcpProxy[];
let closed: AgentProcess;
let open: AgentProcess;
let control: AgentProcess;
const decided = new Map<string, string[]>();

beforeAll(async () => {
  drill = await startDrill();
  proxies = await Promise.all([TcpProxy.start(drill.cp.url), TcpProxy.start(drill.cp.url)]);
  [closed, open, control] = await Promise.all([
    AgentProcess.start({
      name: 'partition-closed',
      url: proxies[0]!.url,
      token: await drill.tokenFor('drill-partition-closed'),
      agentId: 'drill-partition-closed',
      env: { STEPGATE_MAX_STALENESS: `${MAX_STALENESS_MS / 1000}s`, STEPGATE_FAIL_MODE: 'closed' },
    }),
    AgentProcess.start({
      name: 'partition-open',
      url: proxies[1]!.url,
      token: await drill.tokenFor('drill-partition-open'),
      agentId: 'drill-partition-open',
      env: { STEPGATE_MAX_STALENESS: `${MAX_STALENESS_MS / 1000}s`, STEPGATE_FAIL_MODE: 'open' },
    }),
    AgentProcess.start({
      name: 'partition-control',
      url: drill.cp.url,
      token: await drill.tokenFor('drill-partition-control'),
      agentId: 'drill-partition-control',
    }),
  ]);
  for (const agent of [closed, open]) decided.set(agent.agentId!, []);
  await waitFor('all three agents on the seed revision', async () =>
    (await Promise.all([closed, open, control].map((a) => a.readyz()))).every(
      (r) => r.body.connected === true && r.body.revision === drill.revision,
    ),
  );
}, 180_000);

afterAll(async () => {
  await killAllAgents();
  await Promise.all((proxies ?? []).map((p) => p.close()));
  await drill?.cp.destroy();
  removeTempDirs();
}, 60_000);

interface Answer {
  /** ms since the cut, when asked and when answered */
  at: number;
  done: number;
  effect: string;
  revision: number;
  failReason?: string;
  rule?: string;
  decisionId: string;
}

describe(`drill: agents partitioned for longer than maxStaleness (${MAX_STALENESS_MS / 1000} s)`, () => {
  it('the cache serves, then the fail mode applies; after the partition the agents reconnect, catch up and deliver every decision', async () => {
    for (const agent of [closed, open])
      decided.get(agent.agentId!)!.push(...(await decideNormally(agent, drill.revision)));

    for (const proxy of proxies) proxy.cut();
    const cutAt = Date.now();
    const answers = new Map<AgentProcess, Answer[]>([
      [closed, []],
      [open, []],
    ]);
    /** Asks a partitioned agent once and records when, relative to the cut. */
    const ask = async (agent: AgentProcess): Promise<Answer> => {
      // The closed agent is asked what it would normally allow, the open one what it would deny.
      const input = agent === closed ? ALLOW.input : DENY.input;
      const at = Date.now() - cutAt;
      const reply = await agent.decide(input);
      expect(reply.status, agent.name).toBe(200);
      const answer: Answer = {
        at,
        done: Date.now() - cutAt,
        effect: reply.body.effect,
        revision: reply.body.revision,
        failReason: reply.body.failReason,
        rule: reply.body.reasons?.[0]?.rule,
        decisionId: reply.body.decisionId,
      };
      answers.get(agent)!.push(answer);
      decided.get(agent.agentId!)!.push(answer.decisionId);
      return answer;
    };

    // When each agent was seen disconnected: its bundle was last known current at or before then.
    const noticed = new Map<AgentProcess, number>();
    await waitFor('both agents to notice the partition', async () => {
      for (const agent of [closed, open])
        if (!noticed.has(agent) && (await agent.readyz()).body.connected === false)
          noticed.set(agent, Date.now() - cutAt);
      return noticed.size === 2;
    });
    // At once, well within maxStaleness: the cache serves.
    for (const agent of [closed, open]) await ask(agent);

    // A push during the partition: the control agent gets it, the partitioned ones cannot.
    const pushed = await pushPolicy(drill, 'during-partition');
    expect(pushed.status, pushed.stderr).toBe(0);
    const revision = await activeRevisionOf(drill, pushed.sha);
    await waitFor('the control agent to enforce the push', async () => {
      const reply = await control.decide(taggedInput('during-partition'));
      return reply.body.effect === 'allow' && reply.body.revision === revision;
    });

    // Keep asking until both have gone stale (and once more after, to see it stays so).
    const staleSeen = new Map<AgentProcess, number>();
    await waitFor(
      'both partitioned agents to apply their fail mode',
      async () => {
        for (const agent of [closed, open]) {
          const answer = await ask(agent);
          if (answer.failReason === 'stale_bundle')
            staleSeen.set(agent, (staleSeen.get(agent) ?? 0) + 1);
        }
        return [closed, open].every((agent) => (staleSeen.get(agent) ?? 0) >= 2);
      },
      MAX_STALENESS_MS + 60_000,
      200,
    );
    const closedReadyz = await closed.readyz();

    for (const [agent, list] of answers) {
      const normal = agent === closed ? 'allow' : 'deny';
      const failed = agent === closed ? 'deny' : 'allow';
      const mode = agent === closed ? 'fail_closed' : 'fail_open';
      // The first answer came right after the cut: the cached bundle, as before the partition.
      expect(list[0], agent.name).toMatchObject({ effect: normal, revision: drill.revision });
      expect(list[0]!.failReason, agent.name).toBeUndefined();
      // Answered before maxStaleness had passed since the cut: the cache, whatever the load.
      for (const a of list.filter((a) => a.done <= MAX_STALENESS_MS)) {
        expect(a, agent.name).toMatchObject({ effect: normal, revision: drill.revision });
        expect(a.failReason, agent.name).toBeUndefined();
      }
      // Asked after maxStaleness had passed since the agent was seen disconnected: the fail mode.
      for (const a of list.filter((a) => a.at > noticed.get(agent)! + MAX_STALENESS_MS))
        expect(a, agent.name).toMatchObject({
          effect: failed,
          failReason: 'stale_bundle',
          rule: `${mode}/stale_bundle`,
        });
      // Either way it switched once and for all: no flapping back to the cache while partitioned.
      const firstStale = list.findIndex((a) => a.failReason === 'stale_bundle');
      expect(firstStale, agent.name).toBeGreaterThan(0);
      for (const a of list.slice(firstStale))
        expect(a, agent.name).toMatchObject({
          effect: failed,
          failReason: 'stale_bundle',
          rule: `${mode}/stale_bundle`,
        });
      // And never the push it could not have received.
      expect(list.every((a) => a.revision !== revision)).toBe(true);
      expect(list.every((a) => typeof a.decisionId === 'string')).toBe(true);
    }
    expect(closedReadyz).toMatchObject({
      status: 503,
      body: { ready: false, failReason: 'stale_bundle' },
    });

    // Heal; nobody restarts anything. Backoff may hold a reconnect for a while (max 30 s).
    for (const proxy of proxies) proxy.heal();
    const healedAt = Date.now();
    const reconnectedMs: number[] = [];
    await Promise.all(
      [closed, open].map((agent, i) =>
        waitFor(
          `${agent.name} to reconnect and catch up to r${revision}`,
          async () => {
            const reply = await agent.decide(taggedInput('during-partition'));
            if (reply.body.effect !== 'allow' || reply.body.revision !== revision) return false;
            reconnectedMs[i] = Date.now() - healedAt;
            return true;
          },
          45_000,
          100,
        ),
      ),
    );
    for (const agent of [closed, open]) {
      const ready = await agent.readyz();
      expect(ready.status, agent.name).toBe(200);
      expect(ready.body, agent.name).toMatchObject({ ready: true, connected: true, revision });
      expect(ready.body.failReason, agent.name).toBeUndefined();
      decided.get(agent.agentId!)!.push(...(await decideNormally(agent, revision)));
    }
    await waitFor('the fleet view to converge with all three connected', async () => {
      const view = (await api(drill.cp.url, drill.cp.adminToken, 'GET', '/v1/fleet')).body;
      return (
        view.converged === true && view.activeRevision === revision && view.agents.connected === 3
      );
    });

    // Every decision, from the cache or the fail mode, is in PostgreSQL.
    await waitForDecisionsStored(drill, decided, 'the partition', 30_000, 500);
    const held = await decisionIdsOf(drill.cp, drill.cp.adminToken, closed.agentId!);
    const stale = answers.get(closed)!.find((a) => a.failReason === 'stale_bundle')!;
    expect(held.get(stale.decisionId)).toMatchObject({ effect: 'deny' });
    console.log(
      `partition drill: reconnected ${reconnectedMs.join(' / ')} ms after healing; first stale answer at ${stale.at} ms`,
    );
  }, 240_000);

  it('no process exited or logged a crash', () => {
    for (const agent of [closed, open, control]) {
      expect(agent.alive(), agent.name).toBe(true);
      expect(crashLines(agent.output()), agent.name).toEqual([]);
    }
    expect(crashLines(drill.cp.output())).toEqual([]);
  });
});
