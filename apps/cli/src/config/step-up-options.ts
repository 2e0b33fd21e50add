import { notADuration, parseDuration } from '@stepgate/policy';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CheckBody } from '@stepgate/protocol';
import { DEFAULT_ID_TOKEN_AUDIENCE, type IdTokenFlags } from './id-token.js';
import type { Environment } from './connection.js';
import { UsageError } from './usage-error.js';

/** The flags `check` and `exec` share: what to do on which resource (and, rarely, for whom). */
export interface CheckFlags extends IdTokenFlags {
  principal?: string;
  /** Refused: kept only to say where roles come from now. */
  role?: string[];
  group?: string[];
  action?: string;
  resource?: string;
  resourceKind?: string;
  context?: string[];
}

/** commander collector for repeatable options (`--role a --role b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Where roles come from, for anyone still passing --role or --group. */
export const ROLES_COME_FROM_POLICY_DATA =
  'roles and groups come from the policy data (data.people in the policy repository) and the verified token, never from flags';

/** Adds the action/resource/context and identity options to `check`, `exec` and `request`. */
export function addCheckOptions(command: Command): Command {
  return (
    command
      .option(
        '--principal <id>',
        "ask about another principal than the token's own (default: $STEPGATE_PRINCIPAL); needs a token with the check:any scope, and then grants are not applied",
      )
      .option(
        '--id-token <jwt|github>',
        "identify with a CI job's OIDC token instead of an API token (default: $STEPGATE_ID_TOKEN): the token itself (GitLab id_tokens), or github to request the job's token in GitHub Actions (permissions: id-token: write)",
      )
      .option(
        '--audience <aud>',
        `the audience of the GitHub Actions token requested by --id-token github (default: $STEPGATE_ID_TOKEN_AUDIENCE or ${DEFAULT_ID_TOKEN_AUDIENCE})`,
      )
      // Gone: kept hidden so that an old pipeline fails with the reason instead of "unknown option".
      .addOption(new Option('--role <role>').hideHelp().argParser(collect))
      .addOption(new Option('--group <group>').hideHelp().argParser(collect))
      .option('--action <action>', 'the action, e.g. terraform:apply (required)')
      .option(
        '--resource <resource>',
        'the resource: <kind>:<id> (split at the last colon, e.g. terraform:workspace:prod/billing) or just <id> (required)',
      )
      .option(
        '--resource-kind <kind>',
        'the resource kind; --resource is then the id as written (default: the action prefix, e.g. terraform)',
      )
      .option(
        '--context <key=value>',
        'a context attribute, e.g. ticket=OPS-42 (repeatable)',
        collect,
      )
  );
}

/** Refuses --role and --group, saying where roles come from now. */
export function refuseRoleFlags(flags: { role?: string[]; group?: string[] }): void {
  if (flags.role !== undefined || flags.group !== undefined)
    throw new UsageError(
      `--${flags.role === undefined ? 'group' : 'role'} is no longer accepted: ${ROLES_COME_FROM_POLICY_DATA}`,
    );
}

/**
 * Builds the `/v1/check` body from the flags; throws UsageError naming the flag to fix. The
 * principal is the token's (or the ID token's) unless --principal names another one.
 */
export function buildCheckInput(flags: CheckFlags, env: Environment): CheckBody {
  refuseRoleFlags(flags);
  const principal = nonEmpty(flags.principal) ?? nonEmpty(env.STEPGATE_PRINCIPAL);
  const action = nonEmpty(flags.action);
  if (action === undefined) throw new UsageError('missing --action <action>, e.g. terraform:apply');
  const context = parseContext(flags.context ?? []);
  return {
    ...(principal === undefined ? {} : { principal: { id: principal } }),
    action,
    resource: parseResource(flags.resource, flags.resourceKind, action),
    ...(context === undefined ? {} : { context }),
  };
}

/**
 * `--resource`: `<kind>:<id>` split at the last colon (kinds may contain colons, like
 * `k8s:pods`; ids rarely do), or a bare id whose kind is `--resource-kind` or the action's
 * prefix (`terraform:apply` -> `terraform`). With `--resource-kind` the value is the id verbatim,
 * which is the way to pass ids that contain colons.
 */
export function parseResource(
  value: string | undefined,
  kindFlag: string | undefined,
  action: string,
): { kind: string; id: string } {
  const raw = nonEmpty(value);
  if (raw === undefined) {
    throw new UsageError('missing --resource <kind:id or id>, e.g. --resource prod/billing');
  }
  const kind = nonEmpty(kindFlag);
  if (kind !== undefined) return { kind, id: raw };
  const colon = raw.lastIndexOf(':');
  if (colon > 0 && colon < raw.length - 1) {
    return { kind: raw.slice(0, colon), id: raw.slice(colon + 1) };
  }
  if (colon !== -1) {
    throw new UsageError(
      `--resource '${raw}' has an empty kind or id: write <kind>:<id>, or pass --resource-kind`,
    );
  }
  const prefix = action.includes(':') ? action.slice(0, action.indexOf(':')) : '';
  return { kind: prefix === '' ? 'resource' : prefix, id: raw };
}

/** `--context k=v` pairs into an object; a key given twice is refused (which one was meant?). */
export function parseContext(pairs: readonly string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq).trim();
    if (key === '') {
      throw new UsageError(`--context '${pair}' should be key=value, e.g. --context ticket=OPS-42`);
    }
    if (Object.hasOwn(context, key)) throw new UsageError(`--context '${key}' is given twice`);
    // defineProperty, not assignment: a key named __proto__ must stay a plain property.
    Object.defineProperty(context, key, {
      value: pair.slice(eq + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return context;
}

/**
 * commander parser for `--ttl`, `--timeout`...: the policy duration grammar (`90s`, `15m`,
 * `1h30m`) as a positive whole number of seconds. A bare number is refused, as everywhere.
 */
export function parseDurationSeconds(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined) throw new InvalidArgumentError(`${notADuration(value)}.`);
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new InvalidArgumentError(
      `'${value}' should be a positive whole number of seconds, e.g. 15m.`,
    );
  }
  return seconds;
}

/** A TOTP code as typed: spaces allowed (`123 456`), six digits required. */
export function parseTotpCode(value: string): string {
  const code = value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    throw new UsageError('a TOTP code is the 6 digits your authenticator app shows now');
  }
  return code;
}

/** Seconds as the shortest readable duration: `90s`, `15m`, `1h30m`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds}s`;
  const minutes = seconds / 60;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}

export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
