import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { EnrolmentCode, Prisma } from '../generated/prisma/client.js';

/** One-time enrolment codes (stored as hashes). */
@Injectable()
export class EnrolmentCodesRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.EnrolmentCodeUncheckedCreateInput): Promise<EnrolmentCode> {
    return this.prisma.enrolmentCode.create({ data });
  }

  /** Newest first: a subject's (or everyone's) codes, all or only the usable ones at `now`. */
  list(query: { subject?: string; all: boolean; now: Date; limit: number }) {
    return this.prisma.enrolmentCode.findMany({
      where: {
        ...(query.subject ? { subject: query.subject } : {}),
        ...(query.all ? {} : { usedAt: null, expiresAt: { gt: query.now } }),
      },
      orderBy: { createdAt: 'desc' },
      take: query.limit,
    });
  }

  byId(id: string): Promise<EnrolmentCode | null> {
    return this.prisma.enrolmentCode.findUnique({ where: { id } });
  }

  byHash(codeHash: string): Promise<EnrolmentCode | null> {
    return this.prisma.enrolmentCode.findUnique({ where: { codeHash } });
  }

  async delete(id: string): Promise<void> {
    await this.prisma.enrolmentCode.delete({ where: { id } });
  }

  /** Uses the code if still unused and unexpired at `now`; false when it was not. */
  async use(id: string, now: Date): Promise<boolean> {
    const { count } = await this.prisma.enrolmentCode.updateMany({
      where: { id, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    return count > 0;
  }
}
