import type { GrantView, TotpEnrollResponse } from '@stepgate/protocol';
import type { Command } from 'commander';
import QRCode from 'qrcode';
import type {
  ControlPlaneApi,
  TotpElevateRequest,
  TotpEnrollRequest,
} from '../api/control-plane-client.js';
import { processStepUpIo, runStepUpCommand, type StepUpIo } from '../api/step-up-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import {
  collect,
  nonEmpty,
  parseDurationSeconds,
  parseTotpCode,
} from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { formatGrant } from '../output/step-up-format.js';
import { printable } from '../output/table.js';

export interface ElevateOptions extends AdminOptions {
  action?: string[];
  resource?: string[];
  /** Seconds (commander parses `15m`). */
  ttl?: number;
  /**
   * The current TOTP code; with `--enroll` the one-time enrolment code of a first factor, with
   * `--enroll --replace` a current code of the factor being replaced.
   */
  code?: string;
  enroll?: boolean;
  replace?: boolean;
}

/**
 * `stepgate elevate`: prove a TOTP code, get a short-lived grant. `--enroll` sets the factor up
 * (a first one with an admin's enrolment code) and grants nothing: elevate afterwards.
 */
export async function elevateCommand(
  options: ElevateOptions,
  io: StepUpIo = processStepUpIo(),
): Promise<number> {
  try {
    return await runStepUpCommand('elevate', options, io, async (client) => {
      const scope = grantScope(options);
      if (options.replace === true && options.enroll !== true) {
        throw new UsageError('--replace goes with --enroll (stepgate elevate --enroll --replace)');
      }
      if (options.enroll === true) {
        if (scope.actions || scope.resources || scope.ttlSeconds !== undefined) {
          throw new UsageError(
            '--action, --resource and --ttl are for elevating; enrolling grants nothing: run `stepgate elevate --enroll` first, then `stepgate elevate --action ...`',
          );
        }
        return enroll(client, options, io);
      }
      const code = await totpCode(options, io, 'TOTP code from your authenticator app: ');
      const grant = await client.elevateTotp({ ...scope, code });
      printGrant(grant, options, io);
      return 0;
    });
  } finally {
    io.closeInput?.();
  }
}

function grantScope(options: ElevateOptions): Omit<TotpElevateRequest, 'code'> {
  const clean = (values: string[] | undefined): string[] | undefined => {
    const kept = (values ?? []).map((value) => value.trim()).filter((value) => value !== '');
    return kept.length === 0 ? undefined : kept;
  };
  return {
    actions: clean(options.action),
    resources: clean(options.resource),
    ttlSeconds: options.ttl,
  };
}

/** --code, else STEPGATE_TOTP_CODE, else one line from the terminal or a pipe. */
async function totpCode(options: ElevateOptions, io: StepUpIo, prompt: string): Promise<string> {
  const given = nonEmpty(options.code) ?? nonEmpty((io.env ?? process.env).STEPGATE_TOTP_CODE);
  if (given !== undefined) return parseTotpCode(given);
  return promptCode(io, prompt);
}

async function promptCode(io: StepUpIo, prompt: string): Promise<string> {
  const line = io.readLine === undefined ? undefined : await io.readLine(prompt);
  if (line === undefined) {
    throw new UsageError(
      'no TOTP code: type it when asked, or pass --code <123456> or set STEPGATE_TOTP_CODE',
    );
  }
  return parseTotpCode(line);
}

/**
 * Enrols a TOTP factor: shows the secret (QR code, otpauth URI and the bare secret), then asks
 * for the first code, which confirms the factor. A first factor needs the one-time enrolment
 * code an admin issued (`--code`); a further one a recent elevation; `--replace` a current code
 * of the old factor. Confirming grants nothing: the user elevates with a later code.
 */
async function enroll(
  client: ControlPlaneApi,
  options: ElevateOptions,
  io: StepUpIo,
): Promise<number> {
  const request: TotpEnrollRequest = {};
  if (options.replace === true) {
    request.replace = true;
    request.code = await totpCode(
      options,
      io,
      'Current code from the authenticator you are replacing: ',
    );
  } else {
    const enrolmentCode = nonEmpty(options.code);
    if (enrolmentCode !== undefined) request.enrolmentCode = enrolmentCode;
  }
  const enrollment = await client.enrollTotp(request);
  io.stdout.write(await formatEnrollment(enrollment));
  const code = await promptCode(io, 'Code shown by your authenticator app now: ');
  const confirmation = await client.confirmTotp(code);
  if (options.json === true) {
    io.stdout.write(`${JSON.stringify({ enrollment, confirmation }, null, 2)}\n`);
  } else {
    io.stdout.write(
      [
        `TOTP factor confirmed for ${printable(enrollment.subject)}.`,
        'Enrolling grants nothing by itself: to elevate, wait for the next code and run',
        '  stepgate elevate [--action <pattern>] [--resource <pattern>]',
        '',
      ].join('\n'),
    );
  }
  return 0;
}

export async function formatEnrollment(enrollment: TotpEnrollResponse): Promise<string> {
  const qr = await QRCode.toString(enrollment.otpauthUri, { type: 'terminal', small: true });
  return [
    `TOTP enrolment for ${printable(enrollment.subject)}.`,
    'Scan this QR code with your authenticator app, or enter the secret by hand:',
    '',
    qr.trimEnd(),
    '',
    `  secret       ${printable(enrollment.secret)}`,
    `  otpauth URI  ${printable(enrollment.otpauthUri)}`,
    '',
    'Keep the secret private: anyone holding it can elevate as you.',
    '',
  ].join('\n');
}

function printGrant(grant: GrantView, options: ElevateOptions, io: StepUpIo): void {
  io.stdout.write(
    options.json === true ? `${JSON.stringify(grant, null, 2)}\n` : `${formatGrant(grant)}\n`,
  );
}

export function registerElevateCommand(program: Command): void {
  addAdminOptions(
    program
      .command('elevate')
      .description(
        'prove a TOTP code and get a short-lived grant (agents and checks honour it); --enroll sets up the authenticator',
      )
      .option(
        '--action <pattern>',
        'an action (glob) the grant covers (repeatable; default: all)',
        collect,
      )
      .option(
        '--resource <pattern>',
        'a resource id (glob, e.g. prod/**) the grant covers (repeatable; default: all)',
        collect,
      )
      .option(
        '--ttl <duration>',
        'how long the grant lives, e.g. 15m (the control plane caps it)',
        parseDurationSeconds,
      )
      .option(
        '--code <code>',
        'the current 6-digit code (default: $STEPGATE_TOTP_CODE, else asked on the terminal); with --enroll: the one-time enrolment code an admin issued for your first factor',
      )
      .option(
        '--enroll',
        'enrol a TOTP factor: shows a QR code, then asks for its first code (grants nothing; a first factor needs --code <enrolment code>)',
      )
      .option(
        '--replace',
        'with --enroll: replace the current factor (asks for a code from it first)',
      ),
  ).action(async (options: ElevateOptions) => {
    process.exitCode = await elevateCommand(options);
  });
}
