import { SetMetadata } from '@nestjs/common';
import {
  STEP_UP_PROTECTED,
  type StepUpProtection,
  type StepUpResource,
} from './step-up-protection.js';

/**
 * The route is a sensitive admin action: before it runs, the active policies decide `action`
 * on `{kind: "stepgate", id: resource(request)}` for the caller. Only metadata: the step-up
 * feature registers the global guard that reads it (after the AuthGuard, so the caller is
 * known), which keeps this decorator free of a dependency on the step-up feature.
 */
export const StepUpProtected = (action: string, resource: StepUpResource) =>
  SetMetadata(STEP_UP_PROTECTED, { action, resource } satisfies StepUpProtection);
