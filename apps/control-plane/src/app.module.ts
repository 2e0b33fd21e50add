import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import { AgentsModule } from './agents/agents.module.js';
import { ApprovalsModule } from './approvals/approvals.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { BundlesModule } from './bundles/bundles.module.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/configuration.js';
import { redisOptions } from './config/redis-options.js';
import { DatabaseModule } from './database/database.module.js';
import { DataSourcesModule } from './data-sources/data-sources.module.js';
import { DecisionsModule } from './decisions/decisions.module.js';
import { ElevationModule } from './elevation/elevation.module.js';
import { EmbeddedRepositoryModule } from './git/embedded-repository.module.js';
import { GitHttpModule } from './git-server/git-http.module.js';
import { GrantsModule } from './grants/grants.module.js';
import { MetricsModule } from './common/metrics.module.js';
import { HealthModule } from './health/health.module.js';
import { LiveDataModule } from './live-data/live-data.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { OpenApiController } from './openapi/openapi.controller.js';
import { PipelineGatesModule } from './pipeline-gates/pipeline-gates.module.js';
import { GitHubDeploymentsModule } from './pipelines/github/github-deployments.module.js';
import { TerraformRunTaskModule } from './pipelines/terraform/terraform-run-task.module.js';
import { ReplayModule } from './replay/replay.module.js';
import { SignalsModule } from './signals/signals.module.js';
import { SourcesModule } from './sources/sources.module.js';
import { IssuerKeysModule } from './issuer-keys/issuer-keys.module.js';
import { StepUpModule } from './step-up/step-up.module.js';
import { SyncModule } from './sync/sync.module.js';
import { VersionsModule } from './versions/versions.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        DatabaseModule.forRoot(config.databaseUrl),
        BullModule.forRoot({
          connection: redisOptions(config.redisUrl),
          prefix: config.redisPrefix,
        }),
        MetricsModule,
        AuditModule,
        AuthModule,
        BundlesModule,
        VersionsModule,
        SourcesModule,
        EmbeddedRepositoryModule,
        SyncModule,
        GitHttpModule,
        WebhooksModule,
        DecisionsModule,
        GrantsModule,
        IssuerKeysModule,
        StepUpModule,
        ElevationModule,
        ApprovalsModule,
        PipelineGatesModule,
        GitHubDeploymentsModule,
        TerraformRunTaskModule,
        AgentsModule,
        LiveDataModule,
        DataSourcesModule,
        ReplayModule,
        SignalsModule,
        HealthModule,
      ],
      controllers: [OpenApiController],
      providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }],
    };
  }
}
