// A closed-loop HTTP load generator in its own process: `concurrency` keep-alive connections,
// each sending the next request as soon as the previous answer arrived. Driven over IPC:
//   parent -> {cmd: 'run', url, path, bodies: string[], concurrency, warmupMs, durationMs}
//   child  -> {type: 'measuring'}                 (warm-up over, measured window starts)
//          -> {type: 'result', ...}               (window over)
// Latency is request written -> full response read, per request, in microseconds.
import http from 'node:http';

const send = (message) => process.send?.(message);

function pct(sorted, count, p) {
  if (count === 0) return NaN;
  return sorted[Math.min(count - 1, Math.max(0, Math.ceil(p * count) - 1))];
}

async function run({ url, path, bodies, concurrency, warmupMs, durationMs }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const payloads = bodies.map((body) => Buffer.from(body));
  const latencies = new Float64Array(4_000_000);
  let recorded = 0;
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let errors = 0;
  const statuses = {};
  const effects = {};
  let sent = 0;

  const once = (payload) =>
    new Promise((resolve) => {
      const start = process.hrtime.bigint();
      const request = http.request(
        {
          host: target.hostname,
          port: target.port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            if (measuring) {
              const micros = Number(process.hrtime.bigint() - start) / 1000;
              if (recorded < latencies.length) latencies[recorded++] = micros;
              completed++;
              statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
              // Effects of a sample of the answers (parsing every one would cost the generator).
              if (completed % 64 === 0) {
                try {
                  const effect = JSON.parse(Buffer.concat(chunks).toString()).effect;
                  effects[effect] = (effects[effect] ?? 0) + 1;
                } catch {
                  effects.unparsable = (effects.unparsable ?? 0) + 1;
                }
              }
            }
            resolve();
          });
          response.on('error', () => {
            if (measuring) errors++;
            resolve();
          });
        },
      );
      request.on('error', () => {
        if (measuring) errors++;
        setTimeout(resolve, 5);
      });
      request.end(payload);
    });

  const lane = async (offset) => {
    let i = offset;
    while (!stopped) {
      await once(payloads[i % payloads.length]);
      i += concurrency;
      sent++;
    }
  };
  const lanes = Array.from({ length: concurrency }, (_, i) => lane(i));

  await new Promise((r) => setTimeout(r, warmupMs));
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  measuring = true;
  send({ type: 'measuring' });
  await new Promise((r) => setTimeout(r, durationMs));
  measuring = false;
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  send({ type: 'window-over' });
  stopped = true;
  await Promise.race([Promise.all(lanes), new Promise((r) => setTimeout(r, 5000))]);
  agent.destroy();

  const sorted = latencies.subarray(0, recorded).sort();
  send({
    type: 'result',
    seconds,
    completed,
    errors,
    sent,
    statuses,
    effects,
    perSecond: completed / seconds,
    latencyMicros: {
      p50: pct(sorted, recorded, 0.5),
      p90: pct(sorted, recorded, 0.9),
      p99: pct(sorted, recorded, 0.99),
      p999: pct(sorted, recorded, 0.999),
      max: recorded ? sorted[recorded - 1] : NaN,
    },
    generatorCores: (cpu.user + cpu.system) / 1e6 / seconds,
  });
}

process.on('message', (message) => {
  if (message.cmd === 'run')
    run(message).then(
      () => setTimeout(() => process.exit(0), 20),
      (error) => {
        send({ type: 'error', message: String(error?.stack ?? error) });
        setTimeout(() => process.exit(1), 20);
      },
    );
});
process.on('disconnect', () => process.exit(0));
