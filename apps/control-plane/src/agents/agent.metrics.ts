import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../common/metrics.registry.js';

/** Prometheus series of the agent gateway on this replica. */
@Injectable()
export class AgentMetrics {
  /** Agent sockets this replica holds. */
  readonly connected: Gauge;
  /** Connections refused, by error code. */
  readonly refused: Counter<'code'>;
  /** Catch-ups after a connection (keys, bundles, grants, data, signals): ok, or failed and dropped. */
  readonly catchUps: Counter<'result'>;
  /** Bundles sent, by kind and path (catch-up on connect, or broadcast on change). */
  readonly bundlesSent: Counter<'kind' | 'via'>;
  readonly acks: Counter<'kind'>;
  readonly rejections: Counter<'kind'>;
  /** Handshakes refused because the token and the claimed agent id do not belong together. */
  readonly identityRefused: Counter<'why'>;
  /** Revisions agents reported (ack or handshake) that this control plane never issued. */
  readonly unknownRevisions: Counter<'kind' | 'via'>;

  constructor(registry: MetricsRegistry) {
    const registers = [registry.registry];
    this.connected = new Gauge({
      name: 'stepgate_agents_connected',
      help: 'Agent sockets held by this control-plane replica',
      registers,
    });
    this.refused = new Counter({
      name: 'stepgate_agent_connections_refused_total',
      help: 'Agent connections refused at the handshake, by reason',
      labelNames: ['code'],
      registers,
    });
    this.catchUps = new Counter({
      name: 'stepgate_agent_catch_ups_total',
      help: 'Catch-ups sent to connecting agents: ok, or failed (the agent is disconnected so it retries)',
      labelNames: ['result'],
      registers,
    });
    this.bundlesSent = new Counter({
      name: 'stepgate_agent_bundles_sent_total',
      help: 'Bundles sent to agents: catch-up on connect (per agent) or broadcast on change (once)',
      labelNames: ['kind', 'via'],
      registers,
    });
    this.acks = new Counter({
      name: 'stepgate_agent_bundle_acks_total',
      help: 'Bundles agents acknowledged as applied',
      labelNames: ['kind'],
      registers,
    });
    this.rejections = new Counter({
      name: 'stepgate_agent_bundle_rejections_total',
      help: 'Bundles agents refused (bad signature, older revision...)',
      labelNames: ['kind'],
      registers,
    });
    this.identityRefused = new Counter({
      name: 'stepgate_agent_identity_refused_total',
      help: 'Agent handshakes refused: the token is bound to another agent id (token_bound), the id to another token (id_bound), or the id is outside a fleet token prefix (outside_prefix)',
      labelNames: ['why'],
      registers,
    });
    this.unknownRevisions = new Counter({
      name: 'stepgate_agent_unknown_revisions_total',
      help: 'Revisions agents acked (via=ack) or announced on connect (via=handshake) that this control plane never issued',
      labelNames: ['kind', 'via'],
      registers,
    });
  }
}
