import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { AuditService } from '../audit/audit.service.js';
import type { AgentMetrics } from './agent.metrics.js';
import type { LiveRevisions } from './catch-up.js';
import type { LiveRevisionsService } from './live-revisions.service.js';
import { UnknownRevisionsService } from './unknown-revisions.service.js';

const live = (revision: number): LiveRevisions => ({
  revision,
  active: { revision, versionId: 'v', activatedAt: new Date() },
  shadow: null,
  shadowChangedAt: null,
});

function setup(current = 12) {
  const state = { current };
  const reads = vi.fn(async () => live(state.current));
  const record = vi.fn(async () => undefined);
  const inc = vi.fn();
  const service = new UnknownRevisionsService(
    { current: reads } as unknown as LiveRevisionsService,
    { record } as unknown as AuditService,
    { unknownRevisions: { inc } } as unknown as AgentMetrics,
    { warn: vi.fn() } as unknown as Logger,
  );
  return { service, reads, record, inc, state };
}

const ack = (revision: number, agentId = 'web-1') =>
  ({ agentId, kind: 'active', revision, via: 'ack' }) as const;

describe('UnknownRevisionsService', () => {
  it('costs no read for a revision at or below the highest one seen', async () => {
    const { service, reads, record } = setup();
    service.observe(live(12));
    for (const revision of [1, 7, 12]) expect(await service.check(ack(revision))).toBe(false);
    expect(reads).not.toHaveBeenCalled();
    expect(record).not.toHaveBeenCalled();
  });

  it('reads the live revision for one above it: issued meanwhile is fine, past it is flagged', async () => {
    const { service, reads, record, inc, state } = setup(12);
    service.observe(live(12));
    state.current = 13; // activated a moment ago, perhaps on another replica
    expect(await service.check(ack(13))).toBe(false);
    expect(reads).toHaveBeenCalledTimes(1);
    // Now known: no read for it again.
    expect(await service.check(ack(13, 'web-2'))).toBe(false);
    expect(reads).toHaveBeenCalledTimes(1);

    expect(await service.check(ack(2_000_000_000))).toBe(true);
    expect(inc).toHaveBeenCalledWith({ kind: 'active', via: 'ack' });
    expect(record).toHaveBeenCalledWith({
      actor: 'agent:web-1',
      action: 'agent.unknown_revision',
      target: 'agent:web-1',
      details: { kind: 'active', revision: 2_000_000_000, liveRevision: 13, via: 'ack' },
    });
  });

  it('audits the same agent, kind and revision once a while, but counts every report', async () => {
    const { service, record, inc } = setup(5);
    for (let i = 0; i < 3; i++) expect(await service.check(ack(99))).toBe(true);
    expect(record).toHaveBeenCalledTimes(1);
    expect(inc).toHaveBeenCalledTimes(3);
    await service.check(ack(99, 'web-2'));
    expect(record).toHaveBeenCalledTimes(2);
  });

  it('takes announcing revision 0 as holding nothing', async () => {
    const { service, reads } = setup(0);
    expect(
      await service.check({ agentId: 'a', kind: 'shadow', revision: 0, via: 'handshake' }),
    ).toBe(false);
    expect(reads).not.toHaveBeenCalled();
  });
});
