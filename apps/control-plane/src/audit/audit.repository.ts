import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { AuditEvent, Prisma } from '../generated/prisma/client.js';

/** The audit log table: append and read, nothing else (it is append-only). */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** `tx`: inside the transaction of the change the row records, so both commit or neither. */
  async append(
    data: Prisma.AuditEventUncheckedCreateInput,
    tx: Pick<Transaction, 'auditEvent'> = this.prisma,
  ): Promise<void> {
    await tx.auditEvent.create({ data });
  }

  /** Newest first, in (at, id) order (the cursor's). */
  list(where: Prisma.AuditEventWhereInput, take: number): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({
      where,
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take,
    });
  }
}
