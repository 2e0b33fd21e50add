import { Module } from '@nestjs/common';
import { LiveStateEvents } from './live-state.events.js';
import { LiveStateRepository } from './live-state.repository.js';
import { LiveStateService } from './live-state.service.js';

/** The live state's one owner; imports no feature module, so every feature can import it. */
@Module({
  providers: [LiveStateRepository, LiveStateService, LiveStateEvents],
  exports: [LiveStateRepository, LiveStateService, LiveStateEvents],
})
export class LiveStateModule {}
