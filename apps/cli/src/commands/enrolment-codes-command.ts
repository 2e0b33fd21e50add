import type { Command } from 'commander';
import { processIo, runAdminCommand, type AdminIo } from '../api/admin-command-runner.js';
import type { EnrolmentCodeView } from '@stepgate/protocol';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { nonEmpty, parseDurationSeconds } from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { formatTable, formatUtc, printable, type Column } from '../output/table.js';

export interface CreateEnrolmentCodeOptions extends AdminOptions {
  /** Seconds (commander parses `24h`). */
  ttl?: number;
}

export interface EnrolmentCodesOptions extends AdminOptions {
  subject?: string;
  all?: boolean;
}

/**
 * `stepgate enrolment-codes create <subject>` (admin): a one-time code with which that person
 * enrols their first factor (`stepgate elevate --enroll --code <code>`). Shown once.
 */
export async function createEnrolmentCodeCommand(
  subject: string,
  options: CreateEnrolmentCodeOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('enrolment-codes create', options, io, async (client) => {
    const who = nonEmpty(subject);
    if (who === undefined)
      throw new UsageError('for whom? stepgate enrolment-codes create <subject>');
    const created = await client.createEnrolmentCode({
      subject: who,
      ...(options.ttl === undefined ? {} : { ttlSeconds: options.ttl }),
    });
    return {
      data: created,
      text: [
        `Enrolment code for ${printable(created.subject)} (shown once; it expires ${formatUtc(created.expiresAt)} UTC):`,
        '',
        `  ${printable(created.code)}`,
        '',
        'Give it to them over a channel you trust. They enrol their first factor with',
        `  stepgate elevate --enroll --code ${printable(created.code)}`,
      ].join('\n'),
    };
  });
}

/** `stepgate enrolment-codes`: codes not yet used or expired (--all: every one), never the codes. */
export async function enrolmentCodesCommand(
  options: EnrolmentCodesOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('enrolment-codes', options, io, async (client) => {
    const list = await client.listEnrolmentCodes({
      subject: nonEmpty(options.subject),
      all: options.all === true,
    });
    return {
      data: list,
      text: list.codes.length === 0 ? 'No enrolment codes.' : formatCodeTable(list.codes),
    };
  });
}

/** `stepgate enrolment-codes revoke <id>`: the code can no longer be used. */
export async function revokeEnrolmentCodeCommand(
  id: string,
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runAdminCommand('enrolment-codes revoke', options, io, async (client) => {
    const ref = nonEmpty(id);
    if (ref === undefined) throw new UsageError('which code? stepgate enrolment-codes revoke <id>');
    await client.revokeEnrolmentCode(ref);
    return { data: { id: ref, revoked: true }, text: `Revoked enrolment code ${printable(ref)}` };
  });
}

function formatCodeTable(codes: readonly EnrolmentCodeView[]): string {
  const columns: Column<EnrolmentCodeView>[] = [
    { header: 'ID', value: (c) => c.id },
    { header: 'SUBJECT', value: (c) => c.subject, maxWidth: 32 },
    { header: 'CREATED BY', value: (c) => c.createdBy, maxWidth: 32 },
    { header: 'EXPIRES (UTC)', value: (c) => formatUtc(c.expiresAt) },
    { header: 'USED (UTC)', value: (c) => (c.usedAt === null ? '-' : formatUtc(c.usedAt)) },
  ];
  return formatTable(columns, codes);
}

export function registerEnrolmentCodesCommand(program: Command): void {
  const codes = addAdminOptions(
    program
      .command('enrolment-codes')
      .description(
        'one-time codes with which a person enrols their first factor (admin); lists open codes',
      )
      .option('--subject <subject>', 'only the codes of this principal')
      .option('--all', 'include used and expired codes'),
  ).action(async (options: EnrolmentCodesOptions) => {
    process.exitCode = await enrolmentCodesCommand(options);
  });
  addAdminOptions(
    codes
      .command('create')
      .description(
        "issue a one-time code for a person's first factor (shown once; a protected admin action)",
      )
      .argument('<subject>', 'the principal id the person acts as (their token subject)')
      .option(
        '--ttl <duration>',
        'how long the code stays usable, e.g. 24h (default 24h, at most 7d)',
        parseDurationSeconds,
      ),
  ).action(async (subject: string, options: CreateEnrolmentCodeOptions) => {
    process.exitCode = await createEnrolmentCodeCommand(subject, options);
  });
  addAdminOptions(
    codes
      .command('revoke')
      .description('revoke an unused enrolment code')
      .argument('<id>', 'the code id (from `stepgate enrolment-codes`)'),
  ).action(async (id: string, options: AdminOptions) => {
    process.exitCode = await revokeEnrolmentCodeCommand(id, options);
  });
}
