import { Injectable } from '@nestjs/common';
import type { AuditQuery, AuditResponse } from '@stepgate/protocol';
import { decodeCursor, encodeCursor, olderThan } from '../common/keyset-cursor.js';
import type { Transaction } from '../database/transaction.js';
import type { Prisma } from '../generated/prisma/client.js';
import { AuditRepository } from './audit.repository.js';

export interface AuditRecord {
  actor: string;
  action: string;
  target?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** Append-only record of every privileged action: who, what, on what, why. */
@Injectable()
export class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  /** `tx`: inside the transaction of the change it records, so both commit or neither. */
  async record(event: AuditRecord, tx?: Pick<Transaction, 'auditEvent'>): Promise<void> {
    await this.repository.append(
      {
        actor: event.actor,
        action: event.action,
        target: event.target ?? null,
        reason: event.reason ?? null,
        ...(event.details ? { details: event.details as object } : {}),
      },
      tx,
    );
  }

  /** Newest first; `nextCursor` continues with older events (stable under concurrent appends). */
  async list(query: AuditQuery): Promise<AuditResponse> {
    const rows = await this.repository.list(auditWhere(query), query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        target: row.target,
        reason: row.reason,
        details: row.details ?? null,
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
  }
}

/** Exact text, or a prefix when it ends in `*`. */
function text(value: string): string | { startsWith: string } {
  return value.endsWith('*') ? { startsWith: value.slice(0, -1) } : value;
}

function auditWhere(query: AuditQuery): Prisma.AuditEventWhereInput {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (query.from || query.to) {
    and.push({
      at: {
        ...(query.from ? { gte: new Date(query.from) } : {}),
        ...(query.to ? { lt: new Date(query.to) } : {}),
      },
    });
  }
  if (query.action) and.push({ action: text(query.action) });
  if (query.actor) and.push({ actor: text(query.actor) });
  if (query.cursor) and.push(olderThan(decodeCursor(query.cursor)));
  return and.length > 0 ? { AND: and } : {};
}
