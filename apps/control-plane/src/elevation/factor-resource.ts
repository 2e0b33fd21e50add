import type { StepUpResource } from '../step-up/step-up-protection.js';

/**
 * `factors/<subject>` of a factor-removal route (TOTP or WebAuthn), so one self-protection
 * policy covers `stepgate:factors:delete` for both.
 */
export const factorsOf: StepUpResource = (request) =>
  `factors/${String(request.params.subject ?? '')}`;
