import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { PolicyVersion } from '../generated/prisma/client.js';

/** How a caller named a version: by number, by id, or by a sha prefix. */
export type VersionRef = { number: number } | { id: string } | { shaPrefix: string };

function where(ref: VersionRef) {
  if ('number' in ref) return { number: ref.number };
  if ('id' in ref) return { id: ref.id };
  return { sha: { startsWith: ref.shaPrefix } };
}

/** Reads of policy versions (the sync writes them, through its own repository). */
@Injectable()
export class VersionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(ref: VersionRef, take?: number): Promise<PolicyVersion[]> {
    return this.prisma.policyVersion.findMany({
      where: where(ref),
      ...(take ? { take } : {}),
    });
  }

  /** The numbers of the versions `ref` names, without loading their policy sets. */
  async numbers(ref: VersionRef, take: number): Promise<number[]> {
    const rows = await this.prisma.policyVersion.findMany({
      where: where(ref),
      select: { number: true },
      take,
    });
    return rows.map((row) => row.number);
  }

  byId(id: string): Promise<PolicyVersion | null> {
    return this.prisma.policyVersion.findUnique({ where: { id } });
  }

  /** A version known to exist (the live state references it). */
  get(id: string): Promise<PolicyVersion> {
    return this.prisma.policyVersion.findUniqueOrThrow({ where: { id } });
  }

  /** The version numbered just below `number` (numbers may have gaps), if any. */
  before(number: number): Promise<PolicyVersion | null> {
    return this.prisma.policyVersion.findFirst({
      where: { number: { lt: number } },
      orderBy: { number: 'desc' },
    });
  }

  list(limit: number, status?: 'ready' | 'failed'): Promise<PolicyVersion[]> {
    return this.prisma.policyVersion.findMany({
      where: status ? { status } : {},
      orderBy: { number: 'desc' },
      take: limit,
    });
  }
}
