import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { secretBoxProvider } from '../common/secret-box.provider.js';
import { SourcesController } from './sources.controller.js';
import { SourcesRepository } from './sources.repository.js';
import { SourcesService } from './sources.service.js';

@Module({
  imports: [AuditModule],
  controllers: [SourcesController],
  providers: [SourcesRepository, SourcesService, secretBoxProvider],
  exports: [SourcesRepository, SourcesService],
})
export class SourcesModule {}
