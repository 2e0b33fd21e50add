import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LOGGER } from '../logging/logger.js';
import { ApprovalsService } from './approvals.service.js';

/**
 * Marks open requests past their expiry as expired every STEPGATE_APPROVAL_SWEEP_INTERVAL, so
 * listings and the audit trail show it even when nobody touches the request. Every replica
 * sweeps; the conditional update makes that harmless.
 */
@Injectable()
export class ApprovalExpiryService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly approvals: ApprovalsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      if (this.running) return; // a slow sweep is not overlapped by the next one
      this.running = this.sweep().finally(() => (this.running = undefined));
    }, this.config.approvalSweepIntervalSeconds * 1000);
    // Never keeps the process alive on its own.
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await this.approvals.expireDue();
      if (expired > 0) this.logger.info({ expired }, 'expired approval requests');
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'approval expiry sweep failed');
    }
  }
}
