import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { ApiToken, Prisma } from '../generated/prisma/client.js';

/** API tokens (stored as hashes); `tx` joins the caller's transaction. */
@Injectable()
export class TokensRepository {
  constructor(private readonly prisma: PrismaService) {}

  byHash(tokenHash: string): Promise<ApiToken | null> {
    return this.prisma.apiToken.findUnique({ where: { tokenHash } });
  }

  byHashes(tokenHashes: string[]): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({ where: { tokenHash: { in: tokenHashes } } });
  }

  byId(id: string, tx?: Transaction): Promise<ApiToken | null> {
    return (tx ?? this.prisma).apiToken.findUnique({ where: { id } });
  }

  /** The token bound to an agent id, if any. */
  boundTo(agentId: string, tx?: Transaction): Promise<ApiToken | null> {
    return (tx ?? this.prisma).apiToken.findUnique({ where: { agentId } });
  }

  /**
   * Binds `agentId` to a live token not bound yet; false when it is bound or revoked. Rejects
   * with Prisma's P2002 when another token holds the id (the unique index decides races).
   */
  async claimAgentId(tokenId: string, agentId: string, tx?: Transaction): Promise<boolean> {
    const { count } = await (tx ?? this.prisma).apiToken.updateMany({
      where: { id: tokenId, agentId: null, revokedAt: null },
      data: { agentId },
    });
    return count === 1;
  }

  /** Frees the agent id a (revoked) token held, so another token can take it. */
  async releaseAgentId(tokenId: string, tx: Transaction): Promise<void> {
    await tx.apiToken.update({ where: { id: tokenId }, data: { agentId: null } });
  }

  create(data: Prisma.ApiTokenUncheckedCreateInput, tx?: Transaction): Promise<ApiToken> {
    return (tx ?? this.prisma).apiToken.create({ data });
  }

  async touch(ids: string[]): Promise<void> {
    await this.prisma.apiToken.updateMany({
      where: { id: { in: ids } },
      data: { lastUsedAt: new Date() },
    });
  }

  /** Newest first. */
  list(): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({ orderBy: { createdAt: 'desc' } });
  }

  async markRevoked(id: string, at: Date): Promise<void> {
    await this.prisma.apiToken.update({ where: { id }, data: { revokedAt: at } });
  }

  /** Admin tokens not revoked. */
  countLiveAdmins(): Promise<number> {
    return this.prisma.apiToken.count({ where: { scopes: { has: 'admin' }, revokedAt: null } });
  }
}
