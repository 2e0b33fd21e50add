/**
 * The fleet view flags an agent reporting a revision the control plane never issued (issue 10,
 * Deliver 1: a rogue control plane's far-future bundle at revision 2000000000 made the fleet
 * look converged). Real control plane, real socket.io-client agents: an ack or a handshake
 * announcing such a revision is audited (`agent.unknown_revision`), counted in a metric,
 * listed in GET /v1/fleet `suspect`, flagged in GET /v1/agents, and never counts as converged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  startControlPlane,
  waitFor,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { createToken, ensureControlPlaneBuilt, metricValue } from '../control-plane/support.js';
import { agentTokenFor, connectAgent, getOk, waitForAgent, type FakeAgent } from './support.js';

const FORGED = 2_000_000_000;
let cp: ControlPlaneProcess;
let viewer: string;
let live: number;
const open: FakeAgent[] = [];

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  cp = await startControlPlane();
  viewer = (await createToken(cp, 'dashboard', ['viewer'])).token;
  // The seeded example policies are activated on start.
  await waitFor(
    'the seed version to be active',
    async () => (await api(cp.url, cp.adminToken, 'GET', '/v1/bundles/active')).status === 200,
    60_000,
    250,
  );
  live = (await getOk(cp, viewer, '/v1/fleet')).activeRevision;
}, 120_000);

afterAll(async () => {
  for (const agent of open) agent.close();
  await cp?.destroy();
});

async function agent(agentId: string, revisions: { active?: number } = {}): Promise<FakeAgent> {
  const connected = await connectAgent(cp, {
    token: await agentTokenFor(cp, agentId),
    agentId,
    revisions,
  });
  open.push(connected);
  return connected;
}

async function unknownRevisionEvents(agentId: string) {
  const response = await api(
    cp.url,
    cp.adminToken,
    'GET',
    '/v1/audit?action=agent.unknown_revision&limit=500',
  );
  expect(response.status).toBe(200);
  return (response.body.events as { target: string; details: Record<string, unknown> }[]).filter(
    (event) => event.target === `agent:${agentId}`,
  );
}

describe('an agent reporting a revision the control plane never issued', () => {
  it('acking revision 2000000000 is flagged, audited, counted, and the fleet is not converged', async () => {
    const honest = await agent('honest');
    await honest.next('bundle', (b) => b.kind === 'active');
    honest.ack('active', live);
    await waitFor('the honest fleet to converge', async () => {
      return (await getOk(cp, viewer, '/v1/fleet')).converged === true;
    });

    const forged = await agent('forged');
    forged.ack('active', FORGED);
    await waitForAgent(cp, viewer, 'forged', (row) => row.activeRevision === FORGED);

    const fleet = await getOk(cp, viewer, '/v1/fleet');
    expect(fleet.converged).toBe(false);
    expect(fleet.suspect).toEqual([
      { id: 'forged', kind: 'active', revision: FORGED, status: 'connected' },
    ]);
    const rows = (await getOk(cp, viewer, '/v1/agents')).agents as {
      id: string;
      suspect: boolean;
    }[];
    expect(rows.find((row) => row.id === 'forged')?.suspect).toBe(true);
    expect(rows.find((row) => row.id === 'honest')?.suspect).toBe(false);

    await waitFor(
      'the audit event',
      async () => (await unknownRevisionEvents('forged')).length > 0,
    );
    expect((await unknownRevisionEvents('forged'))[0]!.details).toMatchObject({
      kind: 'active',
      revision: FORGED,
      liveRevision: live,
      via: 'ack',
    });
    expect(await metricValue(cp.url, 'stepgate_agent_unknown_revisions_total')).toBeGreaterThan(0);
    expect(cp.output()).toContain('never issued');
  });

  it('announcing it in the handshake is flagged the same way', async () => {
    await agent('announcer', { active: FORGED });
    await waitFor(
      'the audit event',
      async () => (await unknownRevisionEvents('announcer')).length > 0,
    );
    expect((await unknownRevisionEvents('announcer'))[0]!.details).toMatchObject({
      kind: 'active',
      revision: FORGED,
      via: 'handshake',
    });
    const fleet = await getOk(cp, viewer, '/v1/fleet');
    expect(fleet.converged).toBe(false);
    expect(fleet.suspect).toContainEqual({
      id: 'announcer',
      kind: 'active',
      revision: FORGED,
      status: 'connected',
    });
  });

  it('an agent back on a real revision is no longer suspect', async () => {
    for (const id of ['forged', 'announcer']) {
      open.find((a) => a.id === id)?.close();
      const back = await agent(id, { active: live });
      back.ack('active', live);
      await waitForAgent(cp, viewer, id, (row) => row.activeRevision === live && !row.suspect);
    }
    await waitFor('the fleet to converge again', async () => {
      const fleet = await getOk(cp, viewer, '/v1/fleet');
      return fleet.converged === true && fleet.suspect.length === 0;
    });
  });
});
