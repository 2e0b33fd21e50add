import { describe, expect, it } from 'vitest';
import { redisErrorLogger } from './redis-error-log.js';

describe('redisErrorLogger', () => {
  it('logs the first error at once, then at most once per interval with the count', () => {
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    let clock = 1000;
    const log = redisErrorLogger(
      {
        warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
      } as never,
      'sync queue',
      10_000,
      () => clock,
    );
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    log(refused);
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      log(refused);
    }
    clock += 6000;
    log(refused);
    expect(lines).toEqual([
      {
        fields: { error: 'connect ECONNREFUSED 127.0.0.1:6379', errors: 1 },
        msg: 'sync queue: Redis unavailable',
      },
      {
        fields: { error: 'connect ECONNREFUSED 127.0.0.1:6379', errors: 6 },
        msg: 'sync queue: Redis unavailable',
      },
    ]);
  });
});
