import { Injectable } from '@nestjs/common';
import type { AuditEventView } from '@stepgate/protocol';
import type { Transaction } from '../database/transaction.js';
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

  async list(limit: number, action?: string): Promise<AuditEventView[]> {
    const rows = await this.repository.list(limit, action);
    return rows.map((row) => ({
      id: row.id,
      at: row.at.toISOString(),
      actor: row.actor,
      action: row.action,
      target: row.target,
      reason: row.reason,
      details: row.details ?? null,
    }));
  }
}
