import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyRunTaskSignature } from './run-task-signature.js';

const KEY = 'a-run-task-hmac-key';
const body = Buffer.from('{"payload_version":1}');
const sign = (data: Buffer, key = KEY) => createHmac('sha512', key).update(data).digest('hex');

describe('verifyRunTaskSignature', () => {
  it('accepts the hex HMAC-SHA512 of the raw body with the key, in either case', () => {
    expect(verifyRunTaskSignature(body, sign(body), KEY)).toBe(true);
    expect(verifyRunTaskSignature(body, sign(body).toUpperCase(), KEY)).toBe(true);
    expect(verifyRunTaskSignature(body, [sign(body)], KEY)).toBe(true);
  });

  it('refuses another key, another body, a missing, empty or malformed header', () => {
    expect(verifyRunTaskSignature(body, sign(body, 'another-hmac-key!'), KEY)).toBe(false);
    expect(verifyRunTaskSignature(Buffer.from('{"payload_version":2}'), sign(body), KEY)).toBe(
      false,
    );
    expect(verifyRunTaskSignature(body, undefined, KEY)).toBe(false);
    expect(verifyRunTaskSignature(body, '', KEY)).toBe(false);
    expect(verifyRunTaskSignature(body, `sha512=${sign(body)}`, KEY)).toBe(false);
    expect(verifyRunTaskSignature(body, sign(body).slice(0, 64), KEY)).toBe(false);
  });
});
