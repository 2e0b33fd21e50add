import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { Prisma, PipelineGate as PipelineGateRow } from '../generated/prisma/client.js';

export type { PipelineGateRow };

/** Pipeline gates and the webhook deliveries already received; `tx` joins a transaction. */
@Injectable()
export class PipelineGatesRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.PipelineGateUncheckedCreateInput, tx?: Transaction) {
    return (tx ?? this.prisma).pipelineGate.create({ data });
  }

  find(id: string) {
    return this.prisma.pipelineGate.findUnique({ where: { id } });
  }

  /**
   * Claims up to `limit` pending gates no replica holds, until `until`: a row another replica
   * is claiming at this instant is skipped (SKIP LOCKED), not waited for, so several replicas
   * poll the same table without working on one gate twice.
   */
  async claim(now: Date, until: Date, limit: number): Promise<PipelineGateRow[]> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE pipeline_gate SET claimed_until = ${until}
      WHERE id IN (
        SELECT id FROM pipeline_gate
        WHERE status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ${now})
        ORDER BY created_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    if (claimed.length === 0) return [];
    return this.prisma.pipelineGate.findMany({
      where: { id: { in: claimed.map((row) => row.id) } },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Saves what the gate still waits for and lets it go (`retryAt`: not before then). */
  async release(
    id: string,
    data: Pick<
      Prisma.PipelineGateUncheckedUpdateInput,
      'decision' | 'approvalRequestId' | 'reportAttempts' | 'lastError'
    >,
    retryAt: Date | null,
  ): Promise<void> {
    await this.prisma.pipelineGate.updateMany({
      where: { id, status: 'pending' },
      data: { ...data, claimedUntil: retryAt },
    });
  }

  /** Closes a pending gate; false when it was closed already. */
  async close(
    id: string,
    data: Pick<Prisma.PipelineGateUncheckedUpdateInput, 'status' | 'decision' | 'resolvedAt'> & {
      lastError?: string | null;
    },
    tx: Transaction,
  ): Promise<boolean> {
    const { count } = await tx.pipelineGate.updateMany({
      where: { id, status: 'pending' },
      data: { ...data, claimedUntil: null },
    });
    return count > 0;
  }

  /** Records a delivery id; false when it was recorded before (a replay). */
  recordDelivery(id: string, kind: string): Promise<boolean> {
    return this.prisma.pipelineDelivery
      .create({ data: { id, kind } })
      .then(() => true)
      .catch((error: { code?: string }) => {
        if (error.code === 'P2002') return false;
        throw error;
      });
  }

  /** Forgets a delivery whose processing failed, so GitHub's redelivery is processed. */
  async forgetDelivery(id: string): Promise<void> {
    await this.prisma.pipelineDelivery.delete({ where: { id } }).catch(() => undefined);
  }
}
