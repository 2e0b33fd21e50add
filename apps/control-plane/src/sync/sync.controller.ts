import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RequireScopes } from '../auth/scopes.js';
import { SourcesService } from '../sources/sources.service.js';
import { SyncQueueService } from './sync-queue.service.js';

@Controller('v1/sources')
export class SyncController {
  constructor(
    private readonly sources: SourcesService,
    private readonly queue: SyncQueueService,
  ) {}

  /** Queues a sync now; 202 with the job id (the queue de-duplicates bursts). */
  @Post(':id/sync')
  @HttpCode(202)
  @RequireScopes('operator')
  async sync(@Param('id') id: string) {
    await this.sources.get(id);
    return { queued: true, jobId: await this.queue.enqueue({ sourceId: id, trigger: 'manual' }) };
  }
}
