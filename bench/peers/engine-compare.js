// In-process decisions: Stepgate's PolicyEngine and Cedar's statefulIsAuthorized on the same
// requests, in interleaved rounds (Stepgate, Cedar, Stepgate, Cedar...) so that whatever else
// the machine does (other test runs, a noisy neighbour) lands on both. Each round has a
// throughput pass (no timer around single calls: decisions counted against the clock, checked
// every BATCH calls) and a latency pass (every call timed on its own with hrtime).
import { percentile, median } from '../support/processes.js';

// Small, so that a slow engine (a few ms per call) does not overrun its pass by much.
const BATCH = 8;

/**
 * One engine's callable and its prepared inputs. `decide(input)` must return something derived
 * from the answer, so that no engine can have its work optimised away.
 * `cursor` carries on where the previous pass stopped, so that an engine too slow to go through
 * all inputs in one pass still sees all of them over the rounds.
 * @typedef {{ name: string, inputs: unknown[], decide: (input: unknown) => unknown, cursor?: number }} Contender
 */

function throughputPass(contender, ms) {
  const { inputs, decide } = contender;
  const deadline = performance.now() + ms;
  let cursor = contender.cursor ?? 0;
  let done = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  while (performance.now() < deadline)
    for (let k = 0; k < BATCH; k++) {
      if (decide(inputs[cursor]) === 'allow') sink++;
      cursor = cursor + 1 === inputs.length ? 0 : cursor + 1;
      done++;
    }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  contender.cursor = cursor;
  return { perSecond: done / seconds, sink };
}

function latencyPass(contender, ms, samples) {
  const { inputs, decide } = contender;
  const deadline = performance.now() + ms;
  let i = 0;
  // A different stride from the throughput pass: not the same order every time.
  while (performance.now() < deadline) {
    const input = inputs[(i * 7) % inputs.length];
    const start = process.hrtime.bigint();
    decide(input);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
    i++;
  }
}

/**
 * @param {Contender[]} contenders
 * @param {{ rounds: number, warmupMs: number, throughputMs: number, latencyMs: number, log: (line: string) => void }} options
 */
export async function compareEngines(
  contenders,
  { rounds, warmupMs, throughputMs, latencyMs, log },
) {
  // Passes are synchronous; yielding between them lets a SIGTERM (an overrunning part) through.
  const yieldToEvents = () => new Promise((resolve) => setImmediate(resolve));
  for (const contender of contenders) {
    throughputPass(contender, warmupMs);
    await yieldToEvents();
  }
  const results = contenders.map((c) => ({ name: c.name, rates: [], latencies: [] }));
  for (let round = 0; round < rounds; round++)
    for (const [index, contender] of contenders.entries()) {
      const result = results[index];
      const { perSecond } = throughputPass(contender, throughputMs);
      result.rates.push(perSecond);
      await yieldToEvents();
      latencyPass(contender, latencyMs, result.latencies);
      await yieldToEvents();
      log(
        `in-process round ${round + 1}/${rounds}: ${contender.name} ${Math.round(perSecond).toLocaleString('en-US')} decisions/s`,
      );
    }
  return results.map(({ name, rates, latencies }) => ({
    name,
    rounds: rates,
    decisionsPerSecond: median(rates),
    samples: latencies.length,
    latencyMicros: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      max: latencies.reduce((a, b) => (b > a ? b : a), 0),
    },
  }));
}
