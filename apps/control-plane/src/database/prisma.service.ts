import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { PrismaClient } from '../generated/prisma/client.js';
import { DATABASE_URL } from './database.tokens.js';

/**
 * The Prisma client as a Nest provider: connection lifecycle only; queries live in the
 * features' repositories (`<feature>.repository.ts`, see database/data-access.spec.ts). Prisma 7 talks to PostgreSQL through the `pg` driver adapter (no engine binary).
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  /**
   * The `pg` pool Prisma's adapter queries through (Prisma ends it on disconnect). Only for a
   * hot read whose rows Prisma's raw-result mapping would cost more than the work on them
   * (replay pages); everything else goes through Prisma.
   */
  readonly pool: pg.Pool;

  constructor(@Inject(DATABASE_URL) databaseUrl: string) {
    const pool = new pg.Pool({ connectionString: databaseUrl });
    super({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
    this.pool = pool;
  }

  /** Connect at start-up so a bad URL fails the boot instead of the first request. */
  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  /** Ends the pool, so shutdown (and tests) do not wait for idle connections to time out. */
  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
