import { Injectable } from '@nestjs/common';
import type { DecideOptions, PolicyEngine } from '@stepgate/policy';
import { LiveDataService } from '../live-data/live-data.service.js';
import { SignalsService } from '../signals/signals.service.js';

/** What a decision reads besides the request: live data and the principal's risk signals. */
export type DecisionFacts = Pick<DecideOptions, 'live' | 'signals'>;

/**
 * The live data and risk signals a decision on the control plane reads, as an agent would
 * hold them: the documents at the current data revision, and the principal's signal values
 * now. Read only for what the engine's policy set declares, so a set without either costs
 * nothing. Without this, `stepgate check` and the control plane's own step-ups would decide
 * with every document at its default and every signal at zero.
 */
@Injectable()
export class DecisionFactsService {
  constructor(
    private readonly liveData: LiveDataService,
    private readonly signals: SignalsService,
  ) {}

  async for(engine: PolicyEngine, principal: string): Promise<DecisionFacts> {
    const { liveData, signals } = engine.settings;
    const [live, values] = await Promise.all([
      liveData && Object.keys(liveData).length > 0 ? this.liveData.snapshot() : undefined,
      signals && Object.keys(signals).length > 0
        ? this.signals.valuesFor(principal, signals)
        : undefined,
    ]);
    const facts: DecisionFacts = {};
    if (live) facts.live = live;
    if (values) facts.signals = values;
    return facts;
  }
}
