import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

/**
 * The client a repository method runs on inside a transaction: writes of several repositories
 * that must commit together (a grant and its audit row) each take the same one.
 */
export type Transaction = Prisma.TransactionClient;

/** Starts transactions for services, which never hold the Prisma client themselves. */
@Injectable()
export class Transactions {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * `options` overrides Prisma's limits (2 s to get a connection, 5 s to finish), for work that
   * arrives in bursts larger than the pool, e.g. hundreds of agents binding their ids at once.
   */
  run<T>(
    work: (tx: Transaction) => Promise<T>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<T> {
    return this.prisma.$transaction(work, options);
  }
}
