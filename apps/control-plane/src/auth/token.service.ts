import { Inject, Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { PrismaService } from '../database/prisma.service.js';
import { LOGGER } from '../logging/logger.js';
import type { Principal, Scope } from './scopes.js';

const TOKEN_PREFIX = 'sg_';
/** `lastUsedAt` is informational: written at most this often per token (one shared agent token
 * used by thousands of agents would otherwise make its row the hottest in the database). */
const LAST_USED_WRITE_MS = 60_000;

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
  token: string;
}

@Injectable()
export class TokenService {
  /** Token id -> when this replica last wrote its `lastUsedAt`. */
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly revokeListeners = new Set<(tokenId: string) => void>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The principal a bearer token stands for, or undefined when it is unknown or revoked. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (!token || token.length > 512) return undefined;
    const hash = hashToken(token);
    const row = await this.prisma.apiToken.findUnique({ where: { tokenHash: hash } });
    // The lookup is by hash; comparing again in constant time guards against a future
    // index or collation change turning it into a prefix or case-insensitive match.
    if (!row || row.revokedAt || !timingSafeEqual(Buffer.from(row.tokenHash), Buffer.from(hash)))
      return undefined;
    this.touch(row.id);
    return {
      tokenId: row.id,
      name: row.name,
      subject: row.subject ?? row.name,
      scopes: row.scopes as Scope[],
    };
  }

  /** Lets caches of authenticated tokens (the agent handshake's) drop a token revoked here. */
  onRevoke(listener: (tokenId: string) => void): () => void {
    this.revokeListeners.add(listener);
    return () => this.revokeListeners.delete(listener);
  }

  /** Last-used is informational: never awaited, never failing a request, at most once a minute. */
  private touch(tokenId: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_WRITE_MS) return;
    this.lastUsedWritten.set(tokenId, now);
    void this.prisma.apiToken
      .update({ where: { id: tokenId }, data: { lastUsedAt: new Date(now) } })
      .catch(() => undefined);
  }

  async create(
    name: string,
    scopes: Scope[],
    actor: string,
    subject?: string,
  ): Promise<CreatedToken> {
    const token = generateToken();
    const row = await this.prisma.apiToken.create({
      data: {
        name,
        scopes,
        subject: subject ?? null,
        tokenHash: hashToken(token),
        prefix: token.slice(0, 8),
        createdBy: actor,
      },
    });
    await this.audit.record({
      actor,
      action: 'token.create',
      target: row.id,
      details: { name, scopes, subject: subject ?? name },
    });
    return { id: row.id, name, subject: subject ?? name, scopes, token };
  }

  async list() {
    const rows = await this.prisma.apiToken.findMany({ orderBy: { createdAt: 'desc' } });
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      subject: row.subject ?? row.name,
      prefix: row.prefix,
      scopes: row.scopes,
      createdAt: row.createdAt.toISOString(),
      lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
      revokedAt: row.revokedAt?.toISOString() ?? null,
    }));
  }

  async revoke(id: string, actor: string): Promise<void> {
    const row = await this.prisma.apiToken.findUnique({ where: { id } });
    if (!row) throw new StepgateError('token/not_found', `no token with id ${id}`);
    await this.prisma.apiToken.update({
      where: { id },
      data: { revokedAt: row.revokedAt ?? new Date() },
    });
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
      const existing = await this.prisma.apiToken.findUnique({ where: { tokenHash: hash } });
      if (!existing) {
        await this.prisma.apiToken.create({
          data: {
            name: 'bootstrap-admin',
            scopes: ['admin'],
            tokenHash: hash,
            prefix: this.config.adminToken.slice(0, 8),
            createdBy: 'config',
          },
        });
        await this.audit.record({
          actor: 'system',
          action: 'token.create',
          details: { name: 'bootstrap-admin', from: 'STEPGATE_ADMIN_TOKEN' },
        });
      }
      return;
    }
    const admins = await this.prisma.apiToken.count({
      where: { scopes: { has: 'admin' }, revokedAt: null },
    });
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
