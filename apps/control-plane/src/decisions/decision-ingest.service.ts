import { Inject, Injectable } from '@nestjs/common';
import type { DecisionRecord } from '@stepgate/protocol';
import type { Logger } from 'pino';
import type { Prisma } from '../generated/prisma/client.js';
import { isDatabaseUnavailable } from '../common/database-errors.js';
import { LOGGER } from '../logging/logger.js';
import { DecisionMetrics } from './decision.metrics.js';
import { DecisionsRepository } from './decisions.repository.js';
import type { DecisionLogJobs } from './decision-logs.queue.js';

const PRUNE_CHUNK = 5000;
const PROBE_TIMEOUT_MS = 3000;

/** The row of one decision record. */
export function decisionRow(
  agentId: string,
  record: DecisionRecord,
): Prisma.DecisionLogCreateManyInput {
  const row: Prisma.DecisionLogCreateManyInput = {
    id: record.decisionId,
    at: new Date(record.at),
    agentId,
    revision: record.revision,
    effect: record.effect,
    failReason: record.failReason ?? null,
    principal: record.principal,
    action: record.action,
    resourceKind: record.resource.kind,
    resourceId: record.resource.id,
    reasons: record.reasons,
    errors: record.errors ?? 0,
    durationNs: BigInt(record.durationNs),
  };
  if (record.require) row.require = record.require;
  if (record.dataRevision !== undefined) row.dataRevision = record.dataRevision;
  if (record.signals !== undefined) row.signals = record.signals;
  if (record.input) row.input = record.input as Prisma.InputJsonObject;
  if (record.replay) row.replay = record.replay as Prisma.InputJsonObject;
  if (record.shadow) {
    row.shadowEffect = record.shadow.effect;
    row.shadowRevision = record.shadow.revision;
    row.shadowReasons = record.shadow.reasons;
  }
  return row;
}

/** One record as a `jsonb_to_recordset` row (absent keys become SQL NULL, as in decisionRow). */
function recordsetRow(agentId: string, record: DecisionRecord): Record<string, unknown> {
  return {
    id: record.decisionId,
    at: record.at,
    agent_id: agentId,
    revision: record.revision,
    effect: record.effect,
    fail_reason: record.failReason,
    principal: record.principal,
    action: record.action,
    resource_kind: record.resource.kind,
    resource_id: record.resource.id,
    require: record.require,
    reasons: record.reasons,
    shadow_effect: record.shadow?.effect,
    shadow_revision: record.shadow?.revision,
    shadow_reasons: record.shadow?.reasons,
    data_revision: record.dataRevision,
    signals: record.signals,
    input: record.input,
    errors: record.errors ?? 0,
    duration_ns: record.durationNs,
    replay: record.replay,
  };
}

/** PostgreSQL refuses NUL in text and jsonb; agents may log whatever callers sent. */
function withoutNul<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'string' ? v.replaceAll('\0', '') : v,
    ),
  ) as T;
}

/** SQLSTATE class 22 (data exception): the row, not the database, is the problem. */
function isDataError(error: unknown): boolean {
  const text = `${(error as { code?: unknown }).code ?? ''} ${(error as Error).message ?? ''}`;
  return /\b22[0-9A-Z]{3}\b|unsupported Unicode escape|out of range|invalid byte sequence/i.test(
    text,
  );
}

/** Writes decision-log batches into PostgreSQL and deletes them after retention. */
@Injectable()
export class DecisionIngestService {
  constructor(
    private readonly repository: DecisionsRepository,
    private readonly metrics: DecisionMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Every record of `batches` in one statement (one round trip, one commit). Throws whatever
   * the database says, for the caller to tell an outage (hold and retry) from a bad record
   * (`ingest` batch by batch, which isolates it). Idempotent like `ingest`.
   */
  async ingestMany(
    batches: DecisionLogJobs['ingest'][],
  ): Promise<{ inserted: number; skipped: number }> {
    const rows: Record<string, unknown>[] = [];
    for (const batch of batches)
      for (const record of batch.records) rows.push(recordsetRow(batch.agentId, record));
    const inserted = await this.repository.insertRows(rows);
    const skipped = rows.length - inserted;
    this.metrics.ingested.inc(inserted);
    if (skipped > 0) this.metrics.duplicates.inc(skipped);
    for (const batch of batches) this.noteDropped(batch);
    return { inserted, skipped };
  }

  /** Idempotent: records already stored (same decision id) are skipped. */
  async ingest(batch: DecisionLogJobs['ingest']): Promise<{ inserted: number; skipped: number }> {
    let inserted: number;
    let refused = 0;
    try {
      inserted = await this.repository.insertRows(
        batch.records.map((record) => recordsetRow(batch.agentId, record)),
      );
    } catch (error) {
      // Not only data exceptions: PostgreSQL refuses jsonb nested past its stack depth (54001),
      // which Prisma reports without a code. Only an outage is retried as a whole batch.
      if (isDatabaseUnavailable(error)) throw error;
      // One bad row must not poison the batch (the job would retry forever): insert one by one.
      ({ inserted, refused } = await this.insertEach(batch.agentId, batch.records));
    }
    const skipped = batch.records.length - inserted - refused;
    this.metrics.ingested.inc(inserted);
    if (skipped > 0) this.metrics.duplicates.inc(skipped);
    this.noteDropped(batch);
    return { inserted, skipped };
  }

  /** True when PostgreSQL answers a trivial query within a few seconds. */
  async reachable(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.repository.ping().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private noteDropped(batch: DecisionLogJobs['ingest']): void {
    if (batch.dropped === 0) return;
    this.metrics.droppedByAgents.inc(batch.dropped);
    this.logger.warn(
      { agentId: batch.agentId, dropped: batch.dropped },
      'agent dropped decision records (its log buffer was full)',
    );
  }

  private async insertEach(
    agentId: string,
    records: DecisionRecord[],
  ): Promise<{ inserted: number; refused: number }> {
    let inserted = 0;
    let refused = 0;
    const insert = async (record: DecisionRecord) =>
      this.repository.insertOne(decisionRow(agentId, withoutNul(record)));
    for (const record of records) {
      try {
        inserted += await insert(record);
      } catch (first) {
        let error = first;
        if (isDatabaseUnavailable(error)) throw error;
        if (record.input !== undefined) {
          // The logged input is what the database could not hold (e.g. nested too deep):
          // the decision itself is kept without it.
          const { input: _dropped, ...decision } = record;
          try {
            inserted += await insert(decision);
            this.logger.warn(
              { agentId, decisionId: record.decisionId },
              'decision record stored without its input (the database refused the input)',
            );
            continue;
          } catch (second) {
            error = second;
          }
        }
        if (!isDataError(error)) throw error;
        refused += 1;
        this.metrics.invalid.inc();
        this.logger.warn(
          {
            agentId,
            decisionId: record.decisionId,
            error: (error as Error).message.split('\n')[0],
          },
          'decision record refused by the database',
        );
      }
    }
    return { inserted, refused };
  }

  /** Deletes decisions older than `retentionSeconds`, in chunks so no lock is held for long. */
  async prune(retentionSeconds: number, now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - retentionSeconds * 1000);
    let total = 0;
    for (;;) {
      const deleted = await this.repository.pruneChunk(cutoff, PRUNE_CHUNK);
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
    }
    if (total > 0) {
      this.metrics.pruned.inc(total);
      this.logger.info({ deleted: total, before: cutoff.toISOString() }, 'pruned decision logs');
    }
    return total;
  }
}
