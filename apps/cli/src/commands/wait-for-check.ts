import {
  ControlPlaneError,
  ControlPlaneUnreachableError,
  type ControlPlaneApi,
} from '../api/control-plane-client.js';
import { systemClock, type StepUpIo } from '../api/step-up-runner.js';
import type { CheckBody, CheckResponse } from '@stepgate/protocol';
import { createCountdown } from '../output/progress.js';
import { describeRequirement } from '../output/step-up-format.js';

/** How often a waiting command asks the control plane again. */
export const POLL_INTERVAL_MS = 2_000;
export const DEFAULT_WAIT_SECONDS = 600;

/** A failure worth retrying while waiting: the control plane is restarting or briefly away. */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof ControlPlaneUnreachableError ||
    (error instanceof ControlPlaneError && (error.status >= 500 || error.status === 429))
  );
}

/**
 * Asks `/v1/check` until the answer is allow or deny, or the time is up (then the last
 * step-up answer is returned with `timedOut`). Shows a countdown on stderr meanwhile. Transient
 * failures are retried until the deadline; a refusal (4xx) ends the wait at once.
 */
export async function waitForCheck(
  client: ControlPlaneApi,
  input: CheckBody,
  first: CheckResponse,
  timeoutSeconds: number,
  io: StepUpIo,
  pollMs = POLL_INTERVAL_MS,
): Promise<{ result: CheckResponse; timedOut: boolean }> {
  const clock = io.clock ?? systemClock;
  const deadline = clock.now() + timeoutSeconds * 1000;
  const countdown = createCountdown(
    io.stderr,
    io.stderrIsTty === true,
    'waiting for the step-up to be satisfied…',
    deadline,
  );
  let result = first;
  let status = `needs ${describeRequirement(result.decision.require, result.decision.unmet)}`;
  let nextPoll = clock.now() + pollMs;
  try {
    for (;;) {
      const now = clock.now();
      if (now >= deadline) return { result, timedOut: true };
      countdown.tick(now, status);
      await clock.sleep(Math.min(1_000, deadline - now, Math.max(nextPoll - now, 0)));
      if (clock.now() < nextPoll) continue;
      nextPoll = clock.now() + pollMs;
      try {
        result = await client.check(input);
      } catch (error) {
        if (!isTransient(error)) throw error;
        status = `retrying: ${(error as Error).message}`;
        continue;
      }
      if (result.decision.effect !== 'step_up') return { result, timedOut: false };
      status = `needs ${describeRequirement(result.decision.require, result.decision.unmet)}`;
    }
  } finally {
    countdown.clear();
  }
}
