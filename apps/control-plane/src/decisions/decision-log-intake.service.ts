import { Inject, Injectable } from '@nestjs/common';
import {
  decisionRecordSchema,
  logBatchSchema,
  MAX_LOG_BATCH,
  type DecisionRecord,
  type LogBatchAck,
} from '@stepgate/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { LOGGER } from '../logging/logger.js';
import { DecisionLogQueueService } from './decision-log-queue.service.js';
import { DecisionMetrics } from './decision.metrics.js';

/** The batch envelope; records are checked one by one so one bad record cannot block the rest. */
const envelopeSchema = logBatchSchema.extend({
  records: z.array(z.unknown()).max(MAX_LOG_BATCH),
});

/**
 * Receives a decision-log batch from an agent socket: validates it, queues the valid records for
 * ingest and answers the agent's ack. `ok` means "queued" (the agent may forget the batch);
 * `ok: false` means "keep it and re-send", so it is only used for failures worth retrying or a
 * batch whose envelope is unusable.
 */
@Injectable()
export class DecisionLogIntakeService {
  constructor(
    private readonly queue: DecisionLogQueueService,
    private readonly metrics: DecisionMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async receive(agentId: string, body: unknown): Promise<LogBatchAck> {
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) {
      this.metrics.batches.inc({ result: 'refused' });
      const issue = envelope.error.issues[0];
      const error = `invalid log batch: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'bad shape'}`;
      this.logger.warn({ agentId }, error);
      return { ok: false, error };
    }
    const records: DecisionRecord[] = [];
    let invalid = 0;
    let firstIssue: string | undefined;
    for (const [index, candidate] of envelope.data.records.entries()) {
      const record = decisionRecordSchema.safeParse(candidate);
      if (record.success) records.push(record.data);
      else {
        invalid += 1;
        const issue = record.error.issues[0];
        firstIssue ??= `records.${index}${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'bad shape'}`;
      }
    }
    if (invalid > 0) {
      this.metrics.invalid.inc(invalid);
      this.logger.warn(
        { agentId, batchId: envelope.data.batchId, invalid, issue: firstIssue },
        'refused malformed decision records',
      );
    }
    if (records.length === 0 && envelope.data.dropped === 0) {
      // Nothing to store: retrying would not help either way.
      this.metrics.batches.inc({ result: invalid > 0 ? 'refused' : 'empty' });
      return invalid > 0
        ? { ok: true, error: `no valid record in the batch, e.g. ${firstIssue}` }
        : { ok: true };
    }
    try {
      await this.queue.enqueue({
        agentId,
        batchId: envelope.data.batchId,
        records,
        dropped: envelope.data.dropped,
        receivedAt: new Date().toISOString(),
      });
    } catch (error) {
      this.metrics.batches.inc({ result: 'error' });
      this.logger.warn(
        { agentId, batchId: envelope.data.batchId, error: (error as Error).message },
        'could not queue a decision-log batch; the agent will re-send it',
      );
      return { ok: false, error: 'the control plane could not queue the batch; retry later' };
    }
    this.metrics.batches.inc({ result: 'queued' });
    return invalid > 0
      ? { ok: true, error: `${invalid} malformed record(s) refused, e.g. ${firstIssue}` }
      : { ok: true };
  }
}
