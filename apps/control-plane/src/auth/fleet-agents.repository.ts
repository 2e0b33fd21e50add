import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Transaction } from '../database/transaction.js';
import type { IdHolder } from './fleet-prefix.js';

/**
 * The agent ids fleet tokens admitted (`fleet_agent`), and the lock that makes binding an agent
 * id race-free across both places an id can be bound (`api_token.agent_id` and `fleet_agent`):
 * no single unique index spans the two, so every claim of an id takes its advisory lock first.
 */
@Injectable()
export class FleetAgentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Serializes the transactions claiming `agentId` until they commit (a transaction-scoped
   * PostgreSQL advisory lock on a 64-bit hash of the id; a collision only serializes two ids).
   */
  async lockAgentId(agentId: string, tx: Transaction): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`agent-id:${agentId}`}, 0))`;
  }

  /** Serializes the creation of fleet tokens (their prefixes must not overlap). */
  async lockPrefixes(tx: Transaction): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('fleet-token-prefixes', 0))`;
  }

  /** The fleet token holding `agentId`, if any: its id and name, and whether it is revoked. */
  async holder(agentId: string, tx?: Transaction): Promise<(IdHolder & { name: string }) | null> {
    const row = await (tx ?? this.prisma).fleetAgent.findUnique({
      where: { agentId },
      select: { tokenId: true, token: { select: { name: true, revokedAt: true } } },
    });
    if (!row) return null;
    return { tokenId: row.tokenId, name: row.token.name, revoked: row.token.revokedAt !== null };
  }

  /** Binds `agentId` to `tokenId`, replacing a (revoked) holder's row. */
  async bind(agentId: string, tokenId: string, tx: Transaction): Promise<void> {
    await tx.fleetAgent.upsert({
      where: { agentId },
      create: { agentId, tokenId },
      update: { tokenId, firstSeen: new Date() },
    });
  }

  /** Frees an id a revoked fleet token held (a single-agent token takes it). */
  async release(agentId: string, tx: Transaction): Promise<void> {
    await tx.fleetAgent.deleteMany({ where: { agentId } });
  }

  /** Live fleet tokens: their id and prefix. */
  async liveFleetTokens(tx: Transaction): Promise<{ id: string; name: string; prefix: string }[]> {
    const rows = await tx.apiToken.findMany({
      where: { agentIdPrefix: { not: null }, revokedAt: null },
      select: { id: true, name: true, agentIdPrefix: true },
    });
    return rows.map((row) => ({ id: row.id, name: row.name, prefix: row.agentIdPrefix! }));
  }
}
