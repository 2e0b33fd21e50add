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

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work);
  }
}
