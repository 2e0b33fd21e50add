import { Module } from '@nestjs/common';
import { secretBoxProvider } from '../common/secret-box.provider.js';
import { SourcesController } from './sources.controller.js';
import { SourcesService } from './sources.service.js';

@Module({
  controllers: [SourcesController],
  providers: [SourcesService, secretBoxProvider],
  exports: [SourcesService],
})
export class SourcesModule {}
