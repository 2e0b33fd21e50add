import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { DataSourceState } from '../generated/prisma/client.js';

export type { DataSourceState };

/** The one owner of `data_source_state`: how each source's fetches went, shared by the replicas. */
@Injectable()
export class DataSourceRepository {
  constructor(private readonly prisma: PrismaService) {}

  state(name: string): Promise<DataSourceState | null> {
    return this.prisma.dataSourceState.findUnique({ where: { name } });
  }

  states(names: string[]): Promise<DataSourceState[]> {
    return this.prisma.dataSourceState.findMany({ where: { name: { in: names } } });
  }

  /** A good fetch (published, unchanged or not modified): failures reset, the ETag kept. */
  async recordSuccess(
    name: string,
    url: string,
    at: Date,
    fetched: { etag: string | null; bytes: number } | 'not_modified',
  ): Promise<void> {
    const body = fetched === 'not_modified' ? {} : { etag: fetched.etag, bytes: fetched.bytes };
    const data = { url, lastFetchAt: at, lastSuccessAt: at, consecutiveFailures: 0, ...body };
    await this.prisma.dataSourceState.upsert({
      where: { name },
      create: { name, ...data },
      update: data,
    });
  }

  /** A failed fetch; the ETag is dropped when the URL changed (it belongs to the old one). */
  async recordFailure(name: string, url: string, at: Date, error: string): Promise<void> {
    const data = { lastFetchAt: at, lastError: error, lastErrorAt: at };
    await this.prisma.$transaction(async (tx) => {
      const current = await tx.dataSourceState.findUnique({ where: { name } });
      if (current === null)
        await tx.dataSourceState.create({ data: { name, url, consecutiveFailures: 1, ...data } });
      else
        await tx.dataSourceState.update({
          where: { name },
          data: {
            ...data,
            url,
            ...(current.url === url ? {} : { etag: null }),
            consecutiveFailures: { increment: 1 },
          },
        });
    });
  }
}
