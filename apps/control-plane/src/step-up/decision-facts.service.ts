import { Inject, Injectable } from '@nestjs/common';
import type { DecideOptions, PolicyEngine } from '@stepgate/policy';
import type { SignalValueJson } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { LiveDataService } from '../live-data/live-data.service.js';
import { LOGGER } from '../logging/logger.js';
import { SignalsService } from '../signals/signals.service.js';

/** How long a decision waits for the principal's signals before reading zero values. */
const SIGNALS_READ_TIMEOUT_MS = 1000;

/** What a decision reads besides the request: live data and the principal's risk signals. */
export type DecisionFacts = Pick<DecideOptions, 'live' | 'signals'>;

/**
 * The live data and risk signals a decision on the control plane reads, as an agent would
 * hold them: the documents at the current data revision, and the principal's signal values
 * now. Read only for what the engine's policy set declares, so a set without either costs
 * nothing. Without this, `stepgate check` and the control plane's own step-ups would decide
 * with every document at its default and every signal at zero.
 *
 * Signals live in Redis. When Redis does not answer, decisions go on with every signal at its
 * zero value (logged), as an agent without its snapshot does: a Redis outage must not stop a
 * rollback or an activation, which the control plane's own step-up guards.
 */
@Injectable()
export class DecisionFactsService {
  constructor(
    private readonly liveData: LiveDataService,
    private readonly signals: SignalsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async for(engine: PolicyEngine, principal: string): Promise<DecisionFacts> {
    const { liveData, signals } = engine.settings;
    const [live, values] = await Promise.all([
      liveData && Object.keys(liveData).length > 0 ? this.liveData.snapshot() : undefined,
      signals && Object.keys(signals).length > 0 ? this.signalsOf(principal, signals) : undefined,
    ]);
    const facts: DecisionFacts = {};
    if (live) facts.live = live;
    if (values) facts.signals = values;
    return facts;
  }

  private async signalsOf(
    principal: string,
    signals: Parameters<SignalsService['valuesFor']>[1],
  ): Promise<Record<string, SignalValueJson> | undefined> {
    const unavailable = (error?: unknown) => {
      this.logger.warn(
        { ...(error === undefined ? {} : { err: error }), principal },
        'risk signals unavailable (Redis): deciding with their zero values',
      );
      return undefined;
    };
    // Not connected: a read would wait for the reconnection, and the admin action with it.
    if (!this.signals.connected) return unavailable();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.signals.valuesFor(principal, signals),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${SIGNALS_READ_TIMEOUT_MS} ms`)),
            SIGNALS_READ_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      return unavailable(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
