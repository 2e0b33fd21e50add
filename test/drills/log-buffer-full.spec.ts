/**
 * Drill: an agent with a 50-record log buffer keeps deciding while cut off from the control
 * plane, far past what the buffer holds.
 *
 * docs/architecture.md ("Failure behaviour"): a full decision-log buffer drops the oldest records
 * and ships the count with the next batch. So: every decision is still answered at once (the buffer never
 * blocks the hot path), the agent's metrics show the buffer full and how many it dropped, after
 * the partition heals the NEWEST records reach PostgreSQL and the dropped ones never do, and the
 * control plane learns the dropped count from the next batch (its metric and a warning).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, decisionIdsOf, killAllAgents, removeTempDirs } from '../e2e/support.js';
import {
  ALLOW,
  crashLines,
  decideNormally,
  metricValue,
  startDrill,
  TcpProxy,
  waitFor,
  type Drill,
} from './support.js';

const CAPACITY = 50;
const OFFLINE_DECISIONS = 600;
const DROPPED_METRIC = 'stepgate_decision_logs_dropped_by_agents_total';

let drill: Drill;
let proxy: TcpProxy;
let agent: AgentProcess;

beforeAll(async () => {
  drill = await startDrill();
  proxy = await TcpProxy.start(drill.cp.url);
  agent = await AgentProcess.start({
    name: 'small-buffer',
    url: proxy.url,
    token: await drill.tokenFor('drill-small-buffer'),
    agentId: 'drill-small-buffer',
    env: { STEPGATE_LOG_BUFFER: String(CAPACITY) },
  });
  await waitFor('the agent on the seed revision', async () => {
    const ready = await agent.readyz();
    return ready.body.connected === true && ready.body.revision === drill.revision;
  });
}, 180_000);

afterAll(async () => {
  await killAllAgents();
  await proxy?.close();
  await drill?.cp.destroy();
  removeTempDirs();
}, 60_000);

describe(`drill: ${OFFLINE_DECISIONS} decisions offline into a ${CAPACITY}-record log buffer`, () => {
  it('never blocks, drops the oldest and says how many, and delivers the newest after reconnecting', async () => {
    // Start from an empty buffer: what was decided while connected is in PostgreSQL.
    const before = await decideNormally(agent, drill.revision, 2);
    await waitFor('the connected decisions in PostgreSQL', async () => {
      const held = await decisionIdsOf(drill.cp, drill.cp.adminToken, agent.agentId!);
      return before.every((id) => held.has(id));
    });
    await waitFor(
      'an empty buffer',
      async () => (await agent.metric('stepgate_agent_log_buffer_records')) === 0,
    );
    expect(await metricValue(drill.cp.url, DROPPED_METRIC)).toBe(0);

    proxy.cut();
    await waitFor(
      'the agent to notice',
      async () => (await agent.readyz()).body.connected === false,
    );
    const offline: string[] = [];
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < OFFLINE_DECISIONS; i++) {
      const asked = performance.now();
      const reply = await agent.decide(ALLOW.input);
      latencies.push(performance.now() - asked);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ effect: 'allow', revision: drill.revision });
      offline.push(reply.body.decisionId);
    }
    const elapsed = performance.now() - started;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    // No decision waited on the full buffer (or anything else): HTTP round trips on loopback.
    expect(p99).toBeLessThan(100);
    expect(latencies.at(-1)!).toBeLessThan(1000);

    // The buffer is full, holds exactly its capacity, and counts what it dropped.
    expect(await agent.metric('stepgate_agent_log_buffer_records')).toBe(CAPACITY);
    expect(await agent.metric('stepgate_agent_log_records_dropped_total')).toBe(
      OFFLINE_DECISIONS - CAPACITY,
    );
    expect((await agent.readyz()).status).toBe(200);

    proxy.heal();
    const healedAt = Date.now();
    const newest = offline.slice(-CAPACITY);
    const oldest = offline.slice(0, -CAPACITY);
    await waitFor(
      'the newest records in PostgreSQL',
      async () => {
        const held = await decisionIdsOf(drill.cp, drill.cp.adminToken, agent.agentId!);
        return newest.every((id) => held.has(id));
      },
      45_000,
      250,
    );
    const deliveredMs = Date.now() - healedAt;
    await waitFor(
      'the buffer to drain',
      async () => (await agent.metric('stepgate_agent_log_buffer_records')) === 0,
    );
    const held = await decisionIdsOf(drill.cp, drill.cp.adminToken, agent.agentId!);
    expect(oldest.filter((id) => held.has(id))).toEqual([]);
    expect(held.size).toBe(before.length + CAPACITY);

    // The control plane was told how many were dropped, in the batch that followed.
    await waitFor(
      'the dropped count on the control plane',
      async () => (await metricValue(drill.cp.url, DROPPED_METRIC)) === oldest.length,
      15_000,
    );
    const warning = drill.cp
      .output()
      .split('\n')
      .filter((line) => line.includes('agent dropped decision records'))
      .map((line) => JSON.parse(line) as { agentId: string; dropped: number });
    expect(warning).toEqual([
      expect.objectContaining({ agentId: agent.agentId, dropped: oldest.length }),
    ]);
    console.log(
      `log buffer drill: ${OFFLINE_DECISIONS} offline decisions in ${elapsed.toFixed(0)} ms (p99 ${p99.toFixed(1)} ms); newest ${CAPACITY} in PostgreSQL ${deliveredMs} ms after healing`,
    );
  }, 120_000);

  it('no process exited or logged a crash', () => {
    expect(agent.alive()).toBe(true);
    expect(crashLines(agent.output())).toEqual([]);
    expect(crashLines(drill.cp.output())).toEqual([]);
  });
});
