import { Injectable } from '@nestjs/common';
import {
  StepgateError,
  type ActivationHeld,
  type VersionDetail,
  type VersionReplaySummary,
  type VersionView,
} from '@stepgate/protocol';
import type { PolicyVersion } from '../generated/prisma/client.js';
import { LiveStateRepository, type LiveState } from '../live-state/live-state.repository.js';
import { activationGateOf, activationHold, replaySummary } from './version-impact.js';
import { VersionReplayRepository } from './version-replay.repository.js';
import { VersionsRepository } from './versions.repository.js';

type VersionRow = PolicyVersion;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads versions and the live state; all writes go through ActivationService or the sync. */
@Injectable()
export class VersionsService {
  constructor(
    private readonly repository: VersionsRepository,
    private readonly liveStateRepository: LiveStateRepository,
    private readonly replays: VersionReplayRepository,
  ) {}

  liveState(): Promise<LiveState> {
    return this.liveStateRepository.current();
  }

  /** A version by number (`12`), id (uuid) or sha prefix (7+ hex characters). */
  async resolve(ref: string): Promise<VersionRow> {
    const text = ref.trim();
    let rows: VersionRow[] = [];
    if (/^\d{1,9}$/.test(text)) {
      rows = await this.repository.find({ number: Number(text) });
    } else if (UUID.test(text)) {
      rows = await this.repository.find({ id: text.toLowerCase() });
    } else if (/^[0-9a-f]{7,40}$/i.test(text)) {
      rows = await this.repository.find({ shaPrefix: text.toLowerCase() }, 2);
      if (rows.length > 1)
        throw new StepgateError(
          'version/conflict',
          `sha prefix ${text} matches several versions; give more characters`,
        );
    } else {
      throw new StepgateError(
        'request/invalid',
        `"${ref}" is not a version reference (use a version number, an id or a sha prefix of 7+ characters)`,
      );
    }
    const row = rows[0];
    if (!row) throw new StepgateError('version/not_found', `no version ${ref}`);
    return row;
  }

  async list(limit: number, status?: 'ready' | 'failed'): Promise<VersionView[]> {
    const [rows, live] = await Promise.all([this.repository.list(limit, status), this.liveState()]);
    return rows.map((row) => this.view(row, live));
  }

  async detail(ref: string): Promise<VersionDetail> {
    const [row, live] = await Promise.all([this.resolve(ref), this.liveState()]);
    return {
      ...this.view(row, live),
      // Written by the sync from the compiler's CompileError list (versionErrorSchema).
      errors: (row.errors as VersionDetail['errors'] | null) ?? [],
      testReport: row.testReport ?? null,
      ...(await this.impact(row)),
    };
  }

  /**
   * The replay the sync ran of a version, and why the activation gate holds it (never once it
   * has been active: an operator decided).
   */
  async impact(row: {
    id: string;
    status: string;
    policySet: unknown;
  }): Promise<{ replay: VersionReplaySummary | null; activationHeld: ActivationHeld | null }> {
    if (row.status !== 'ready') return { replay: null, activationHeld: null };
    const found = await this.replays.latestSyncReplay(row.id);
    const replay = found ? replaySummary(found) : null;
    const gate = activationGateOf(row.policySet);
    const held =
      gate && !(await this.liveStateRepository.everActivated(row.id))
        ? activationHold(gate, replay)
        : null;
    return { replay, activationHeld: held };
  }

  view(row: VersionRow, live: LiveState): VersionView {
    const errors = Array.isArray(row.errors) ? row.errors : [];
    const report = row.testReport as { passed?: number; failed?: number } | null;
    return {
      id: row.id,
      number: row.number,
      sourceId: row.sourceId,
      sha: row.sha,
      branch: row.branch,
      author: row.author,
      message: row.message,
      committedAt: row.committedAt.toISOString(),
      createdAt: row.createdAt.toISOString(),
      status: row.status as 'ready' | 'failed',
      bundleHash: row.bundleHash,
      size: row.size,
      forcePush: row.forcePush,
      pushedBy: row.pushedBy,
      protectionChanged: row.protectionChanged,
      active: row.id === live.activeVersionId,
      shadow: row.id === live.shadowVersionId,
      errorCount: errors.length,
      tests:
        report && typeof report.passed === 'number'
          ? { passed: report.passed, failed: report.failed ?? 0 }
          : null,
    };
  }
}
