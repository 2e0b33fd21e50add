import { Module } from '@nestjs/common';
import { EmbeddedRepositoryService } from './embedded-repository.service.js';

@Module({ providers: [EmbeddedRepositoryService], exports: [EmbeddedRepositoryService] })
export class GitServerModule {}
