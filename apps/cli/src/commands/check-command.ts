import type { Command } from 'commander';
import type { ControlPlaneApi } from '../api/control-plane-client.js';
import { processStepUpIo, runStepUpCommand, type StepUpIo } from '../api/step-up-runner.js';
import type { CheckBody, CheckResponse } from '@stepgate/protocol';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import {
  addCheckOptions,
  buildCheckInput,
  parseDurationSeconds,
  type CheckFlags,
} from '../config/step-up-options.js';
import {
  EXIT_ALLOW,
  EXIT_DENY,
  EXIT_ERROR,
  EXIT_STEP_UP,
  formatCheck,
} from '../output/step-up-format.js';
import { DEFAULT_WAIT_SECONDS, waitForCheck } from './wait-for-check.js';

export interface CheckOptions extends AdminOptions, CheckFlags {
  wait?: boolean;
  /** Seconds (commander parses `10m`). */
  timeout?: number;
}

/** allow -> 0, deny -> 1, step_up -> 3. */
export function exitFor(result: CheckResponse): number {
  switch (result.decision.effect) {
    case 'allow':
      return EXIT_ALLOW;
    case 'deny':
      return EXIT_DENY;
    default:
      return EXIT_STEP_UP;
  }
}

/**
 * Decides (and with `wait`, keeps deciding until allow, deny or the timeout). Prints nothing:
 * check prints to stdout, exec to stderr (stdout belongs to the command it runs).
 */
export async function decide(
  client: ControlPlaneApi,
  input: CheckBody,
  options: { wait?: boolean; timeout?: number },
  io: StepUpIo,
): Promise<{ result: CheckResponse; timedOut: boolean }> {
  const first = await client.check(input);
  if (options.wait !== true || first.decision.effect !== 'step_up') {
    return { result: first, timedOut: false };
  }
  return waitForCheck(client, input, first, options.timeout ?? DEFAULT_WAIT_SECONDS, io);
}

/** `stepgate check`: ask the control plane for a decision; the exit code is the verdict. */
export async function checkCommand(
  options: CheckOptions,
  io: StepUpIo = processStepUpIo(),
): Promise<number> {
  return runStepUpCommand(
    'check',
    options,
    io,
    async (client) => {
      const input = buildCheckInput(options, io.env ?? process.env);
      const { result, timedOut } = await decide(client, input, options, io);
      io.stdout.write(
        options.json === true
          ? `${JSON.stringify(result, null, 2)}\n`
          : `${formatCheck(result, input)}\n`,
      );
      if (timedOut) {
        io.stderr.write('error: timed out waiting for the step-up to be satisfied (exit 3)\n');
      }
      return exitFor(result);
    },
    EXIT_ERROR,
  );
}

export const CHECK_EXIT_HELP = `
Exit codes: 0 allowed, 1 denied, 3 step-up needed (or --wait timed out), 2 usage or connection error.
The principal is the token's subject, or the CI job's with --id-token (GitHub Actions, GitLab CI);
roles and groups come from the policy data (data.people). --principal asks about someone else
(needs the check:any scope; their grants are then not applied).`;

export function registerCheckCommand(program: Command): void {
  addAdminOptions(
    addCheckOptions(
      program
        .command('check')
        .description(
          'ask the control plane whether a principal may do an action on a resource (active policies + grants)',
        ),
    )
      .option('--wait', 'on step-up, keep asking until allowed or denied (or --timeout)')
      .option(
        '--timeout <duration>',
        'how long --wait waits, e.g. 90s, 10m (default: 10m)',
        parseDurationSeconds,
      ),
  )
    .addHelpText('after', CHECK_EXIT_HELP)
    .action(async (options: CheckOptions) => {
      process.exitCode = await checkCommand(options);
    });
}
