/**
 * The user asked for something the CLI cannot do as written (a missing token, a malformed
 * argument, conflicting options). Admin commands exit 2 on it, like commander's own usage errors.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
