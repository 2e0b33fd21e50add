import { applyDecorators, Delete, HttpCode } from '@nestjs/common';
import { RequireScopes } from '../common/scopes.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import type { StepUpResource } from '../common/step-up-protection.js';

/**
 * `factors/<subject>` of a factor-removal route (TOTP or WebAuthn), so one self-protection
 * policy covers `stepgate:factors:delete` for both.
 */
export const factorsOf: StepUpResource = (request) =>
  `factors/${String(request.params.subject ?? '')}`;

/**
 * `DELETE .../:subject` removing a subject's factors (TOTP or security keys): admin only, and
 * a protected admin action, since without a factor the subject may enrol a new one and so this
 * decides who can act. One decorator, so the two factor kinds cannot drift apart.
 */
export const FactorRemoval = () =>
  applyDecorators(
    Delete(':subject'),
    HttpCode(204),
    RequireScopes('admin'),
    StepUpProtected('stepgate:factors:delete', factorsOf),
  );
