import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { SYNC_REPLAY_ACTOR, type ReplayRowOfVersion } from './version-impact.js';

/**
 * Reads, never writes, the replay the sync ran of a version (the replay feature owns the table
 * and imports versions/, so versions/ reads it here rather than through a cycle).
 */
@Injectable()
export class VersionReplayRepository {
  constructor(private readonly prisma: PrismaService) {}

  latestSyncReplay(versionId: string): Promise<ReplayRowOfVersion | null> {
    return this.prisma.replay.findFirst({
      where: { versionId, requestedBy: SYNC_REPLAY_ACTOR },
      orderBy: { createdAt: 'desc' },
      select: { id: true, status: true, since: true, until: true, result: true, error: true },
    });
  }
}
