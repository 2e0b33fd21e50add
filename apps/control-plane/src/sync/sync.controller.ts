import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import { SyncQueueService } from './sync-queue.service.js';

@Controller('v1/sources')
export class SyncController {
  constructor(private readonly queue: SyncQueueService) {}

  /**
   * Queues a sync now; 202 with the job id (the queue de-duplicates bursts). A sync may
   * auto-activate what it brings in, so it is a protected admin action (`stepgate:sync`).
   */
  @Post(':id/sync')
  @HttpCode(202)
  @RequireScopes('operator')
  @StepUpProtected('stepgate:sync', (request) => `sources/${String(request.params.id ?? '')}`)
  async sync(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return { queued: true, jobId: await this.queue.requestSync(id, actorOf(principal)) };
  }
}
