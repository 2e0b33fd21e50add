import { Module } from '@nestjs/common';
import { PipelineGatesModule } from '../../pipeline-gates/pipeline-gates.module.js';
import { GitHubDeploymentsController } from './github-deployments.controller.js';
import { GitHubDeploymentsService } from './github-deployments.service.js';

/** The GitHub deployment protection rule: POST /v1/integrations/github/webhook. */
@Module({
  imports: [PipelineGatesModule],
  controllers: [GitHubDeploymentsController],
  providers: [GitHubDeploymentsService],
})
export class GitHubDeploymentsModule {}
