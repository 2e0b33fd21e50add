import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from '../database/prisma.service.js';

/** A version as the sync records it (PolicyVersion's columns without the generated ones). */
export type NewVersion = Prisma.PolicyVersionUncheckedCreateInput;

/**
 * The sync's queries: where each source stands (its last synced commit and sync outcome), the
 * versions it records, and the counts its metrics publish.
 */
@Injectable()
export class SyncRepository {
  constructor(private readonly prisma: PrismaService) {}

  source(id: string) {
    return this.prisma.policySource.findUnique({ where: { id } });
  }

  /** What the poll schedules need of every source. */
  pollSources(): Promise<{ id: string; pollIntervalSeconds: number | null }[]> {
    return this.prisma.policySource.findMany({ select: { id: true, pollIntervalSeconds: true } });
  }

  /** A sync that ended without moving the source: when, and why (one line). */
  async recordSyncError(sourceId: string, message: string): Promise<void> {
    await this.prisma.policySource.update({
      where: { id: sourceId },
      data: { lastSyncError: message, lastSyncAt: new Date() },
    });
  }

  /** The source now stands at `sha`. */
  async recordSynced(sourceId: string, sha: string): Promise<void> {
    await this.prisma.policySource.update({
      where: { id: sourceId },
      data: { lastSyncedSha: sha, lastSyncAt: new Date(), lastSyncError: null },
    });
  }

  version(sourceId: string, sha: string) {
    return this.prisma.policyVersion.findUnique({ where: { sourceId_sha: { sourceId, sha } } });
  }

  /** The recorded version, or undefined when another replica recorded this commit first. */
  recordVersion(data: NewVersion) {
    return this.prisma.policyVersion.create({ data }).catch((error: { code?: string }) => {
      if (error.code === 'P2002') return undefined;
      throw error;
    });
  }

  async markProtectionChanged(versionId: string): Promise<void> {
    await this.prisma.policyVersion.update({
      where: { id: versionId },
      data: { protectionChanged: true },
    });
  }

  /** How many versions there are of each status. */
  async versionCounts(): Promise<{ status: string; count: number }[]> {
    const rows = await this.prisma.policyVersion.groupBy({
      by: ['status'],
      _count: { _all: true },
    });
    return rows.map((row) => ({ status: row.status, count: row._count._all }));
  }
}
