import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { EmbeddedRepositoryModule } from '../git/embedded-repository.module.js';
import { SourcesModule } from '../sources/sources.module.js';
import { StepUpModule } from '../step-up/step-up.module.js';
import { SyncModule } from '../sync/sync.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { GitHttpHandler } from './git-http.handler.js';
import { HookChannelService } from './hook-channel.service.js';
import { PushReportService } from './push-report.service.js';

@Module({
  imports: [
    EmbeddedRepositoryModule,
    SyncModule,
    SourcesModule,
    AuthModule,
    StepUpModule,
    VersionsModule,
  ],
  providers: [GitHttpHandler, HookChannelService, PushReportService],
  exports: [GitHttpHandler],
})
export class GitHttpModule {}
