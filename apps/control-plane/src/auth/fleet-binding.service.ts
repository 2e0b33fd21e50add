import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { actorOf, type Principal } from '../common/scopes.js';
import { Transactions } from '../database/transaction.js';
import { FleetAgentsRepository } from './fleet-agents.repository.js';
import { CLAIM_TRANSACTION, fleetClaim, idUnderPrefix, type FleetClaim } from './fleet-prefix.js';
import type { AgentBinding } from './token.service.js';
import { TokensRepository } from './tokens.repository.js';

/**
 * Fleet tokens at the handshake: a token with an agent-id prefix connects as any id under it,
 * each id bound to the token in `fleet_agent` on first connect (audited `agent.bind` with the
 * prefix), so another token, fleet or single-agent, stolen or not, cannot connect as an id this
 * one admitted, and this one cannot take an id another live token holds. An id held by a revoked
 * token moves to the claiming token (audited with `releasedFrom`): revoking frees nothing by
 * itself, and an id only moves when a live token claims it in the open.
 */
@Injectable()
export class FleetBindingService {
  constructor(
    private readonly fleetAgents: FleetAgentsRepository,
    private readonly tokens: TokensRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
  ) {}

  async bind(principal: Principal, prefix: string, agentId: string): Promise<AgentBinding> {
    if (!idUnderPrefix(prefix, agentId))
      return { ok: false, why: 'outside_prefix', agentId, prefix };
    // A reconnect (the common case), or an id another live fleet token holds: one primary-key
    // read, no lock. Anything else is decided under the id's lock.
    const current = await this.fleetAgents.holder(agentId);
    if (current && !current.revoked)
      return current.tokenId === principal.tokenId
        ? { ok: true, agentId }
        : { ok: false, why: 'id_bound', agentId, boundTokenId: current.tokenId };

    const claim = await this.transactions.run(async (tx): Promise<FleetClaim | 'revoked'> => {
      await this.fleetAgents.lockAgentId(agentId, tx);
      const token = await this.tokens.byId(principal.tokenId, tx);
      if (!token || token.revokedAt) return 'revoked';
      const single = await this.tokens.boundTo(agentId, tx);
      const outcome = fleetClaim({ id: principal.tokenId, prefix }, agentId, {
        single: single ? { tokenId: single.id, revoked: single.revokedAt !== null } : null,
        fleet: await this.fleetAgents.holder(agentId, tx),
      });
      if (outcome.ok && outcome.firstConnect) {
        if (single) await this.tokens.releaseAgentId(single.id, tx);
        await this.fleetAgents.bind(agentId, principal.tokenId, tx);
      }
      return outcome;
    }, CLAIM_TRANSACTION);
    if (claim === 'revoked') return { ok: false, why: 'revoked', agentId };
    if (!claim.ok) return claim;
    if (!claim.firstConnect) return { ok: true, agentId };
    await this.audit.record({
      actor: actorOf(principal),
      action: 'agent.bind',
      target: `agent:${agentId}`,
      details: {
        tokenId: principal.tokenId,
        agentIdPrefix: prefix,
        ...(claim.releasedFrom ? { releasedFrom: claim.releasedFrom } : {}),
      },
    });
    return {
      ok: true,
      agentId,
      ...(claim.releasedFrom ? { releasedFrom: claim.releasedFrom } : {}),
    };
  }
}
