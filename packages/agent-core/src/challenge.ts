import { formatDuration } from '@stepgate/policy';
import type { Level, Requirement, RequirementPart } from '@stepgate/policy';

/**
 * How an HTTP enforcement point asks for a step-up:
 * - `rfc9470`: `Bearer error="insufficient_user_authentication"` with `acr_values` and/or
 *   `max_age` (OAuth 2.0 Step Up Authentication Challenge Protocol, RFC 9470);
 * - `insufficient_claims`: the Entra-style claims challenge, `error="insufficient_claims"`
 *   with a base64 `claims` request (OIDC claims syntax) and `max_age` when freshness is due.
 */
export type ChallengeStyle = 'rfc9470' | 'insufficient_claims';

export interface StepUpChallenge {
  /** The `WWW-Authenticate` header value. */
  header: string;
  /** The human-readable description used in the header and in response bodies. */
  description: string;
  /** Space-separated acr values, whenever the requirement names a level that has some. */
  acrValues?: string;
  /** Whole seconds, whenever the requirement asks for freshness. */
  maxAge?: number;
  approvals?: number;
}

/**
 * The acr values that reach `level`, in order of preference: the level's own values, or
 * (when it declares none, only amr methods) those of the next stronger level that has some.
 */
export function acrValuesFor(level: string, levels: readonly Level[]): string[] {
  const index = levels.findIndex((candidate) => candidate.name === level);
  if (index < 0) return [];
  for (let i = index; i < levels.length; i++) {
    const acr = levels[i]?.acr ?? [];
    if (acr.length > 0) return [...acr];
  }
  return [];
}

/**
 * The challenge for a step-up (`decision.require`: the complete requirement, met parts
 * included). `acr_values` appears whenever it names a level and `max_age` whenever it asks
 * for freshness, so that one re-authentication with both meets it: a stale MFA session is
 * asked for the MFA acr values *and* max_age, or the provider might answer with a password
 * login. A level with no acr values of its own (only amr methods) is asked for with the
 * values of the next stronger level that has some; when no level from it up has any, the
 * challenge has no `acr_values` (nothing can name it) and the description names the level.
 * A requirement of approvals alone carries just the description.
 */
export function stepUpChallenge(
  require: Requirement,
  levels: readonly Level[],
  options: {
    style?: ChallengeStyle;
    message?: string;
    /** The decision's unmet parts: the description names only what is still to do. */
    unmet?: readonly RequirementPart[];
  } = {},
): StepUpChallenge {
  const style = options.style ?? 'rfc9470';
  const acr = require.level !== undefined ? acrValuesFor(require.level, levels) : [];
  const description = headerText(options.message ?? describeRequirement(require, options.unmet));
  const challenge: StepUpChallenge = { header: '', description };
  if (acr.length > 0) challenge.acrValues = acr.join(' ');
  // Compiled requirements hold whole seconds of at least 1; anything else is clamped, not trusted.
  if (require.maxAge !== undefined) challenge.maxAge = Math.max(1, Math.floor(require.maxAge));
  if (require.approvals !== undefined) challenge.approvals = require.approvals;

  const params: string[] = [];
  if (style === 'rfc9470') {
    params.push(
      'error="insufficient_user_authentication"',
      `error_description=${quote(description)}`,
    );
    if (challenge.acrValues !== undefined)
      params.push(`acr_values=${quote(headerText(challenge.acrValues))}`);
  } else {
    params.push('error="insufficient_claims"', `error_description=${quote(description)}`);
    const claims: Record<string, unknown> = {};
    if (acr.length > 0) claims.acr = { essential: true, values: acr };
    if (challenge.maxAge !== undefined) claims.auth_time = { essential: true };
    if (Object.keys(claims).length > 0)
      params.push(`claims=${quote(base64(JSON.stringify({ access_token: claims })))}`);
  }
  if (challenge.maxAge !== undefined) params.push(`max_age=${challenge.maxAge}`);
  challenge.header = `Bearer ${params.join(', ')}`;
  return challenge;
}

/**
 * "Step-up required: authenticate with mfa within the last 5m; 1 approval." With `unmet`, only
 * what is still to do: the authentication (level and freshness together, as one login must
 * meet both) when either is unmet, and the approvals when they are.
 */
export function describeRequirement(
  require: Requirement,
  unmet?: readonly RequirementPart[],
): string {
  const parts: string[] = [];
  const { level, maxAge } =
    unmet === undefined || needsAuthentication(unmet) ? require : ({} as Requirement);
  const approvals =
    unmet === undefined || unmet.includes('approvals') ? require.approvals : undefined;
  if (level !== undefined && maxAge !== undefined)
    parts.push(`authenticate with ${level} within the last ${formatDuration(maxAge)}`);
  else if (level !== undefined) parts.push(`authenticate with ${level}`);
  else if (maxAge !== undefined)
    parts.push(`authenticate again (last authentication must be within ${formatDuration(maxAge)})`);
  if (approvals !== undefined)
    parts.push(`${approvals} approval${approvals === 1 ? '' : 's'} from other people`);
  return parts.length === 0
    ? 'Step-up authentication is required.'
    : `Step-up required: ${parts.join('; ')}.`;
}

/** Whether a login is part of what is still to do (the level, the freshness or both). */
export function needsAuthentication(unmet: readonly RequirementPart[]): boolean {
  return unmet.includes('level') || unmet.includes('maxAge');
}

/** Visible ASCII only: header values with other characters are refused by HTTP stacks. */
function headerText(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
