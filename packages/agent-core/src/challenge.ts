import { formatDuration } from '@stepgate/policy';
import type { Level, Requirement } from '@stepgate/policy';

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
  /** Space-separated acr values, when the level is part of the gap. */
  acrValues?: string;
  /** Seconds, when freshness is part of the gap. */
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
 * The challenge for an unmet step-up requirement (`decision.require`: only the unmet parts).
 * `acr_values` appears when the level is part of the gap, `max_age` when freshness is, both
 * when both are; an approvals-only gap carries just the description.
 */
export function stepUpChallenge(
  require: Requirement,
  levels: readonly Level[],
  options: { style?: ChallengeStyle; message?: string } = {},
): StepUpChallenge {
  const style = options.style ?? 'rfc9470';
  const acr = require.level !== undefined ? acrValuesFor(require.level, levels) : [];
  const description = headerText(options.message ?? describeRequirement(require));
  const challenge: StepUpChallenge = { header: '', description };
  if (acr.length > 0) challenge.acrValues = acr.join(' ');
  if (require.maxAge !== undefined) challenge.maxAge = Math.max(0, Math.floor(require.maxAge));
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

/** "Step-up required: authenticate with mfa within the last 5m; 1 approval." */
export function describeRequirement(require: Requirement): string {
  const parts: string[] = [];
  if (require.level !== undefined && require.maxAge !== undefined)
    parts.push(
      `authenticate with ${require.level} within the last ${formatDuration(require.maxAge)}`,
    );
  else if (require.level !== undefined) parts.push(`authenticate with ${require.level}`);
  else if (require.maxAge !== undefined)
    parts.push(
      `authenticate again (last authentication must be within ${formatDuration(require.maxAge)})`,
    );
  if (require.approvals !== undefined)
    parts.push(
      `${require.approvals} approval${require.approvals === 1 ? '' : 's'} from other people`,
    );
  return parts.length === 0
    ? 'Step-up authentication is required.'
    : `Step-up required: ${parts.join('; ')}.`;
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
