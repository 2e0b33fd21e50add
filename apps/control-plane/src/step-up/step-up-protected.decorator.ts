import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import {
  STEP_UP_PROTECTED,
  type StepUpProtection,
  type StepUpResource,
} from './step-up-protection.js';
import { StepUpGuard } from './step-up.guard.js';

/**
 * The route is a sensitive admin action: before it runs, the active policies decide `action`
 * on `{kind: "stepgate", id: resource(request)}` for the caller (see SelfProtectionService).
 * Runs after the global AuthGuard, so the caller is known.
 */
export const StepUpProtected = (action: string, resource: StepUpResource) =>
  applyDecorators(
    SetMetadata(STEP_UP_PROTECTED, { action, resource } satisfies StepUpProtection),
    UseGuards(StepUpGuard),
  );
