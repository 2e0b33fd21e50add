import { Module } from '@nestjs/common';
import { SyncModule } from '../sync/sync.module.js';
import { GitHttpHandler } from './git-http.handler.js';
import { GitServerModule } from './git-server.module.js';

@Module({
  imports: [GitServerModule, SyncModule],
  providers: [GitHttpHandler],
  exports: [GitHttpHandler],
})
export class GitHttpModule {}
