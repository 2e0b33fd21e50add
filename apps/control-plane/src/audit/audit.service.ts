import { Injectable } from '@nestjs/common';
import type { AuditEventView } from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';

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
  constructor(private readonly prisma: PrismaService) {}

  async record(
    event: AuditRecord,
    tx: Pick<PrismaService, 'auditEvent'> = this.prisma,
  ): Promise<void> {
    await tx.auditEvent.create({
      data: {
        actor: event.actor,
        action: event.action,
        target: event.target ?? null,
        reason: event.reason ?? null,
        ...(event.details ? { details: event.details as object } : {}),
      },
    });
  }

  async list(limit: number, action?: string): Promise<AuditEventView[]> {
    const rows = await this.prisma.auditEvent.findMany({
      where: action ? { action } : {},
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
    });
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
