/**
 * The peer benchmark compares speeds only after proving its three policy sets are one policy:
 * this suite runs that proof on 200 generated requests against the real engines (Stepgate
 * in-process, Cedar through cedar-wasm, the real Cerbos PDP binary over HTTP), so a change to
 * bench/peers/policy-set.js that makes one language drift fails CI, not just the next bench run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Plain ESM bench modules (not compiled); vitest resolves @stepgate/policy to its sources.
import { cedarEngine } from '../../bench/peers/cedar-engine.js';
import { startCerbos } from '../../bench/peers/cerbos-pdp.js';
import { assertEquivalent, checkEquivalence } from '../../bench/peers/equivalence.js';
import { generateRequests } from '../../bench/peers/requests.js';
import { stepgateEngine } from '../../bench/peers/stepgate-engine.js';

const REQUESTS = 200;

describe('peer benchmark policy sets (Stepgate, Cedar, Cerbos PDP)', () => {
  let cerbos: Awaited<ReturnType<typeof startCerbos>>;
  const stepgate = stepgateEngine();
  const cedar = cedarEngine();
  // A different seed from the bench's: more requests the three have to agree on.
  const requests = generateRequests(REQUESTS, 7);

  beforeAll(async () => {
    cerbos = await startCerbos();
  }, 60_000);

  afterAll(async () => {
    await cerbos?.stop();
  });

  it('decide every generated request alike, with every rule kind deciding some', async () => {
    const result = await checkEquivalence({ requests, stepgate, cedar, cerbosUrl: cerbos.url });

    expect(() => assertEquivalent(result)).not.toThrow();
    expect(result.agreements).toBe(REQUESTS);
    expect(result.disagreements).toEqual([]);
    // The check means something only if all outcomes and every rule kind occur.
    expect(result.effects.stepgate.allow).toBeGreaterThan(0);
    expect(result.effects.stepgate.deny).toBeGreaterThan(0);
    expect(result.effects.stepgate.step_up).toBeGreaterThan(0);
    expect(result.effects.cerbos.allow).toBe(result.effects.stepgate.allow);
    expect(Object.keys(result.decidedBy).sort()).toEqual([
      'admin-outside-office',
      'blocked-geo',
      'default deny',
      'readers',
      'team-members',
    ]);
  });

  it('fail with the first disagreements named when one engine decides differently', async () => {
    // Stepgate without its blocked-geo rule: the peers still refuse blocked countries.
    const lenient = {
      ...stepgate,
      decide: (shared: (typeof requests)[number]) => {
        const decision = stepgate.decide(shared);
        return decision.reasons.some((r: { rule: string }) => r.rule === 'blocked-geo')
          ? { ...decision, effect: 'allow' }
          : decision;
      },
    };
    const result = await checkEquivalence({
      requests,
      stepgate: lenient,
      cedar,
      cerbosUrl: cerbos.url,
    });

    expect(result.disagreements.length).toBeGreaterThan(0);
    expect(result.agreements).toBe(REQUESTS - result.disagreements.length);
    expect(() => assertEquivalent(result)).toThrow(
      new RegExp(
        `disagree on ${result.disagreements.length} of ${REQUESTS} requests[\\s\\S]*Stepgate allow \\(svc\\d+/blocked-geo\\), Cedar deny \\(svc\\d+/blocked-geo\\), Cerbos deny`,
      ),
    );
  });
});
