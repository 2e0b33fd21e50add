// The three policy sets must be the same policy before any speed is compared: every shared
// request is decided by Stepgate (in-process), Cedar (in-process) and the Cerbos PDP (HTTP), and
// the allow/deny answers must agree, Stepgate's step_up counting as deny (the requests carry no
// evidence, so the step-up is unmet, which the peers can only express as a refusal).
import { cerbosDecide } from './cerbos-pdp.js';
import { toCerbos } from './requests.js';

const CERBOS_CONCURRENCY = 16;

/** Stepgate's effect as the peers can express it. */
export const asPeerEffect = (effect) => (effect === 'step_up' ? 'deny' : effect);

/** The rule kind that decided (the part after `<service>/`), or `default deny`. */
function decidingRules(decision) {
  return decision.reasons.map((r) => (r.policy === '(default)' ? 'default deny' : r.rule));
}

/**
 * @param {{ requests: {request: object, now: Date}[], stepgate: ReturnType<typeof import('./stepgate-engine.js').stepgateEngine>, cedar: ReturnType<typeof import('./cedar-engine.js').cedarEngine>, cerbosUrl: string }} input
 * @returns {Promise<{ requests: number, agreements: number, disagreements: object[], effects: Record<string, Record<string, number>>, decidedBy: Record<string, number> }>}
 */
export async function checkEquivalence({ requests, stepgate, cedar, cerbosUrl }) {
  const cerbos = new Array(requests.length);
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const index = next++;
      cerbos[index] = await cerbosDecide(cerbosUrl, toCerbos(requests[index], `eq-${index}`));
    }
  };
  await Promise.all(Array.from({ length: CERBOS_CONCURRENCY }, lane));

  const effects = { stepgate: {}, cedar: {}, cerbos: {} };
  const count = (engine, effect) => (effects[engine][effect] = (effects[engine][effect] ?? 0) + 1);
  const decidedBy = {};
  const disagreements = [];
  let agreements = 0;
  requests.forEach((shared, index) => {
    const decision = stepgate.decide(shared);
    if (decision.errors?.length)
      throw new Error(
        `Stepgate rule errors on request ${index} (the set must not depend on onError): ${JSON.stringify(decision.errors)}`,
      );
    const cedarAnswer = cedar.decide(cedar.prepare(shared));
    const answers = {
      stepgate: asPeerEffect(decision.effect),
      cedar: cedarAnswer.decision,
      cerbos: cerbos[index],
    };
    count('stepgate', decision.effect);
    count('cedar', answers.cedar);
    count('cerbos', answers.cerbos);
    for (const rule of new Set(decidingRules(decision)))
      decidedBy[rule] = (decidedBy[rule] ?? 0) + 1;
    if (answers.stepgate === answers.cedar && answers.stepgate === answers.cerbos) agreements++;
    else
      disagreements.push({
        index,
        answers: { ...answers, stepgateEffect: decision.effect },
        stepgateReasons: decision.reasons.map((r) => `${r.policy}/${r.rule}`),
        cedarReasons: cedarAnswer.reasons,
        request: shared.request,
        now: shared.now.toISOString(),
      });
  });
  return { requests: requests.length, agreements, disagreements, effects, decidedBy };
}

/** Throws a readable error naming the first disagreements; returns the result otherwise. */
export function assertEquivalent(result, shown = 5) {
  if (result.disagreements.length === 0) return result;
  const lines = result.disagreements
    .slice(0, shown)
    .map(
      (d) =>
        `  #${d.index} at ${d.now}: Stepgate ${d.answers.stepgateEffect} (${d.stepgateReasons.join(', ')}), Cedar ${d.answers.cedar} (${d.cedarReasons.join(', ') || 'no policy'}), Cerbos ${d.answers.cerbos}\n    ${JSON.stringify(d.request)}`,
    );
  throw new Error(
    `the three policy sets disagree on ${result.disagreements.length} of ${result.requests} requests: no comparison is meaningful until bench/peers/policy-set.js expresses the same policy in each language. First ${lines.length}:\n${lines.join('\n')}`,
  );
}

/**
 * The agent under HTTP load must serve this very set: it decides on its own clock, so each
 * request is compared with in-process Stepgate one minute either side of the call, and only
 * where both give the same effect (a time window edge in between would make either answer right).
 * @returns {Promise<{ compared: number, skipped: number }>} throws naming the first mismatch
 */
export async function checkAgentServesSet({ agentUrl, requests, stepgate }) {
  let compared = 0;
  let skipped = 0;
  for (const [index, shared] of requests.entries()) {
    const at = Date.now();
    const before = stepgate.decide({ ...shared, now: new Date(at - 60_000) }).effect;
    const after = stepgate.decide({ ...shared, now: new Date(at + 60_000) }).effect;
    const response = await fetch(`${agentUrl}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(shared.request),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await response.json();
    if (!response.ok)
      throw new Error(`the agent answered ${response.status}: ${JSON.stringify(body)}`);
    if (before !== after) {
      skipped++;
      continue;
    }
    if (body.effect !== before)
      throw new Error(
        `the agent decided request ${index} ${body.effect}, in-process Stepgate ${before}: it does not serve the benchmark's policy set (${JSON.stringify(body).slice(0, 400)})`,
      );
    compared++;
  }
  return { compared, skipped };
}
