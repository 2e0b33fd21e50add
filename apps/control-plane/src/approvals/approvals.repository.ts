import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { Prisma } from '../generated/prisma/client.js';

/** What every read of a request carries: its approvals and the grant it turned into. */
const WITH_DETAILS = {
  approvals: { select: { approver: true, at: true, comment: true } },
  grant: { select: { id: true } },
} as const;

/** Approval requests and their approvals; `tx` joins the caller's transaction. */
@Injectable()
export class ApprovalsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.ApprovalRequestUncheckedCreateInput, tx?: Transaction) {
    return (tx ?? this.prisma).approvalRequest.create({ data, include: WITH_DETAILS });
  }

  list(where: Pick<Prisma.ApprovalRequestWhereInput, 'status' | 'requester'>, limit: number) {
    return this.prisma.approvalRequest.findMany({
      where,
      include: WITH_DETAILS,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  find(id: string, tx?: Transaction) {
    return (tx ?? this.prisma).approvalRequest.findUnique({ where: { id }, include: WITH_DETAILS });
  }

  /**
   * Locks the request's row until `tx` ends, so two decisions on it run one after the other;
   * false when there is no such request.
   */
  async lock(id: string, tx: Transaction): Promise<boolean> {
    const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM approval_request WHERE id = ${id} FOR UPDATE`;
    return locked.length > 0;
  }

  async close(
    id: string,
    data: Pick<
      Prisma.ApprovalRequestUncheckedUpdateInput,
      'status' | 'closedAt' | 'deniedBy' | 'denialComment'
    >,
    tx: Transaction,
  ): Promise<void> {
    await tx.approvalRequest.update({ where: { id }, data });
  }

  async addApproval(data: Prisma.ApprovalUncheckedCreateInput, tx: Transaction): Promise<void> {
    await tx.approval.create({ data });
  }

  /** Ids of pending requests past their expiry, at most `limit`. */
  async dueIds(now: Date, limit: number): Promise<string[]> {
    const due = await this.prisma.approvalRequest.findMany({
      where: { status: 'pending', expiresAt: { lte: now } },
      select: { id: true },
      take: limit,
    });
    return due.map((row) => row.id);
  }

  /** Expires the request if it is still pending and due; false when it was not (any more). */
  async expire(id: string, now: Date, tx: Transaction): Promise<boolean> {
    const { count } = await tx.approvalRequest.updateMany({
      where: { id, status: 'pending', expiresAt: { lte: now } },
      data: { status: 'expired', closedAt: now },
    });
    return count > 0;
  }
}
