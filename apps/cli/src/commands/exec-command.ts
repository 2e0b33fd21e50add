import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import type { ControlPlaneApi } from '../api/control-plane-client.js';
import { processStepUpIo, runStepUpCommand, type StepUpIo } from '../api/step-up-runner.js';
import type { CheckBody, CheckResponse } from '@stepgate/protocol';
import { addConnectionOptions, type AdminOptions } from '../config/admin-options.js';
import {
  addCheckOptions,
  buildCheckInput,
  nonEmpty,
  parseDurationSeconds,
  type CheckFlags,
} from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import {
  EXIT_DENY,
  EXIT_ERROR,
  EXIT_STEP_UP,
  describeRequest,
  formatCheck,
  isUnmet,
  shellQuote,
} from '../output/step-up-format.js';
import { printable } from '../output/table.js';
import { decide } from './check-command.js';
import { DEFAULT_WAIT_SECONDS, waitForCheck } from './wait-for-check.js';

export interface ExecOptions extends AdminOptions, CheckFlags {
  wait?: boolean;
  timeout?: number;
  /** Open an approval request with this reason when approvals are missing (implies wait). */
  request?: string;
}

/** How the command ended: its exit code, or the signal that ended it. */
export type Outcome = { code: number } | { signal: NodeJS.Signals };

/** Runs the command; tests inject their own. */
export type Runner = (command: readonly string[], io: StepUpIo) => Promise<Outcome>;

/**
 * `stepgate exec -- <command...>`: runs the command only when the decision is allow; otherwise
 * says why and exits 1 (deny) or 3 (step-up), never starting it.
 */
export async function execCommand(
  command: readonly string[],
  options: ExecOptions,
  io: StepUpIo = processStepUpIo(),
  runner: Runner = runInherited,
): Promise<Outcome> {
  let allowed = false;
  const code = await runStepUpCommand(
    'exec',
    options,
    io,
    async (client) => {
      const input = buildCheckInput(options, io.env ?? process.env);
      if (command.length === 0 || command[0] === '') {
        throw new UsageError('nothing to run: put the command after --, e.g. -- terraform apply');
      }
      const reason = options.request === undefined ? undefined : nonEmpty(options.request);
      if (options.request !== undefined && reason === undefined) {
        throw new UsageError(
          '--request needs a reason for the approvers, e.g. --request "hotfix INC-42"',
        );
      }
      const { result, timedOut } =
        reason === undefined
          ? await decide(client, input, options, io)
          : await requestAndWait(client, input, reason, options.timeout, io);
      if (result.decision.effect === 'allow') {
        io.stderr.write(
          `stepgate: allowed ${describeRequest(input, result)} (revision ${result.decision.revision}); running ${printable(command.map(shellQuote).join(' '))}\n`,
        );
        allowed = true;
        return 0;
      }
      io.stderr.write(`${formatCheck(result, input)}\n`);
      if (timedOut) io.stderr.write('error: timed out waiting for the step-up to be satisfied\n');
      io.stderr.write(`stepgate: not running ${printable(command[0] ?? '')}\n`);
      return result.decision.effect === 'deny' ? EXIT_DENY : EXIT_STEP_UP;
    },
    EXIT_ERROR,
  );
  if (!allowed) return { code };
  return runner(command, io);
}

/**
 * `--request`: when the decision lacks approvals, open an approval request (once) and wait; when
 * it lacks only a factor, say how to elevate and wait all the same (someone may elevate meanwhile).
 */
async function requestAndWait(
  client: ControlPlaneApi,
  input: CheckBody,
  reason: string,
  timeout: number | undefined,
  io: StepUpIo,
): Promise<{ result: CheckResponse; timedOut: boolean }> {
  const first = await client.check(input);
  if (first.decision.effect !== 'step_up') return { result: first, timedOut: false };
  if (isUnmet(first.decision, 'approvals') && (first.decision.require?.approvals ?? 0) > 0) {
    // Decided by the control plane as this check was: for the caller, with the same context
    // (a request is always the caller's own: --principal cannot open one for someone else).
    const approval = await client.createApproval({
      action: input.action,
      resource: { kind: input.resource.kind, id: input.resource.id },
      reason,
      ...(input.context === undefined ? {} : { context: input.context }),
    });
    io.stderr.write(
      `Approval request ${printable(approval.id)} created (${approval.required} approval${approval.required === 1 ? '' : 's'} needed). Approvers run:\n  npx stepgate approve ${printable(approval.id)}\n`,
    );
  } else {
    io.stderr.write(
      `${formatCheck(first, input)}\n(no approval is missing, so --request opened none)\n`,
    );
  }
  return waitForCheck(client, input, first, timeout ?? DEFAULT_WAIT_SECONDS, io);
}

/**
 * Signals a supervisor sends to us alone (a CI cancel, `kill`) are passed on. A terminal's
 * Ctrl-C already reaches the whole foreground process group, so forwarding SIGINT there would
 * deliver it twice (terraform treats a second interrupt as "exit immediately").
 */
function forwardedSignals(): NodeJS.Signals[] {
  return process.stdin.isTTY === true ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
}

/** Runs the command with our stdin/stdout/stderr, forwarding signals, until it exits. */
export const runInherited: Runner = (command, io) =>
  new Promise((resolve) => {
    const [file, ...args] = command as [string, ...string[]];
    const child = spawn(file, args, { stdio: 'inherit' });
    const signals = forwardedSignals();
    // While the child runs we must not die of these ourselves: it decides how to stop.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const ignoreInterrupt = (): void => undefined;
    for (const signal of signals) process.on(signal, forward);
    if (!signals.includes('SIGINT')) process.on('SIGINT', ignoreInterrupt);
    const done = (outcome: Outcome): void => {
      for (const signal of signals) process.off(signal, forward);
      process.off('SIGINT', ignoreInterrupt);
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      io.stderr.write(
        `error: cannot run ${printable(file)}: ${missing ? 'command not found (check PATH)' : printable(error.message)}\n`,
      );
      // The shell's conventions: 127 not found, 126 found but not runnable.
      done({ code: missing ? 127 : 126 });
    });
    child.once('exit', (code, signal) => {
      done(signal !== null ? { signal } : { code: code ?? 1 });
    });
  });

/** Ends this process the way the command ended: same exit code, or the same signal. */
export function exitLike(outcome: Outcome): void {
  if ('code' in outcome) {
    process.exitCode = outcome.code;
    return;
  }
  const number = constants.signals[outcome.signal] ?? 0;
  process.exitCode = 128 + number;
  // Re-raise with the default action so our parent sees "killed by SIGTERM", as it would have
  // without stepgate in between; the exit code above covers signals that do not kill.
  process.removeAllListeners(outcome.signal);
  process.kill(process.pid, outcome.signal);
}

export function registerExecCommand(program: Command): void {
  addConnectionOptions(
    addCheckOptions(
      program
        .command('exec')
        .description(
          'run a command only if the policies allow it (e.g. terraform apply); otherwise say why and exit 1 (deny) or 3 (step-up)',
        )
        .argument('<command...>', 'the command to run, after --')
        .passThroughOptions(),
    )
      .option('--wait', 'on step-up, wait until allowed or denied (or --timeout)')
      .option(
        '--timeout <duration>',
        'how long to wait, e.g. 10m (default: 10m)',
        parseDurationSeconds,
      )
      .option(
        '--request <reason>',
        'when approvals are missing, open an approval request with this reason and wait (implies --wait)',
      ),
  )
    .addHelpText(
      'after',
      `
Example: stepgate exec --action terraform:apply --resource prod/billing -- terraform apply
Exit codes: the command's own when it ran; 1 denied, 3 step-up needed, 2 usage or connection error.
The principal is the token's subject, or the CI job's (--id-token); roles come from data.people.`,
    )
    .action(async (command: string[], options: ExecOptions) => {
      exitLike(await execCommand(command, options));
    });
}
