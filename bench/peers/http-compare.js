// Decisions over HTTP: the Stepgate agent's `POST /v1/decide` and the Cerbos PDP's
// `POST /api/check/resources` (one action per call), driven by the same load generator
// (bench/support/http-load.js, its own process: N keep-alive connections, closed loop) with the
// same concurrency and the same requests, in interleaved rounds A, B, A, B... Each round is a
// fresh generator process with its own warm-up; the server's CPU is read from /proc over the
// measured window.
import { join } from 'node:path';
import {
  cpuMeter,
  forkTracked,
  machineMeter,
  median,
  stopProcess,
  withTimeout,
} from '../support/processes.js';

const LOAD_GENERATOR = join(import.meta.dirname, '../support/http-load.js');

/** One measured window against `target`; throws on transport errors or non-200 answers. */
async function loadRound(target, { concurrency, warmupMs, durationMs }) {
  const child = forkTracked(LOAD_GENERATOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let server;
  let machine;
  const cpu = {};
  try {
    const result = await withTimeout(
      new Promise((resolve, reject) => {
        child.on('message', (message) => {
          if (message.type === 'measuring') {
            server = cpuMeter(target.pid);
            machine = machineMeter();
          } else if (message.type === 'window-over') {
            cpu.server = server().cores;
            cpu.machine = machine();
          } else if (message.type === 'result') resolve(message);
          else if (message.type === 'error')
            reject(new Error(`load generator: ${message.message}`));
        });
        child.once('exit', (code) => reject(new Error(`the load generator exited with ${code}`)));
        child.send({
          cmd: 'run',
          url: target.url,
          path: target.path,
          bodies: target.bodies,
          concurrency,
          warmupMs,
          durationMs,
        });
      }),
      warmupMs + durationMs + 30_000,
      `the load generator against ${target.name}`,
    );
    const nonOk = result.completed - (result.statuses[200] ?? 0);
    if (result.errors > 0 || nonOk > 0 || result.completed === 0)
      throw new Error(
        `${target.name} under load: ${result.completed} answers, ${result.errors} transport errors, statuses ${JSON.stringify(result.statuses)}: a failing server is not a benchmark`,
      );
    return {
      perSecond: result.perSecond,
      latencyMicros: result.latencyMicros,
      serverCores: cpu.server,
      machineCores: cpu.machine,
      generatorCores: result.generatorCores,
    };
  } finally {
    await stopProcess(child, 2000);
  }
}

/**
 * @param {{ name: string, url: string, path: string, pid: number, bodies: string[] }[]} targets
 * @param {{ rounds: number, concurrency: number, warmupMs: number, durationMs: number, log: (line: string) => void }} options
 */
export async function compareHttp(targets, { rounds, concurrency, warmupMs, durationMs, log }) {
  const results = targets.map((t) => ({ name: t.name, rounds: [] }));
  for (let round = 0; round < rounds; round++)
    for (const [index, target] of targets.entries()) {
      const measured = await loadRound(target, { concurrency, warmupMs, durationMs });
      results[index].rounds.push(measured);
      log(
        `HTTP round ${round + 1}/${rounds}: ${target.name} ${Math.round(measured.perSecond).toLocaleString('en-US')} decisions/s, p99 ${(measured.latencyMicros.p99 / 1000).toFixed(2)} ms, server ${measured.serverCores.toFixed(2)} cores`,
      );
    }
  return results.map(({ name, rounds: measured }) => {
    const pick = (f) => median(measured.map(f));
    return {
      name,
      rounds: measured,
      decisionsPerSecond: pick((r) => r.perSecond),
      latencyMillis: {
        p50: pick((r) => r.latencyMicros.p50) / 1000,
        p99: pick((r) => r.latencyMicros.p99) / 1000,
        p999: pick((r) => r.latencyMicros.p999) / 1000,
      },
      serverCores: pick((r) => r.serverCores),
      /** Decisions per CPU-second of the server process: what the machine pays per decision. */
      decisionsPerCpuSecond: pick((r) => r.perSecond / r.serverCores),
      generatorCores: pick((r) => r.generatorCores),
    };
  });
}
