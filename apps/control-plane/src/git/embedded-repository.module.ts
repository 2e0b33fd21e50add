import { Module } from '@nestjs/common';
import { EmbeddedRepositoryService } from './embedded-repository.service.js';

/**
 * The hosted policy repository on disk. Its own module in git/ (not git-server/) because sync
 * and health read it too, while git-server (the HTTP side) depends on sync.
 */
@Module({ providers: [EmbeddedRepositoryService], exports: [EmbeddedRepositoryService] })
export class EmbeddedRepositoryModule {}
