import { Module } from '@nestjs/common';
import { BundlesModule } from '../bundles/bundles.module.js';
import { LiveStateModule } from '../live-state/live-state.module.js';
import { VersionsModule } from '../versions/versions.module.js';
import { ActiveSignalsService } from './active-signals.service.js';
import { EventsController } from './events.controller.js';
import { SignalSweeper } from './signal-sweeper.js';
import { SignalEvents } from './signal.events.js';
import { SignalsPush } from './signals-push.js';
import { SignalsRedis } from './signals-redis.js';
import { SignalsController } from './signals.controller.js';
import { SignalsMetrics } from './signals.metrics.js';
import { SignalsService } from './signals.service.js';

/**
 * Risk signals: `POST /v1/events`, aggregation in Redis with its sweeper, `GET
 * /v1/signals/{subject}`. Exports what the agent gateway pushes with (SignalsPush), and the
 * service the control plane's own decisions read a principal's values through.
 */
@Module({
  imports: [BundlesModule, LiveStateModule, VersionsModule],
  controllers: [EventsController, SignalsController],
  providers: [
    ActiveSignalsService,
    SignalEvents,
    SignalSweeper,
    SignalsMetrics,
    SignalsPush,
    SignalsRedis,
    SignalsService,
  ],
  exports: [SignalsPush, SignalsService],
})
export class SignalsModule {}
