import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import { Prisma, type LiveDataChange, type LiveDocument } from '../generated/prisma/client.js';

/** The singleton LiveDataState row (its migration creates it). */
const ROW = { id: 1 } as const;

/**
 * Writers queue on the revision row lock: on a busy machine the last of many concurrent writes
 * may wait seconds for it, which Prisma's 5 s default would turn into a failure.
 */
const WRITE_TIMEOUTS = { maxWait: 10_000, timeout: 30_000 };

export type LiveDataOp = 'put' | 'patch' | 'delete';

/** A document as stored; a document without a row reads as its declared default. */
export type StoredDocument = Pick<
  LiveDocument,
  'name' | 'value' | 'revision' | 'updatedBy' | 'updatedAt'
>;

/** What a write leaves: a new value, or `reset` back to the default (the row is removed). */
export interface PlannedWrite {
  op: LiveDataOp;
  key: string | null;
  before: unknown;
  /** The value the document has afterwards (its default after a reset). */
  after: unknown;
  reset: boolean;
  changed: string[];
}

export interface AppliedWrite extends PlannedWrite {
  revision: number;
}

/** JSON null is a value here, never "no value": Prisma spells it JsonNull. */
function json(value: unknown): Prisma.InputJsonValue | typeof Prisma.JsonNull {
  return value === null ? Prisma.JsonNull : (value as Prisma.InputJsonValue);
}

/**
 * The one owner of the live-data revision and of the documents' rows and history. Every write
 * runs in one transaction that first bumps the revision (the row lock serialises writers, on
 * every replica, so each sees the value the previous one left and revisions have no gaps), then
 * writes the document, its history row and whatever `record` adds (the audit row).
 */
@Injectable()
export class LiveDataRepository {
  constructor(private readonly prisma: PrismaService) {}

  async revision(): Promise<number> {
    const row = await this.prisma.liveDataState.findUnique({ where: ROW });
    return row?.revision ?? 0;
  }

  async document(name: string): Promise<StoredDocument | null> {
    return this.prisma.liveDocument.findUnique({ where: { name } });
  }

  /** The revision and the stored documents among `names`, read in one snapshot. */
  async documents(names: string[]): Promise<{ revision: number; rows: StoredDocument[] }> {
    return this.prisma.$transaction(
      async (tx) => {
        const state = await tx.liveDataState.findUnique({ where: ROW });
        const rows = await tx.liveDocument.findMany({ where: { name: { in: names } } });
        return { revision: state?.revision ?? 0, rows };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
    );
  }

  /** The names written after `revision`, with the revision they are read at, in one snapshot. */
  async changedSince(revision: number): Promise<{ revision: number; names: string[] }> {
    return this.prisma.$transaction(
      async (tx) => {
        const state = await tx.liveDataState.findUnique({ where: ROW });
        const changes = await tx.liveDataChange.findMany({
          where: { revision: { gt: revision } },
          distinct: ['name'],
          select: { name: true },
        });
        return { revision: state?.revision ?? 0, names: changes.map((change) => change.name) };
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
    );
  }

  /** Newest first, older than `before` when given. */
  history(name: string, limit: number, before?: number): Promise<LiveDataChange[]> {
    return this.prisma.liveDataChange.findMany({
      where: { name, ...(before === undefined ? {} : { revision: { lt: before } }) },
      orderBy: { revision: 'desc' },
      take: limit,
    });
  }

  /**
   * Every document written up to data revision `revision`, as it was then (the last write at
   * or below it, a reset included); documents not among them read as their defaults. From the
   * history, through its (name, revision) index: one row per document.
   */
  async documentsAt(revision: number): Promise<Record<string, unknown>> {
    // DISTINCT ON in SQL: Prisma's `distinct` would read every row and drop duplicates itself.
    const rows = await this.prisma.$queryRaw<{ name: string; after: unknown }[]>`
      SELECT DISTINCT ON (name) name, after FROM live_data_change
      WHERE revision <= ${revision} ORDER BY name, revision DESC`;
    return Object.fromEntries(rows.map((row) => [row.name, row.after]));
  }

  /**
   * Writes document `name` at the next revision. `plan` sees the stored row as it is under the
   * revision lock and returns the write, or throws to refuse it (nothing changes then, the
   * revision included).
   */
  write(
    name: string,
    actor: string,
    reason: string,
    plan: (current: StoredDocument | null) => PlannedWrite,
    record: (tx: Transaction, applied: AppliedWrite) => Promise<void>,
  ): Promise<AppliedWrite> {
    return this.prisma.$transaction(async (tx) => {
      const state = await tx.liveDataState.update({
        where: ROW,
        data: { revision: { increment: 1 } },
      });
      const current = await tx.liveDocument.findUnique({ where: { name } });
      const planned = plan(current);
      const applied: AppliedWrite = { ...planned, revision: state.revision };
      if (planned.reset) await tx.liveDocument.deleteMany({ where: { name } });
      else
        await tx.liveDocument.upsert({
          where: { name },
          create: { name, value: json(planned.after), revision: state.revision, updatedBy: actor },
          update: { value: json(planned.after), revision: state.revision, updatedBy: actor },
        });
      await tx.liveDataChange.create({
        data: {
          revision: state.revision,
          name,
          key: planned.key,
          op: planned.op,
          before: json(planned.before),
          after: json(planned.after),
          changed: planned.changed,
          actor,
          reason,
        },
      });
      await record(tx, applied);
      return applied;
    }, WRITE_TIMEOUTS);
  }
}
