import { Module } from '@nestjs/common';
import { SourcesModule } from '../sources/sources.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { WebhooksService } from './webhooks.service.js';

@Module({
  imports: [SourcesModule, SyncModule],
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhooksService],
})
export class WebhooksModule {}
