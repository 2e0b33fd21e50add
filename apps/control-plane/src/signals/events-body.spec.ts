import type { SignalDeclaration } from '@stepgate/policy';
import { EVENTS_MAX_BATCH, StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { parseEvents } from './events-body.js';
import { planEvents } from './signal-plan.js';

const NOW = Date.parse('2026-12-02T10:00:00Z');

function refusal(run: () => unknown): StepgateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StepgateError);
    return error as StepgateError;
  }
  throw new Error('expected a refusal');
}

describe('parseEvents', () => {
  it('reads one plain event, an array, and {"events": [...]}, time defaulting to arrival', () => {
    const one = parseEvents(
      'application/json; charset=utf-8',
      { type: 'login_failed', subject: 'alice' },
      NOW,
    );
    expect(one).toEqual([{ type: 'login_failed', subject: 'alice', time: NOW, data: {} }]);
    const many = parseEvents(
      'application/json',
      [
        { type: 'login', subject: 'a', time: '2026-12-02T09:00:00Z', data: { country: 'FR' } },
        { type: 'login', subject: 'b', id: 'x', attributes: { country: 'DE' } },
      ],
      NOW,
    );
    expect(many).toEqual([
      { type: 'login', subject: 'a', time: NOW - 3_600_000, data: { country: 'FR' } },
      { type: 'login', subject: 'b', time: NOW, id: 'id:x', data: { country: 'DE' } },
    ]);
    const wrapped = parseEvents('application/json', { events: [{ type: 't', subject: 's' }] }, NOW);
    expect(wrapped).toHaveLength(1);
  });

  it('reads CloudEvents: one, a batch, or mixed in application/json; source and id make the key', () => {
    const cloud = {
      specversion: '1.0',
      id: 'e1',
      source: 'https://idp.example.com',
      type: 'login_failed',
      subject: 'alice',
      time: '2026-12-02T09:59:00Z',
      data: { ip: '203.0.113.9' },
      // Extension attributes are allowed (CloudEvents 1.0).
      traceparent: '00-abc',
    };
    const [event] = parseEvents('application/cloudevents+json', cloud, NOW);
    expect(event).toEqual({
      type: 'login_failed',
      subject: 'alice',
      time: NOW - 60_000,
      id: 'ce:["https://idp.example.com","e1"]',
      data: { ip: '203.0.113.9' },
    });
    const other = parseEvents(
      'application/cloudevents-batch+json',
      [cloud, { ...cloud, source: 'other' }],
      NOW,
    );
    expect(other[0]?.id).not.toBe(other[1]?.id);
    const mixed = parseEvents(
      'application/json',
      [cloud, { type: 't', subject: 's', id: 'e1' }],
      NOW,
    );
    expect(mixed.map((e) => e.id)).toEqual(['ce:["https://idp.example.com","e1"]', 'id:e1']);
  });

  it('names the bad item, its field and why; nothing else is returned', () => {
    const error = refusal(() =>
      parseEvents(
        'application/json',
        [
          { type: 'a', subject: 'x' },
          { type: 'a', subject: 'x' },
          { type: 'a', subject: 'x' },
          { type: 'a', subject: '' },
        ],
        NOW,
      ),
    );
    expect(error.code).toBe('request/invalid');
    expect(error.message).toMatch(/^events\[3\]\.subject: subject must not be empty/);
    expect(error.details).toEqual([
      { path: 'events[3].subject', message: 'subject must not be empty' },
    ]);

    const unknown = refusal(() =>
      parseEvents('application/json', [{ type: 'a', subject: 'x', attrs: {} }], NOW),
    );
    expect(unknown.message).toMatch(/^events\[0\]: .*attrs/);

    const cloud = refusal(() =>
      parseEvents(
        'application/cloudevents-batch+json',
        [{ specversion: '0.3', id: '1', source: 's', type: 't', subject: 'x' }],
        NOW,
      ),
    );
    expect(cloud.message).toMatch(/^events\[0\]\.specversion: specversion must be "1.0"/);

    const base64 = refusal(() =>
      parseEvents(
        'application/cloudevents+json',
        { specversion: '1.0', id: '1', source: 's', type: 't', subject: 'x', data_base64: 'AA==' },
        NOW,
      ),
    );
    expect(base64.message).toMatch(/^events\[0\]\.data_base64: data_base64 is not accepted/);

    const missing = refusal(() =>
      parseEvents(
        'application/cloudevents+json',
        { specversion: '1.0', id: '1', source: 's', type: 't' },
        NOW,
      ),
    );
    expect(missing.message).toMatch(/^events\[0\]\.subject: /);

    const notObject = refusal(() => parseEvents('application/json', [1], NOW));
    expect(notObject.message).toBe('events[0]: an event is a JSON object');
  });

  it('refuses times more than 5 minutes ahead, with the sender clock to check', () => {
    const ahead = new Date(NOW + 6 * 60_000).toISOString();
    const error = refusal(() =>
      parseEvents('application/json', [{ type: 't', subject: 's', time: ahead }], NOW),
    );
    expect(error.message).toMatch(/^events\[0\]\.time: .*more than 5 minutes ahead.*clock/);
    const near = new Date(NOW + 4 * 60_000).toISOString();
    expect(
      parseEvents('application/json', { type: 't', subject: 's', time: near }, NOW)[0]?.time,
    ).toBe(NOW + 4 * 60_000);
    const notDate = refusal(() =>
      parseEvents('application/json', { type: 't', subject: 's', time: 'yesterday' }, NOW),
    );
    expect(notDate.message).toMatch(/^events\[0\]\.time: /);
  });

  it('refuses other content types (415), the wrong shape per type, and too many events', () => {
    const type = refusal(() => parseEvents('text/plain', {}, NOW));
    expect(type.status).toBe(415);
    expect(type.message).toContain('application/cloudevents-batch+json');
    expect(refusal(() => parseEvents(undefined, {}, NOW)).status).toBe(415);
    expect(refusal(() => parseEvents('application/cloudevents+json', [], NOW)).message).toContain(
      'application/cloudevents-batch+json',
    );
    expect(
      refusal(() => parseEvents('application/cloudevents-batch+json', {}, NOW)).message,
    ).toContain('JSON array');
    const many = Array.from({ length: EVENTS_MAX_BATCH + 1 }, () => ({ type: 't', subject: 's' }));
    expect(refusal(() => parseEvents('application/json', many, NOW)).message).toContain(
      `at most ${EVENTS_MAX_BATCH}`,
    );
    expect(
      refusal(() => parseEvents('application/json', { events: [], extra: 1 }, NOW)).message,
    ).toContain('"extra"');
    expect(parseEvents('application/cloudevents-batch+json', [], NOW)).toEqual([]);
  });
});

describe('planEvents', () => {
  const signals: Record<string, SignalDeclaration> = {
    failed_logins: { event: 'login_failed', window: 3600, aggregate: 'count' },
    last_country: { event: 'login', window: 60, aggregate: 'last', field: 'country' },
  };
  const key = (id: string) => `k(${id})`;

  it('keeps only events a declared signal reads, with their feeds', () => {
    const planned = planEvents(
      [
        { type: 'login_failed', subject: 'a', time: NOW, id: 'id:1', data: {} },
        { type: 'other', subject: 'a', time: NOW, data: {} },
        { type: 'login', subject: 'a', time: NOW, data: { country: 'FR' } },
        { type: 'login', subject: 'a', time: NOW, data: {} },
      ],
      signals,
      key,
    );
    expect(planned).toEqual([
      {
        s: 'a',
        t: NOW,
        id: 'k(id:1)',
        u: [{ n: 'failed_logins', a: 'count', w: 3_600_000, m: 'k(id:1)' }],
      },
      { s: 'a', t: NOW, u: [{ n: 'last_country', a: 'last', w: 60_000, m: '"FR"' }] },
    ]);
  });

  it('refuses a field a signal reads that cannot be a signal value, naming the event', () => {
    const error = refusal(() =>
      planEvents(
        [
          { type: 'login', subject: 'a', time: NOW, data: { country: 'FR' } },
          { type: 'login', subject: 'a', time: NOW, data: { country: { code: 'FR' } } },
        ],
        signals,
        key,
      ),
    );
    expect(error.message).toMatch(
      /^events\[1\]\.data\.country: signal "last_country" \(last\) reads this field: it must be a string, number, boolean or null/,
    );
  });
});
