import { fleetSchema, versionSchema, type FleetView } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { STATUS_EXIT, statusCommand, type StatusReport } from './status-command.js';

const VERSION = versionSchema.parse({
  id: 'v7',
  number: 7,
  sourceId: 'embedded',
  sha: 'abcdef1234567890',
  branch: 'main',
  author: 'alice',
  message: 'm',
  committedAt: '2026-12-03T08:00:00Z',
  createdAt: '2026-12-03T08:00:00Z',
  status: 'ready',
  bundleHash: null,
  size: null,
  forcePush: false,
  pushedBy: null,
  protectionChanged: false,
  active: true,
  shadow: false,
  errorCount: 0,
  tests: null,
});

function fleet(overrides: Partial<FleetView> = {}): FleetView {
  return fleetSchema.parse({
    revision: 4,
    activeRevision: 4,
    shadowRevision: null,
    agents: { total: 2, connected: 2 },
    byRevision: [{ revision: 4, count: 2 }],
    converged: true,
    behind: [],
    suspect: [],
    propagation: { activatedAt: null, lastAckAt: null, seconds: null },
    data: { revision: 0, converged: true, behind: [] },
    ...overrides,
  });
}

const READY = {
  status: 'ready',
  checks: { database: { ok: true }, redis: { ok: true }, git: { ok: true } },
};

/** Runs `stepgate status --json` against canned answers by path. */
async function status(answers: Record<string, { status: number; body: unknown }>) {
  const fetch = (async (url: URL) => {
    const answer = answers[url.pathname] ?? { status: 404, body: { error: 'x', message: 'y' } };
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  }) as unknown as typeof globalThis.fetch;
  let out = '';
  let err = '';
  const exit = await statusCommand(
    { json: true, url: 'http://cp', token: 'sg_status_token' },
    {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
      fetch,
    },
  );
  return { exit, report: out === '' ? undefined : (JSON.parse(out) as StatusReport), err };
}

function healthy(overrides: Record<string, { status: number; body: unknown }> = {}) {
  return {
    '/healthz': { status: 200, body: { status: 'ok' } },
    '/readyz': { status: 200, body: READY },
    '/v1/fleet': { status: 200, body: fleet() },
    '/v1/versions': { status: 200, body: { versions: [VERSION] } },
    '/v1/approvals': { status: 200, body: { approvals: [] } },
    ...overrides,
  };
}

describe('stepgate status exit codes', () => {
  it('0 when ready, a version is active and the fleet converged', async () => {
    const { exit, report } = await status(healthy());
    expect(exit).toBe(STATUS_EXIT.healthy);
    expect(report).toMatchObject({ healthy: true, problems: [], pendingApprovals: 0 });
  });

  it('3 when /readyz answers 503, naming the failing check', async () => {
    const notReady = {
      status: 'not_ready',
      checks: { ...READY.checks, redis: { ok: false, error: 'ECONNREFUSED' } },
    };
    const { exit, report } = await status(healthy({ '/readyz': { status: 503, body: notReady } }));
    expect(exit).toBe(3);
    expect(report!.problems).toEqual(['control plane not ready: redis (ECONNREFUSED)']);
  });

  it('4 without an active version', async () => {
    const { exit } = await status(
      healthy({
        '/v1/fleet': { status: 200, body: fleet({ activeRevision: null, converged: false }) },
      }),
    );
    expect(exit).toBe(4);
  });

  it('5 when an agent is behind, suspect, or behind on live data', async () => {
    for (const broken of [
      fleet({ behind: [{ id: 'a1', activeRevision: 3 }], converged: false }),
      fleet({ suspect: [{ id: 'a2', kind: 'active', revision: 9, status: 'connected' }] }),
      fleet({ data: { revision: 2, converged: false, behind: [{ id: 'a3', dataRevision: 1 }] } }),
    ]) {
      const { exit, report } = await status(
        healthy({ '/v1/fleet': { status: 200, body: broken } }),
      );
      expect(exit).toBe(5);
      expect(report!.problems.join()).toMatch(/a1|a2|a3/);
    }
  });

  it('the worst reason wins, and a token that may not list approvals still gets a status', async () => {
    const { exit, report } = await status(
      healthy({
        '/v1/fleet': {
          status: 200,
          body: fleet({ activeRevision: null, behind: [{ id: 'a1', activeRevision: 3 }] }),
        },
        '/v1/approvals': { status: 403, body: { error: 'auth/forbidden', message: 'no' } },
      }),
    );
    expect(exit).toBe(4);
    expect(report!.problems).toHaveLength(2);
    expect(report!.pendingApprovals).toBeNull();
  });

  it('1 with {error, message} on stderr when the token is refused', async () => {
    const { exit, err } = await status(
      healthy({
        '/v1/fleet': { status: 401, body: { error: 'auth/unauthenticated', message: 'bad token' } },
      }),
    );
    expect(exit).toBe(1);
    expect(JSON.parse(err)).toEqual({ error: 'auth/unauthenticated', message: 'bad token' });
  });
});
