import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';

import { PrismaClient } from '../generated/prisma/client.js';
import { DATABASE_URL } from './database.tokens.js';

/**
 * The Prisma client as a Nest provider: connection lifecycle only; queries live in the
 * features' repositories (`<feature>.repository.ts`, see database/data-access.spec.ts). Prisma 7 talks to PostgreSQL through the `pg` driver adapter (no engine binary).
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(DATABASE_URL) databaseUrl: string) {
    super({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
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
