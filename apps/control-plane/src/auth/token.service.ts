import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { Transactions, type Transaction } from '../database/transaction.js';
import { LOGGER } from '../logging/logger.js';
import { actorOf, type Principal, type Scope } from '../common/scopes.js';
import { FleetAgentsRepository } from './fleet-agents.repository.js';
import { CLAIM_TRANSACTION, overlappingPrefix } from './fleet-prefix.js';
import { TokensRepository } from './tokens.repository.js';

const TOKEN_PREFIX = 'sg_';
/** `lastUsedAt` is informational: written at most this often per token... */
const LAST_USED_WRITE_MS = 60_000;
/** ...and gathered for this long, so 10,000 agents reconnecting cost a few UPDATEs, not 10,000. */
const LAST_USED_BATCH_MS = 1_000;

/** Tokens are 256-bit random strings; only their SHA-256 is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export interface CreatedToken {
  id: string;
  name: string;
  subject: string;
  scopes: Scope[];
  agentId: string | null;
  agentIdPrefix: string | null;
  token: string;
}

/** A token as the agent handshake needs it: who it is, and the agent id it is bound to. */
export interface AgentCredential {
  principal: Principal;
  /** The one agent id this token may connect as; null until it first connects. */
  agentId: string | null;
  /** Fleet tokens only: the agent ids it admits start with this (each bound on first connect). */
  agentIdPrefix?: string;
}

/** What binding an agent token to an agent id came to. */
export type AgentBinding =
  | { ok: true; agentId: string; releasedFrom?: string }
  | { ok: false; why: 'token_bound'; agentId: string; boundAgentId: string }
  | { ok: false; why: 'id_bound'; agentId: string; boundTokenId: string }
  | { ok: false; why: 'outside_prefix'; agentId: string; prefix: string }
  | { ok: false; why: 'revoked'; agentId: string };

type TokenRow = {
  id: string;
  name: string;
  tokenHash: string;
  scopes: string[];
  revokedAt: Date | null;
  subject: string | null;
  agentId: string | null;
  agentIdPrefix: string | null;
};

/** Thrown inside a claim's transaction to roll it back: the token is bound already or revoked. */
class ClaimLost extends Error {}

/** Prisma's unique-constraint violation (here: `api_token.agent_id`). */
function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'P2002';
}

@Injectable()
export class TokenService implements OnModuleDestroy {
  /** Token id -> when this replica last wrote its `lastUsedAt`. */
  private readonly lastUsedWritten = new Map<string, number>();
  /** Token ids whose `lastUsedAt` the next batched write sets. */
  private readonly lastUsedPending = new Set<string>();
  private lastUsedTimer?: NodeJS.Timeout;
  private readonly revokeListeners = new Set<(tokenId: string) => void>();

  constructor(
    private readonly repository: TokensRepository,
    private readonly fleetAgents: FleetAgentsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleDestroy(): void {
    clearTimeout(this.lastUsedTimer);
  }

  /** The principal a bearer token stands for, or undefined when it is unknown or revoked. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (!token || token.length > 512) return undefined;
    const hash = hashToken(token);
    const row = await this.repository.byHash(hash);
    return this.accept(row, hash)?.principal;
  }

  /**
   * Agent credentials for many token hashes in one query (a reconnect storm presents thousands
   * of distinct agent tokens at once); hashes unknown or revoked are absent from the result.
   */
  async credentialsByHash(hashes: readonly string[]): Promise<Map<string, AgentCredential>> {
    const found = new Map<string, AgentCredential>();
    if (hashes.length === 0) return found;
    const rows = await this.repository.byHashes([...new Set(hashes)]);
    for (const row of rows) {
      const credential = this.accept(row, row.tokenHash);
      if (credential) found.set(row.tokenHash, credential);
    }
    return found;
  }

  private accept(row: TokenRow | null, hash: string): AgentCredential | undefined {
    // The lookup is by hash; comparing again in constant time guards against a future
    // index or collation change turning it into a prefix or case-insensitive match.
    if (!row || row.revokedAt || !timingSafeEqual(Buffer.from(row.tokenHash), Buffer.from(hash)))
      return undefined;
    this.touch(row.id);
    return {
      principal: {
        tokenId: row.id,
        name: row.name,
        subject: row.subject ?? row.name,
        scopes: row.scopes as Scope[],
      },
      agentId: row.agentId,
      ...(row.agentIdPrefix !== null ? { agentIdPrefix: row.agentIdPrefix } : {}),
    };
  }

  /**
   * Binds an agent token to the agent id it connects as, once: a token already bound to
   * another id, or an id bound to another live token (single-agent or fleet), is refused.
   * Race-free: the claim runs under the id's advisory lock (FleetAgentsRepository.lockAgentId,
   * taken by every path that binds an id) and is a conditional update (`agent_id IS NULL`), so
   * of two sockets claiming at once (one token, two ids; or two tokens, one id) one wins.
   * An id held by a revoked token is released to the new one (rotation). Audited (`agent.bind`).
   */
  async bindAgent(principal: Principal, agentId: string): Promise<AgentBinding> {
    let outcome: AgentBinding | undefined;
    try {
      outcome = await this.transactions.run(
        (tx) => this.claim(principal, agentId, tx),
        CLAIM_TRANSACTION,
      );
    } catch (error) {
      if (error instanceof ClaimLost) outcome = undefined;
      else if (isUniqueViolation(error)) {
        const holder = await this.repository.boundTo(agentId);
        outcome = { ok: false, why: 'id_bound', agentId, boundTokenId: holder?.id ?? 'unknown' };
      } else throw error;
    }
    // Nothing claimed: this token is bound already (to this id by a racing socket, or to
    // another), or was revoked meanwhile. Only a claim made here is audited.
    if (outcome === undefined) return this.bindingOf(principal.tokenId, agentId);
    if (outcome.ok)
      await this.audit.record({
        actor: actorOf(principal),
        action: 'agent.bind',
        target: `agent:${agentId}`,
        details: {
          tokenId: principal.tokenId,
          ...(outcome.releasedFrom ? { releasedFrom: outcome.releasedFrom } : {}),
        },
      });
    return outcome;
  }

  /** The claim itself, in `tx` under the id's lock; undefined when this token holds the id. */
  private async claim(
    principal: Principal,
    agentId: string,
    tx: Transaction,
  ): Promise<AgentBinding | undefined> {
    await this.fleetAgents.lockAgentId(agentId, tx);
    const fleetHolder = await this.fleetAgents.holder(agentId, tx);
    if (fleetHolder && !fleetHolder.revoked)
      return { ok: false, why: 'id_bound', agentId, boundTokenId: fleetHolder.tokenId };
    const holder = await this.repository.boundTo(agentId, tx);
    if (holder?.id === principal.tokenId) return undefined;
    if (holder && !holder.revokedAt)
      return { ok: false, why: 'id_bound', agentId, boundTokenId: holder.id };
    if (holder) await this.repository.releaseAgentId(holder.id, tx);
    if (fleetHolder) await this.fleetAgents.release(agentId, tx);
    // Bound to another id or revoked: roll back the releases above, nothing moves.
    if (!(await this.repository.claimAgentId(principal.tokenId, agentId, tx)))
      throw new ClaimLost();
    const releasedFrom = holder?.id ?? fleetHolder?.tokenId;
    return { ok: true, agentId, ...(releasedFrom ? { releasedFrom } : {}) };
  }

  private async bindingOf(tokenId: string, agentId: string): Promise<AgentBinding> {
    const row = await this.repository.byId(tokenId);
    if (!row || row.revokedAt) return { ok: false, why: 'revoked', agentId };
    if (row.agentId === agentId) return { ok: true, agentId };
    return { ok: false, why: 'token_bound', agentId, boundAgentId: row.agentId ?? '' };
  }

  /** Lets caches of authenticated tokens (the agent handshake's) drop a token revoked here. */
  onRevoke(listener: (tokenId: string) => void): () => void {
    this.revokeListeners.add(listener);
    return () => this.revokeListeners.delete(listener);
  }

  /**
   * Last-used is informational: never awaited, never failing a request, at most once a minute
   * per token, and written for all tokens used within a second in one statement.
   */
  private touch(tokenId: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_WRITE_MS) return;
    this.lastUsedWritten.set(tokenId, now);
    this.lastUsedPending.add(tokenId);
    this.lastUsedTimer ??= setTimeout(() => this.writeLastUsed(), LAST_USED_BATCH_MS);
    this.lastUsedTimer.unref();
  }

  private writeLastUsed(): void {
    this.lastUsedTimer = undefined;
    const ids = [...this.lastUsedPending];
    this.lastUsedPending.clear();
    if (ids.length === 0) return;
    void this.repository.touch(ids).catch(() => undefined);
  }

  /**
   * Creates a token (shown once). `agentId` creates an agent token bound to that id at once
   * (operators who pre-provision one token per agent); an id held by a live token (single-agent
   * or fleet) is a `token/conflict`, one held by a revoked token moves to the new one
   * (rotation). `agentIdPrefix` creates a fleet token (FleetBindingService); a prefix
   * overlapping a live fleet token's is a `token/conflict`.
   */
  async create(
    name: string,
    scopes: Scope[],
    actor: string,
    subject?: string,
    agent: { agentId?: string; agentIdPrefix?: string } = {},
  ): Promise<CreatedToken> {
    const { agentId, agentIdPrefix } = agent;
    const token = generateToken();
    const data = {
      name,
      scopes,
      subject: subject ?? null,
      tokenHash: hashToken(token),
      prefix: token.slice(0, 8),
      createdBy: actor,
    };
    let releasedFrom: string | undefined;
    let row: { id: string };
    if (agentIdPrefix !== undefined) {
      row = await this.transactions.run(async (tx) => {
        await this.fleetAgents.lockPrefixes(tx);
        const other = overlappingPrefix(agentIdPrefix, await this.fleetAgents.liveFleetTokens(tx));
        if (other)
          throw new StepgateError(
            'token/conflict',
            `agentIdPrefix "${agentIdPrefix}" overlaps "${other.prefix}" of the live fleet token "${other.name}" (${other.id}): both could admit the same agent ids; choose a prefix neither starts with, or revoke that token first (DELETE /v1/tokens/${other.id}) to replace it`,
            { agentIdPrefix, tokenId: other.id, overlaps: other.prefix },
          );
        return this.repository.create({ ...data, agentIdPrefix }, tx);
      });
    } else if (agentId === undefined) {
      row = await this.repository.create(data);
    } else {
      try {
        row = await this.transactions.run(async (tx) => {
          await this.fleetAgents.lockAgentId(agentId, tx);
          const fleetHolder = await this.fleetAgents.holder(agentId, tx);
          if (fleetHolder && !fleetHolder.revoked)
            throw new StepgateError(
              'token/conflict',
              `agent id "${agentId}" is bound to the fleet token "${fleetHolder.name}" (${fleetHolder.tokenId}); revoke it first (DELETE /v1/tokens/${fleetHolder.tokenId}) to move the id to a new token`,
              { agentId, tokenId: fleetHolder.tokenId },
            );
          const holder = await this.repository.boundTo(agentId, tx);
          if (holder && !holder.revokedAt)
            throw new StepgateError(
              'token/conflict',
              `agent id "${agentId}" is bound to token "${holder.name}" (${holder.id}); revoke it first (DELETE /v1/tokens/${holder.id}) to move the id to a new token`,
              { agentId, tokenId: holder.id },
            );
          if (holder) {
            releasedFrom = holder.id;
            await this.repository.releaseAgentId(holder.id, tx);
          }
          if (fleetHolder) {
            releasedFrom ??= fleetHolder.tokenId;
            await this.fleetAgents.release(agentId, tx);
          }
          return this.repository.create({ ...data, agentId }, tx);
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new StepgateError(
          'token/conflict',
          `agent id "${agentId}" was just bound to another token; revoke that one first to move the id`,
          { agentId },
        );
      }
    }
    await this.audit.record({
      actor,
      action: 'token.create',
      target: row.id,
      details: {
        name,
        scopes,
        subject: subject ?? name,
        ...(agentId !== undefined ? { agentId } : {}),
        ...(agentIdPrefix !== undefined ? { agentIdPrefix } : {}),
        ...(releasedFrom ? { releasedFrom } : {}),
      },
    });
    return {
      id: row.id,
      name,
      subject: subject ?? name,
      scopes,
      agentId: agentId ?? null,
      agentIdPrefix: agentIdPrefix ?? null,
      token,
    };
  }

  async list() {
    const rows = await this.repository.list();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      subject: row.subject ?? row.name,
      prefix: row.prefix,
      scopes: row.scopes,
      createdAt: row.createdAt.toISOString(),
      lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
      revokedAt: row.revokedAt?.toISOString() ?? null,
      agentId: row.agentId,
      agentIdPrefix: row.agentIdPrefix,
    }));
  }

  async revoke(id: string, actor: string): Promise<void> {
    const row = await this.repository.byId(id);
    if (!row) throw new StepgateError('token/not_found', `no token with id ${id}`);
    await this.repository.markRevoked(id, row.revokedAt ?? new Date());
    this.lastUsedWritten.delete(id);
    for (const listener of this.revokeListeners) listener(id);
    await this.audit.record({
      actor,
      action: 'token.revoke',
      target: id,
      details: { name: row.name },
    });
  }

  /**
   * First start: make sure an admin can get in. STEPGATE_ADMIN_TOKEN is registered when
   * given; otherwise, when no admin token exists yet, one is generated and printed once.
   */
  async bootstrapAdmin(print: (line: string) => void): Promise<void> {
    if (this.config.adminToken) {
      const hash = hashToken(this.config.adminToken);
      const existing = await this.repository.byHash(hash);
      if (!existing) {
        await this.repository.create({
          name: 'bootstrap-admin',
          scopes: ['admin'],
          tokenHash: hash,
          prefix: this.config.adminToken.slice(0, 8),
          createdBy: 'config',
        });
        await this.audit.record({
          actor: 'system',
          action: 'token.create',
          details: { name: 'bootstrap-admin', from: 'STEPGATE_ADMIN_TOKEN' },
        });
      }
      return;
    }
    const admins = await this.repository.countLiveAdmins();
    if (admins > 0) return;
    const created = await this.create('bootstrap-admin', ['admin'], 'system');
    this.logger.warn(
      { tokenId: created.id },
      'generated the first admin token; it is printed once on stdout',
    );
    print(
      `\nStepgate admin token (shown once, store it now):\n\n  ${created.token}\n\nUse it as STEPGATE_TOKEN for the CLI and as the password for git push.\n`,
    );
  }
}
