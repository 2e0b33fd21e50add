import { type DynamicModule, Global, Module } from '@nestjs/common';

import { DATABASE_URL } from './database.tokens.js';
import { PrismaService } from './prisma.service.js';
import { Transactions } from './transaction.js';

/**
 * Provides PrismaService (for repositories) and Transactions to the whole app. Migrations are not applied here: the bootstrap runs
 * `applyMigrations(url)` before creating the app, so no module ever sees an old schema.
 */
@Global()
@Module({})
export class DatabaseModule {
  /** `databaseUrl` comes from the validated start-up configuration. */
  static forRoot(databaseUrl: string): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [{ provide: DATABASE_URL, useValue: databaseUrl }, PrismaService, Transactions],
      exports: [PrismaService, Transactions],
    };
  }
}
