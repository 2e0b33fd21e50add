import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LOGGER } from '../logging/logger.js';
import { PipelineGatesService } from './pipeline-gates.service.js';

/**
 * Decides pending pipeline gates again every STEPGATE_PIPELINE_GATE_POLL_INTERVAL, so a
 * deployment proceeds soon after the grant or the approvals arrive and is rejected at expiry.
 * Every replica polls; claiming with SKIP LOCKED keeps them off each other's gates.
 */
@Injectable()
export class PipelineGatePollerService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly gates: PipelineGatesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      if (this.running) return; // a slow round is not overlapped by the next one
      this.running = this.round().finally(() => (this.running = undefined));
    }, this.config.pipelineGates.pollIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    try {
      await this.gates.poll();
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'pipeline gate poll failed');
    }
  }
}
