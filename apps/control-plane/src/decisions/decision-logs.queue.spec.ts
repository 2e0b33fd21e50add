import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/configuration.js';
import { decisionRow } from './decision-ingest.service.js';
import { pruneIntervalMs } from './decision-log-queue.service.js';
import { decisionLogJobId } from './decision-logs.queue.js';

describe('decisionLogJobId', () => {
  it('is <agentId>.<batchId>, unambiguous and free of ":"', () => {
    expect(decisionLogJobId('web-1', 'b-42')).toBe('web-1.b-42');
    expect(decisionLogJobId('a.b', 'c')).not.toBe(decisionLogJobId('a', 'b.c'));
    expect(decisionLogJobId('node:7', 'x:y')).not.toContain(':');
    expect(decisionLogJobId('a%2E', 'b')).not.toBe(decisionLogJobId('a.', 'b'));
  });
});

describe('retention', () => {
  it('STEPGATE_DECISION_RETENTION defaults to 30 days and accepts durations', () => {
    expect(loadConfig({}).decisionRetentionSeconds).toBe(30 * 86_400);
    expect(loadConfig({ STEPGATE_DECISION_RETENTION: '7d' }).decisionRetentionSeconds).toBe(
      7 * 86_400,
    );
    expect(loadConfig({ STEPGATE_DECISION_RETENTION: '90m' }).decisionRetentionSeconds).toBe(5400);
    expect(() => loadConfig({ STEPGATE_DECISION_RETENTION: '10s' })).toThrow(/at least 60s/);
    expect(() => loadConfig({ STEPGATE_DECISION_RETENTION: 'forever' })).toThrow(
      /STEPGATE_DECISION_RETENTION/,
    );
  });

  it('prunes hourly, or more often for a short retention', () => {
    expect(pruneIntervalMs(30 * 86_400)).toBe(3600_000);
    expect(pruneIntervalMs(60)).toBe(6000);
  });
});

describe('decisionRow', () => {
  it('maps a record, shadow included, to its row', () => {
    const row = decisionRow('web-1', {
      decisionId: 'd-1',
      at: '2026-11-23T10:00:00.000Z',
      revision: 4,
      effect: 'allow',
      reasons: [{ policy: 'api', rule: 'read', effect: 'allow' }],
      principal: 'alice',
      action: 'api:read',
      resource: { kind: 'api', id: 'users' },
      input: { principal: { id: 'alice' } },
      shadow: { effect: 'deny', revision: 5, reasons: [] },
      durationNs: 1500,
    });
    expect(row).toEqual({
      id: 'd-1',
      at: new Date('2026-11-23T10:00:00.000Z'),
      agentId: 'web-1',
      revision: 4,
      effect: 'allow',
      failReason: null,
      principal: 'alice',
      action: 'api:read',
      resourceKind: 'api',
      resourceId: 'users',
      reasons: [{ policy: 'api', rule: 'read', effect: 'allow' }],
      input: { principal: { id: 'alice' } },
      shadowEffect: 'deny',
      shadowRevision: 5,
      shadowReasons: [],
      errors: 0,
      durationNs: 1500n,
    });
  });
});
