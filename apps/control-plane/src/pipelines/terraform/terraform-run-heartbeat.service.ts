import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { SecretBox } from '../../common/secret-box.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/configuration.js';
import { LOGGER } from '../../logging/logger.js';
import { gateFromRow } from '../../pipeline-gates/gate-from-row.js';
import { TerraformGateHandler } from './terraform-gate-handler.js';
import { TerraformGatesRepository } from './terraform-gates.repository.js';

/** Waiting runs updated per round. */
const BATCH = 200;

/**
 * HCP Terraform errors a run task that sends no update for 10 minutes, while a step-up may
 * take longer (up to STEPGATE_TERRAFORM_STEP_UP_TIMEOUT): every STEPGATE_TERRAFORM_HEARTBEAT
 * each waiting Terraform gate gets its `running` message again. The pipeline gates' poller
 * decides and closes them; this only keeps HCP Terraform waiting meanwhile. Every replica
 * sends them; a repeated `running` is harmless.
 */
@Injectable()
export class TerraformRunHeartbeatService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly gates: TerraformGatesRepository,
    private readonly secrets: SecretBox,
    private readonly handler: TerraformGateHandler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    if (!this.config.terraform) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.round().finally(() => (this.running = undefined));
    }, this.config.terraform.heartbeatMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async round(now = new Date()): Promise<void> {
    let rows;
    try {
      rows = await this.gates.waiting(now, BATCH);
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'terraform heartbeat: listing failed');
      return;
    }
    for (const row of rows) {
      const gate = gateFromRow(row, this.secrets);
      await this.handler
        .stillPending(gate)
        .catch((error: Error) =>
          this.logger.warn(
            { gate: row.id, error: error.message },
            'terraform heartbeat: the running update failed',
          ),
        );
    }
  }
}
