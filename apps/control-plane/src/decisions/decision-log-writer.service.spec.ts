import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/configuration.js';
import { MetricsRegistry } from '../common/metrics.registry.js';
import type { DecisionIngestService } from './decision-ingest.service.js';
import { DecisionLogWriterService } from './decision-log-writer.service.js';
import type { DecisionLogJobs } from './decision-logs.queue.js';
import { DecisionMetrics } from './decision.metrics.js';

type Batch = DecisionLogJobs['ingest'];

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

function batch(id: string, records = 2): Batch {
  return {
    agentId: 'a',
    batchId: id,
    records: Array.from({ length: records }, () => ({})) as Batch['records'],
    dropped: 0,
    receivedAt: new Date(0).toISOString(),
  };
}

/** The ingest service's I/O, scripted: `down` outage failures, then success. */
function fakeIngest(script: { down?: number; dataError?: string } = {}) {
  const calls = { many: [] as string[][], each: [] as string[], probes: 0 };
  let down = script.down ?? 0;
  const ingest = {
    async ingestMany(batches: Batch[]) {
      calls.many.push(batches.map((b) => b.batchId));
      if (down > 0) {
        down -= 1;
        throw refused();
      }
      if (script.dataError && batches.some((b) => b.batchId === script.dataError))
        throw Object.assign(new Error('invalid input syntax'), { code: '22P02' });
      return { inserted: 0, skipped: 0 };
    },
    async ingest(b: Batch) {
      calls.each.push(b.batchId);
      if (b.batchId === script.dataError) throw new Error('still failing');
      return { inserted: b.records.length, skipped: 0 };
    },
    async reachable() {
      calls.probes += 1;
      return down === 0;
    },
  };
  return { ingest: ingest as unknown as DecisionIngestService, calls };
}

const quietLogger = { warn() {}, info() {} } as unknown as Logger;

function writer(ingest: DecisionIngestService, baseMs = 10) {
  const metrics = new DecisionMetrics(new MetricsRegistry());
  const config = loadConfig({ STEPGATE_INGEST_RETRY_BASE: `${baseMs}ms` });
  return { metrics, writer: new DecisionLogWriterService(ingest, metrics, config, quietLogger) };
}

async function gauge(metrics: DecisionMetrics, name: 'databaseUp' | 'pendingRecords') {
  return (await metrics[name].get()).values[0]?.value;
}

describe('DecisionLogWriterService', () => {
  it('holds writes through an outage longer than any attempt budget, then stores them', async () => {
    // 12 failed tries (10 ms base, capped at 300 ms: ~2 s), more than the 8 attempts the queue
    // used to allow, and not one is given up.
    const { ingest, calls } = fakeIngest({ down: 12 });
    const { writer: w, metrics } = writer(ingest);
    const stored = Promise.all([w.store(batch('b1')), w.store(batch('b2'))]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await gauge(metrics, 'databaseUp')).toBe(0);
    expect(await gauge(metrics, 'pendingRecords')).toBe(4);
    await expect(stored).resolves.toEqual([undefined, undefined]);
    expect(calls.many).toHaveLength(13);
    expect(calls.many.every((ids) => ids.join() === 'b1,b2')).toBe(true);
    expect(calls.each).toEqual([]); // never fell back to the per-batch path
    expect(await gauge(metrics, 'databaseUp')).toBe(1);
    expect(await gauge(metrics, 'pendingRecords')).toBe(0);
  }, 10_000);

  it('waits min(base * 2^n, 30 * base) between tries', async () => {
    const { ingest } = fakeIngest({ down: 4 });
    const { writer: w } = writer(ingest, 20);
    const started = Date.now();
    await w.store(batch('b'));
    // 20 + 40 + 80 + 160 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
  });

  it('a refused statement with PostgreSQL up falls back batch by batch: only the bad job fails', async () => {
    const { ingest, calls } = fakeIngest({ dataError: 'bad' });
    const { writer: w } = writer(ingest);
    const results = await Promise.allSettled([
      w.store(batch('ok-1')),
      w.store(batch('bad')),
      w.store(batch('ok-2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(calls.each.sort()).toEqual(['bad', 'ok-1', 'ok-2']);
  });

  it('an unclassified error while PostgreSQL does not answer is an outage too', async () => {
    let failures = 3;
    const calls = { many: 0 };
    const ingest = {
      async ingestMany() {
        calls.many += 1;
        if (failures-- > 0) throw new Error('something odd from the driver');
        return { inserted: 0, skipped: 0 };
      },
      ingest: () => Promise.reject(new Error('must not fall back')),
      reachable: async () => failures < 0,
    } as unknown as DecisionIngestService;
    const { writer: w } = writer(ingest);
    await expect(w.store(batch('b'))).resolves.toBeUndefined();
    expect(calls.many).toBe(4);
  });

  it('gives up held writes on shutdown, so the worker can close (the jobs stay queued)', async () => {
    const { ingest } = fakeIngest({ down: 1_000_000 });
    const { writer: w } = writer(ingest, 1000);
    const held = w.store(batch('b'));
    await new Promise((r) => setTimeout(r, 20));
    w.onModuleDestroy();
    await expect(held).rejects.toThrow(/shutting down/);
  });
});
