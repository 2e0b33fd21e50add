import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { actorOf } from '../common/scopes.js';
import { FleetBindingService } from '../auth/fleet-binding.service.js';
import { TokenService, type AgentBinding, type AgentCredential } from '../auth/token.service.js';
import { LOGGER } from '../logging/logger.js';
import type { HandshakeIdentity, IdentityRefusal } from './agent-handshake.js';
import { AgentTokenCache } from './agent-token-cache.js';
import { AgentMetrics } from './agent.metrics.js';

/**
 * A misconfigured or hostile agent retries every few seconds: one audit row per token, claimed
 * id and reason per this long is enough (every refusal is still logged and counted).
 */
const AUDIT_REPEAT_MS = 60_000;
const MAX_AUDIT_KEYS = 10_000;

/**
 * Agent identity at the handshake: tokens through the cache (with the agent id each is bound
 * to), a first connect binds the token to its id (TokenService.bindAgent; a fleet token's ids
 * through FleetBindingService, remembered in the cache once bound), and refusals of a
 * claimed identity are audited as `agent.identity_refused` (actor: the token's name, never the
 * token).
 */
@Injectable()
export class AgentIdentityService implements HandshakeIdentity {
  private readonly audited = new Map<string, number>();

  constructor(
    private readonly cache: AgentTokenCache,
    private readonly tokens: TokenService,
    private readonly fleet: FleetBindingService,
    private readonly audit: AuditService,
    private readonly metrics: AgentMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  authenticate(token: string): Promise<AgentCredential | undefined> {
    return this.cache.authenticate(token);
  }

  /** Calls `listener` with the id of each token revoked on this replica. */
  onRevoke(listener: (tokenId: string) => void): () => void {
    return this.tokens.onRevoke(listener);
  }

  /** A token revoked on another replica: accepted no more here either. */
  forget(tokenId: string): void {
    this.cache.forget(tokenId);
  }

  async bind(token: string, credential: AgentCredential, agentId: string): Promise<AgentBinding> {
    const prefix = credential.agentIdPrefix;
    if (prefix !== undefined) {
      // Ids this replica saw bound to this token lately need no query (a fleet reconnecting).
      if (this.cache.fleetIdBound(token, agentId)) return { ok: true, agentId };
      const binding = await this.fleet.bind(credential.principal, prefix, agentId);
      if (binding.ok) this.cache.fleetBound(token, agentId);
      return binding;
    }
    const binding = await this.tokens.bindAgent(credential.principal, agentId);
    if (binding.ok) {
      this.cache.bound(token, agentId);
      this.logger.info(
        { agentId, tokenId: credential.principal.tokenId, releasedFrom: binding.releasedFrom },
        'agent token bound to its agent id',
      );
    }
    return binding;
  }

  /** Counts, and audits (at most once a minute per token, id and reason), a refused identity. */
  async refused(
    credential: AgentCredential,
    refusal: IdentityRefusal,
    address: string | undefined,
  ): Promise<void> {
    this.metrics.identityRefused.inc({ why: refusal.why });
    const key = `${credential.principal.tokenId}|${refusal.agentId}|${refusal.why}`;
    const now = Date.now();
    if (now - (this.audited.get(key) ?? 0) < AUDIT_REPEAT_MS) return;
    if (this.audited.size >= MAX_AUDIT_KEYS) this.audited.clear();
    this.audited.set(key, now);
    const { why, agentId } = refusal;
    await this.audit.record({
      actor: actorOf(credential.principal),
      action: 'agent.identity_refused',
      target: `agent:${agentId}`,
      details: {
        tokenId: credential.principal.tokenId,
        why,
        ...(refusal.why === 'token_bound' ? { boundAgentId: refusal.boundAgentId } : {}),
        ...(refusal.why === 'id_bound' ? { boundTokenId: refusal.boundTokenId } : {}),
        ...(refusal.why === 'outside_prefix' ? { agentIdPrefix: refusal.prefix } : {}),
        ...(address ? { address } : {}),
      },
    });
  }
}
