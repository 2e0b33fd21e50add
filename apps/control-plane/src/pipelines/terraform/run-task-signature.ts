import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header HCP Terraform signs run task requests in. */
export const RUN_TASK_SIGNATURE_HEADER = 'x-tfc-task-signature';

/**
 * Whether `signature` (the `X-TFC-Task-Signature` header) is the hex HMAC-SHA512 of the raw
 * request body with the run task's HMAC key, as the run tasks integration API documents ("the
 * signed SHA512 sum of the request payload using the configured HMAC key"). Compared in
 * constant time; a missing, empty or malformed header is simply not a match.
 */
export function verifyRunTaskSignature(
  rawBody: Buffer,
  signature: string | string[] | undefined,
  hmacKey: string,
): boolean {
  const given = Array.isArray(signature) ? signature[0] : signature;
  if (given === undefined || !/^[0-9a-fA-F]{128}$/.test(given)) return false;
  const expected = createHmac('sha512', hmacKey).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(given, 'hex'), expected);
}
