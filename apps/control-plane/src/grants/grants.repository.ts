import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { Grant, Prisma } from '../generated/prisma/client.js';

/** Signed grants as stored; `tx` joins the caller's transaction (an approval, an audit row). */
@Injectable()
export class GrantsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Elevation grants of `subject` in force at `now` (authenticated since `authSince`, if given). */
  countElevationsInForce(
    subject: string,
    now: Date,
    tx?: Transaction,
    authSince?: Date,
  ): Promise<number> {
    return (tx ?? this.prisma).grant.count({
      where: {
        subject,
        kind: 'elevation',
        revokedAt: null,
        expiresAt: { gt: now },
        ...(authSince ? { authTime: { gte: authSince } } : {}),
      },
    });
  }

  create(data: Prisma.GrantUncheckedCreateInput, tx?: Transaction): Promise<Grant> {
    return (tx ?? this.prisma).grant.create({ data });
  }

  /** A subject's grants in force at `now`, oldest first. */
  inForceFor(subject: string, now: Date): Promise<Grant[]> {
    return this.prisma.grant.findMany({
      where: { subject, revokedAt: null, expiresAt: { gt: now } },
      orderBy: { issuedAt: 'asc' },
    });
  }

  /** A subject's grants, newest first: those in force at `now`, or all of them. */
  list(subject: string, options: { all: boolean; now: Date; limit: number }): Promise<Grant[]> {
    return this.prisma.grant.findMany({
      where: {
        subject,
        ...(options.all ? {} : { revokedAt: null, expiresAt: { gt: options.now } }),
      },
      orderBy: [{ issuedAt: 'desc' }, { id: 'desc' }],
      take: options.limit,
    });
  }

  byId(id: string): Promise<Grant | null> {
    return this.prisma.grant.findUnique({ where: { id } });
  }

  /** Revokes a grant not yet revoked; false when it already was (two revocations record one). */
  async revoke(id: string, by: string, tx?: Transaction): Promise<boolean> {
    const { count } = await (tx ?? this.prisma).grant.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: new Date(), revokedBy: by },
    });
    return count > 0;
  }

  /** The signed grants in force at `now`, latest expiry first, at most `limit`. */
  async jwsInForce(now: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.grant.findMany({
      where: { revokedAt: null, expiresAt: { gt: now } },
      select: { jws: true },
      orderBy: { expiresAt: 'desc' },
      take: limit,
    });
    return rows.map((row) => row.jws);
  }
}
