import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { LOGGER } from '../logging/logger.js';
import { AgentMetrics } from './agent.metrics.js';
import type { LiveRevisions } from './catch-up.js';
import { isUnknownRevision } from './issued-revisions.js';
import { LiveRevisionsService } from './live-revisions.service.js';

/**
 * A revision above the highest seen costs a read of the live revision; reads wait this long for
 * company, so the acks of a broadcast from 10,000 agents share a few reads.
 */
const GATHER_READS_MS = 25;
/** The same agent reporting the same unknown revision (each reconnect) is audited once per this. */
const AUDIT_REPEAT_MS = 10 * 60_000;
const MAX_AUDIT_KEYS = 10_000;

export interface ReportedRevision {
  agentId: string;
  kind: 'active' | 'shadow';
  revision: number;
  /** An ack, or the revisions announced in the handshake. */
  via: 'ack' | 'handshake';
}

/**
 * Flags an agent reporting a revision the control plane never issued (a far-future bundle from
 * a rogue control plane, a foreign deployment's bundle, or a database restored from an older
 * backup): counted, logged and audited as `agent.unknown_revision`. The fleet view and the agent
 * list derive the flag from the stored revisions (see FleetService, AgentsService). Cheap for
 * honest agents: only a revision above the highest this replica has seen costs a read.
 */
@Injectable()
export class UnknownRevisionsService {
  /** The highest live revision this replica has read: anything at or below it was issued. */
  private highestSeen = 0;
  private readonly audited = new Map<string, number>();

  constructor(
    private readonly revisions: LiveRevisionsService,
    private readonly audit: AuditService,
    private readonly metrics: AgentMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The caller has just read the live revisions (a connection's catch-up). */
  observe(live: LiveRevisions): void {
    this.highestSeen = Math.max(this.highestSeen, live.revision);
  }

  /**
   * Checks a reported revision; `live` when the caller has just read it. Resolves true when the
   * revision was never issued (and has then been flagged).
   */
  async check(reported: ReportedRevision, live?: LiveRevisions): Promise<boolean> {
    if (live) this.observe(live);
    if (!isUnknownRevision(reported.revision, this.highestSeen)) return false;
    // Possibly issued a moment ago (by any replica): read the live revision afresh, a read
    // started after this report arrived, which later reports arriving meanwhile share.
    const current = await this.revisions.current(performance.now(), GATHER_READS_MS);
    this.highestSeen = Math.max(this.highestSeen, current.revision);
    if (!isUnknownRevision(reported.revision, current.revision)) return false;
    await this.flag(reported, current.revision);
    return true;
  }

  private async flag(reported: ReportedRevision, liveRevision: number): Promise<void> {
    const { agentId, kind, revision, via } = reported;
    this.metrics.unknownRevisions.inc({ kind, via });
    this.logger.warn(
      { agentId, kind, revision, liveRevision, via },
      'agent reports a revision this control plane never issued (a forged or foreign bundle, or a database restored from an older backup); it is flagged as suspect in GET /v1/fleet',
    );
    const key = `${agentId}|${kind}|${revision}`;
    const now = Date.now();
    if (now - (this.audited.get(key) ?? 0) < AUDIT_REPEAT_MS) return;
    if (this.audited.size >= MAX_AUDIT_KEYS) this.audited.clear();
    this.audited.set(key, now);
    await this.audit.record({
      actor: `agent:${agentId}`,
      action: 'agent.unknown_revision',
      target: `agent:${agentId}`,
      details: { kind, revision, liveRevision, via },
    });
  }
}
