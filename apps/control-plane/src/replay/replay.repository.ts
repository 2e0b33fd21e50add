import { Injectable } from '@nestjs/common';
import type { CompiledPolicySet } from '@stepgate/policy';
import type { ReplayFilter, ReplayResult, ReplayStatus } from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma, Replay } from '../generated/prisma/client.js';

export type ReplayRecord = Replay;

export interface NewReplay {
  /** Null (with policySet set) for a replay of a caller's compiled policy set. */
  versionId: string | null;
  versionNumber: number | null;
  versionSha: string | null;
  policySet?: CompiledPolicySet;
  since: Date;
  until: Date;
  filter: ReplayFilter;
  examples: number;
  requestedBy: string;
}

const OPEN: ReplayStatus[] = ['queued', 'running'];

/** The replay table: one row per replay, its progress and its result. */
@Injectable()
export class ReplayRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(replay: NewReplay): Promise<Replay> {
    return this.prisma.replay.create({
      data: {
        ...replay,
        filter: replay.filter as Prisma.InputJsonObject,
        policySet: replay.policySet as unknown as Prisma.InputJsonObject | undefined,
        status: 'queued',
      },
    });
  }

  get(id: string): Promise<Replay | null> {
    return this.prisma.replay.findUnique({ where: { id } });
  }

  /** queued -> running with the estimate; false when it is no longer queued (cancelled). */
  async start(id: string, estimatedTotal: number): Promise<boolean> {
    const { count } = await this.prisma.replay.updateMany({
      where: { id, status: { in: OPEN } },
      data: { status: 'running', startedAt: new Date(), estimatedTotal, read: 0 },
    });
    return count === 1;
  }

  /** Records progress; false when the replay was cancelled meanwhile (stop reading). */
  async progress(id: string, read: number): Promise<boolean> {
    const { count } = await this.prisma.replay.updateMany({
      where: { id, status: 'running' },
      data: { read },
    });
    return count === 1;
  }

  /** running -> done (or failed) with the result; a cancelled one keeps its status. */
  async finish(
    id: string,
    status: 'done' | 'failed',
    read: number,
    result: ReplayResult | null,
    error: string | null,
  ): Promise<boolean> {
    const { count } = await this.prisma.replay.updateMany({
      where: { id, status: { in: OPEN } },
      data: {
        status,
        read,
        result: (result ?? undefined) as Prisma.InputJsonObject | undefined,
        error,
        finishedAt: new Date(),
      },
    });
    return count === 1;
  }

  /** Keeps the partial result of a cancelled replay. */
  async keepPartial(id: string, read: number, result: ReplayResult): Promise<void> {
    await this.prisma.replay.updateMany({
      where: { id, status: 'cancelled' },
      data: { read, result: result as unknown as Prisma.InputJsonObject },
    });
  }

  /** queued|running -> cancelled; false when it had already ended. */
  async cancel(id: string): Promise<boolean> {
    const { count } = await this.prisma.replay.updateMany({
      where: { id, status: { in: OPEN } },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    return count === 1;
  }
}
