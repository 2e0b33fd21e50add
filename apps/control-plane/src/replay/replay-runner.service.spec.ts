import { compile, type CompiledPolicySet } from '@stepgate/policy';
import type { ReplayResult } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LiveDataRepository } from '../live-data/live-data.repository.js';
import type { VersionsRepository } from '../versions/versions.repository.js';
import type { ReplayRow } from './replay-evaluator.js';
import type { LogCursor, ReplayRecordsRepository } from './replay-records.repository.js';
import { ReplayRunnerService } from './replay-runner.service.js';
import type { ReplayRecord, ReplayRepository } from './replay.repository.js';

const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
levels:
  - name: pwd
  - name: mfa
`;

/** The candidate: docs stay readable, except for the EU agents' contractors. */
const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["docs:read"] }
rules:
  - name: read
    effect: allow
`;
const EU_FREEZE = `apiVersion: stepgate/v1
kind: Policy
name: eu-freeze
target: { actions: ["docs:read"] }
agents: { region: eu }
rules:
  - name: contractors
    effect: deny
    when: '"contractors" in principal.groups'
`;

function policySet(): CompiledPolicySet {
  const result = compile([
    { path: 'stepgate.yaml', content: SETTINGS },
    { path: 'docs.yaml', content: POLICY },
    { path: 'eu.yaml', content: EU_FREEZE },
  ]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policySet;
}

const START = Date.parse('2026-12-01T00:00:00.000Z');

/** Record n: agent eu-1 (labels region=eu), us-1, or gone-1 (deleted since) in turn. */
function rows(count: number): ReplayRow[] {
  return Array.from({ length: count }, (_, n) => {
    const principal = `user-${n}`;
    const groups = n % 10 === 0 ? ['contractors'] : ['staff'];
    return {
      id: `d-${String(n).padStart(6, '0')}`,
      at: new Date(START + n * 1000),
      agentId: ['eu-1', 'us-1', 'gone-1'][n % 3]!,
      effect: 'allow',
      failReason: null,
      principal,
      action: 'docs:read',
      resourceKind: 'doc',
      resourceId: `doc-${n}`,
      require: null,
      reasons: [{ policy: 'docs', rule: 'read', effect: 'allow' }],
      input: {
        principal: { id: principal, groups },
        action: 'docs:read',
        resource: { kind: 'doc', id: `doc-${n}` },
      },
      dataRevision: null,
      signals: null,
      replay: { version: 1 },
    };
  });
}

function isAfter(row: ReplayRow, cursor: LogCursor): boolean {
  const at = row.at.getTime();
  const c = cursor.at.getTime();
  return at > c || (at === c && row.id > cursor.id);
}

/** decision_log in memory, paged by (at, id) like the repository; it counts what is asked. */
class FakeRecords {
  readonly labelQueries: string[][] = [];
  pages = 0;

  constructor(private readonly log: ReplayRow[]) {}

  async count(): Promise<number> {
    return this.log.length;
  }

  async page(_window: unknown, cursor: LogCursor | null, limit: number): Promise<ReplayRow[]> {
    this.pages++;
    const rest = cursor === null ? this.log : this.log.filter((row) => isAfter(row, cursor));
    return rest.slice(0, limit);
  }

  async labels(agentIds: string[]): Promise<Map<string, Record<string, string>>> {
    // As the repository: no query for no agents.
    if (agentIds.length === 0) return new Map();
    this.labelQueries.push([...agentIds].sort());
    const known: Record<string, Record<string, string>> = {
      'eu-1': { region: 'eu' },
      'us-1': { region: 'us' },
    };
    return new Map(agentIds.filter((id) => known[id]).map((id) => [id, known[id]!]));
  }
}

/** The replay table in memory; `cancelAfter` pages, progress answers "cancelled". */
class FakeReplays {
  status = 'queued';
  read = 0;
  result: ReplayResult | null = null;
  partial: { read: number; result: ReplayResult } | null = null;
  private progressCalls = 0;

  constructor(
    private readonly set: CompiledPolicySet,
    private readonly cancelAfter = Infinity,
  ) {}

  async get(): Promise<ReplayRecord> {
    return {
      id: 'r1',
      status: this.status,
      since: new Date(START),
      until: new Date(START + 86400_000),
      filter: {},
      examples: 2,
      versionId: null,
      versionNumber: null,
      policySet: this.set,
    } as unknown as ReplayRecord;
  }

  async start(): Promise<boolean> {
    this.status = 'running';
    return true;
  }

  async progress(_id: string, read: number): Promise<boolean> {
    this.read = read;
    this.progressCalls++;
    if (this.progressCalls < this.cancelAfter) return true;
    this.status = 'cancelled';
    return false;
  }

  async finish(
    _id: string,
    status: string,
    read: number,
    result: ReplayResult | null,
    error: string | null,
  ): Promise<boolean> {
    if (error !== null) throw new Error(error);
    this.status = status;
    this.read = read;
    this.result = result;
    return true;
  }

  async keepPartial(_id: string, read: number, result: ReplayResult): Promise<void> {
    this.partial = { read, result };
  }
}

const silent = { info: () => undefined, warn: () => undefined } as unknown as Logger;

function runner(records: FakeRecords, replays: FakeReplays): ReplayRunnerService {
  return new ReplayRunnerService(
    replays as unknown as ReplayRepository,
    records as unknown as ReplayRecordsRepository,
    {} as VersionsRepository,
    { documentsAt: async () => ({}) } as unknown as LiveDataRepository,
    silent,
    // In process: the worker threads are tested on the built app (test/integration).
    { databaseUrl: 'postgresql://unused', replay: { workers: 1, minRecords: 0 } },
  );
}

describe('ReplayRunnerService', () => {
  it("pages through the window and decides each record with its agent's policies", async () => {
    const records = new FakeRecords(rows(2500));
    const replays = new FakeReplays(policySet());
    await runner(records, replays).run('r1', 1000);
    expect(replays.status).toBe('done');
    expect(records.pages).toBe(3);
    // Contractors are n % 10 == 0; the EU agent is n % 3 == 0: n % 30 == 0 changes.
    expect(replays.result?.totals).toEqual({
      records: 2500,
      replayed: 2500,
      changed: 84,
      notReplayable: 0,
    });
    const [change] = replays.result!.changes;
    expect(change).toMatchObject({ change: 'allow -> deny', count: 84 });
    expect(change!.examples.map((e) => e.decisionId)).toEqual(['d-000000', 'd-000030']);
    expect(change!.examples[0]).toEqual({
      decisionId: 'd-000000',
      at: '2026-12-01T00:00:00.000Z',
      principal: 'user-0',
      action: 'docs:read',
      resource: { kind: 'doc', id: 'doc-0' },
      before: { effect: 'allow', require: null },
      after: {
        effect: 'deny',
        require: null,
        reasons: [{ policy: 'eu-freeze', rule: 'contractors', effect: 'deny' }],
      },
    });
  });

  it('asks for each agent once, an agent deleted since included', async () => {
    const records = new FakeRecords(rows(2500));
    await runner(records, new FakeReplays(policySet())).run('r1', 1000);
    expect(records.labelQueries).toEqual([['eu-1', 'gone-1', 'us-1']]);
  });

  it('stops within two pages of a cancellation, keeping the partial report', async () => {
    const records = new FakeRecords(rows(5500));
    // Cancelled while the first page is decided: the first progress write answers so.
    const replays = new FakeReplays(policySet(), 1);
    await runner(records, replays).run('r1', 1000);
    expect(replays.status).toBe('cancelled');
    expect(replays.result).toBeNull();
    expect(replays.partial?.read).toBe(2000);
    expect(replays.partial?.result.totals.records).toBe(2000);
    expect(records.pages).toBeLessThanOrEqual(3);
  });
});
