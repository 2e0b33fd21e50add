import {
  claimAt,
  claimStrings,
  CONSOLE_SCOPES,
  type ConsoleOidcSettings,
  type ConsoleScope,
} from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';

/** Who a verified console ID token stands for, and the Stepgate scopes its roles grant. */
export interface ConsoleIdentity {
  subject: string;
  scopes: ConsoleScope[];
}

/** At most this many claim values are named back in a refusal. */
const SHOWN_VALUES = 20;

/**
 * Maps a verified token's claims to an identity: `subjectClaim` (a non-empty string) is the
 * subject, and every `rolesClaim` value mapped in `roles` adds its scopes. A token whose roles
 * map to nothing is a 403 naming the values seen, so the person can tell an admin which
 * group to map; the token itself is never echoed.
 * @throws StepgateError `auth/unauthenticated` without a subject, `auth/forbidden` without scopes.
 */
export function consoleIdentity(
  claims: Record<string, unknown>,
  settings: Pick<ConsoleOidcSettings, 'subjectClaim' | 'rolesClaim' | 'roles'>,
): ConsoleIdentity {
  const subject = claimAt(claims, settings.subjectClaim);
  if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 512)
    throw new StepgateError(
      'auth/unauthenticated',
      `the ID token has no usable ${settings.subjectClaim} claim for the subject (console.oidc.subjectClaim): ask the provider to include it, e.g. with the matching scope`,
    );
  const values = claimStrings(claimAt(claims, settings.rolesClaim));
  const granted = new Set<ConsoleScope>();
  for (const value of values) {
    if (!Object.hasOwn(settings.roles, value)) continue;
    for (const scope of settings.roles[value] ?? []) granted.add(scope);
  }
  if (granted.size === 0) {
    const shown = values.slice(0, SHOWN_VALUES).map(quoteUntrusted).join(', ');
    const more = values.length > SHOWN_VALUES ? ` and ${values.length - SHOWN_VALUES} more` : '';
    throw new StepgateError(
      'auth/forbidden',
      `${quoteUntrusted(subject)} signed in, but no value of the ${settings.rolesClaim} claim ${values.length === 0 ? '(absent or empty)' : `[${shown}${more}]`} is mapped to Stepgate scopes in stepgate.yaml console.oidc.roles: ask an admin to map one of your groups`,
    );
  }
  return { subject, scopes: CONSOLE_SCOPES.filter((scope) => granted.has(scope)) };
}

/** Untrusted text for a message: printable ASCII, short, quoted. */
export function quoteUntrusted(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}
