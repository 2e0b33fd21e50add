import type { CompileError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { CONSOLE_SCOPES, type ConsoleScope, type ConsoleSettings } from '../model.js';
import type { ConsoleDocument } from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';
import { fetchableUrl } from './compile-settings.js';

export const DEFAULT_CONSOLE_SCOPES = ['openid', 'profile', 'email'];
/** Seconds of clock skew tolerated on console tokens when stepgate.yaml does not say. */
export const DEFAULT_CONSOLE_CLOCK_SKEW = 30;
const MAX_CONSOLE_CLOCK_SKEW = 300;

/**
 * The `console:` block: who may sign in to the web console with OIDC and which Stepgate
 * scopes their group claims grant. `admin` is never granted this way: it holds every scope
 * (token creation, factor resets), so it stays with API tokens an admin created on purpose;
 * `agent` is an agent's identity, bound to one token.
 */
export function compileConsole(
  doc: ConsoleDocument,
  source: YamlDocument,
  errors: CompileError[],
): ConsoleSettings {
  const oidc = doc.oidc;
  if (!oidc) return {};
  const fail = (message: string, ...path: (string | number)[]) =>
    errors.push(
      source.error('console/invalid', `console.oidc: ${message}`, ['console', 'oidc', ...path]),
    );
  if (!fetchableUrl(oidc.issuer))
    fail(
      `issuer must be an https:// URL (http:// only for localhost): the control plane reads its discovery document and keys from it, got ${JSON.stringify(oidc.issuer)}`,
      'issuer',
    );
  const scopes = [...new Set(oidc.scopes ?? DEFAULT_CONSOLE_SCOPES)];
  if (!scopes.includes('openid'))
    fail(
      `scopes must include openid (the console signs in with an ID token), got [${scopes.join(', ')}]`,
      'scopes',
    );
  const roles: Record<string, ConsoleScope[]> = {};
  for (const [value, granted] of Object.entries(oidc.roles)) {
    granted.forEach((scope, index) => {
      if (scope === 'admin')
        fail(
          `roles.${value}: admin cannot be granted through OIDC sign-in; it stays with API tokens (grant operator, approver or viewer instead)`,
          'roles',
          value,
          index,
        );
      else if (!(CONSOLE_SCOPES as readonly string[]).includes(scope))
        fail(
          `roles.${value}: unknown scope "${scope}" (allowed: ${CONSOLE_SCOPES.join(', ')})`,
          'roles',
          value,
          index,
        );
    });
    roles[value] = [
      ...new Set(granted.filter((s): s is ConsoleScope => CONSOLE_SCOPES.includes(s as never))),
    ];
  }
  if (Object.keys(oidc.roles).length === 0)
    fail(
      `roles is empty: map at least one ${oidc.rolesClaim} value to scopes (e.g. stepgate-operators: [operator])`,
      'roles',
    );
  let clockSkew = DEFAULT_CONSOLE_CLOCK_SKEW;
  if (oidc.clockSkew !== undefined) {
    const seconds =
      typeof oidc.clockSkew === 'number' ? oidc.clockSkew : parseDuration(oidc.clockSkew);
    if (seconds === undefined || !Number.isInteger(seconds) || seconds > MAX_CONSOLE_CLOCK_SKEW)
      fail(
        `clockSkew must be whole seconds up to 5m (e.g. 30s), got ${JSON.stringify(oidc.clockSkew)}`,
        'clockSkew',
      );
    else clockSkew = seconds;
  }
  return {
    oidc: {
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      scopes,
      subjectClaim: oidc.subjectClaim ?? 'sub',
      rolesClaim: oidc.rolesClaim,
      roles,
      clockSkew,
    },
  };
}
