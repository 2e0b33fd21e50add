import type { Prisma } from '../generated/prisma/client.js';

/**
 * The client a repository method runs on inside `prisma.$transaction`: a write that must commit
 * together with another repository's (an audit row with the change it records) takes one.
 */
export type Transaction = Prisma.TransactionClient;
