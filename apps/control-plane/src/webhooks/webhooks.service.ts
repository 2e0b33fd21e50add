import { Injectable } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import { createHash } from 'node:crypto';
import { SourcesService } from '../sources/sources.service.js';
import { SyncQueueService } from '../sync/sync-queue.service.js';
import { webhookPusher } from './webhook-pusher.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { identifyWebhook, verifyWebhook, type WebhookHeaders } from './webhook-signature.js';

export interface WebhookResult {
  status: 'queued' | 'duplicate' | 'ignored';
  reason?: string;
  jobId?: string;
}

const PUSH_EVENTS = new Set(['push', 'Push Hook']);

@Injectable()
export class WebhooksService {
  constructor(
    private readonly repository: WebhooksRepository,
    private readonly sources: SourcesService,
    private readonly queue: SyncQueueService,
  ) {}

  /** Verify, de-duplicate by delivery id, and queue a sync for a push to the tracked branch. */
  async receive(
    sourceId: string,
    headers: WebhookHeaders,
    rawBody: Buffer | undefined,
  ): Promise<WebhookResult> {
    const source = await this.sources.get(sourceId);
    const identity = identifyWebhook(headers);
    if (!identity)
      throw new StepgateError(
        'request/invalid',
        'not a GitHub, GitLab or Gitea webhook (no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header)',
      );
    const secret = this.sources.webhookSecretOf(source);
    if (!secret)
      throw new StepgateError(
        'webhook/bad_signature',
        `source "${source.name}" has no webhook secret; set one before pointing a webhook at it`,
      );
    if (!rawBody || !verifyWebhook(identity.provider, headers, rawBody, secret)) {
      throw new StepgateError(
        'webhook/bad_signature',
        `the ${identity.provider} webhook signature does not match the source's secret`,
      );
    }

    // Forges redeliver; the delivery id (or the body's hash when there is none) makes it once.
    const deliveryKey = `${identity.provider}:${identity.deliveryId ?? createHash('sha256').update(rawBody).digest('hex')}`;
    const first = await this.repository.recordDelivery(deliveryKey, sourceId);
    if (!first) return { status: 'duplicate' };

    if (!PUSH_EVENTS.has(identity.event))
      return { status: 'ignored', reason: `event ${identity.event} is not a push` };
    const payload = parseJson(rawBody);
    const ref = typeof payload?.ref === 'string' ? payload.ref : undefined;
    if (ref !== `refs/heads/${source.branch}`)
      return {
        status: 'ignored',
        reason: `push to ${ref ?? 'an unknown ref'}, not refs/heads/${source.branch}`,
      };
    const after =
      typeof payload?.after === 'string' && /^[0-9a-f]{40}$/.test(payload.after)
        ? payload.after
        : undefined;
    try {
      const jobId = await this.queue.enqueue({
        sourceId,
        trigger: 'webhook',
        pushedBy: webhookPusher(identity.provider, payload),
        ...(after ? { headSha: after } : {}),
      });
      return { status: 'queued', jobId };
    } catch (error) {
      // Not queued: forget the delivery so the forge's redelivery is processed, not "duplicate".
      await this.repository.forgetDelivery(deliveryKey);
      throw error;
    }
  }
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
