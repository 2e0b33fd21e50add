import type { AuthenticatedRequest } from './authenticated-request.js';

export const STEP_UP_PROTECTED = 'stepgate:step-up-protected';

/** Lookups a resource function may need to name a version the way policies see it. */
export interface StepUpResourceHelpers {
  /** A version reference (number, id, sha prefix) as its number; unknown refs stay as given. */
  versionNumber(ref: string): Promise<string>;
  /** The number of the version a plain rollback would go back to, or `previous`. */
  previousVersionNumber(): Promise<string>;
}

/** The resource id of a protected route, from its (not yet validated) request. */
export type StepUpResource = (
  request: AuthenticatedRequest,
  helpers: StepUpResourceHelpers,
) => string | Promise<string>;

export interface StepUpProtection {
  action: string;
  resource: StepUpResource;
}
