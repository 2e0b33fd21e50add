import { Option, type Command } from 'commander';
import type { ControlPlaneApi } from '../api/control-plane-client.js';
import {
  processStepUpIo,
  runStepUpCommand,
  systemClock,
  type StepUpIo,
} from '../api/step-up-runner.js';
import type { ApprovalView } from '@stepgate/protocol';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import {
  collect,
  nonEmpty,
  parseContext,
  parseDurationSeconds,
  parseResource,
  refuseRoleFlags,
} from '../config/step-up-options.js';
import { UsageError } from '../config/usage-error.js';
import { createCountdown } from '../output/progress.js';
import { EXIT_ERROR, formatApproval } from '../output/step-up-format.js';
import { printable } from '../output/table.js';
import { isTransient, POLL_INTERVAL_MS } from './wait-for-check.js';

export interface RequestOptions extends AdminOptions {
  action?: string;
  resource?: string;
  resourceKind?: string;
  reason?: string;
  /** Refused (roles come from the policy data); the context is the policies' to read. */
  role?: string[];
  group?: string[];
  context?: string[];
  /** Seconds (commander parses `1h`). */
  ttl?: number;
  wait?: boolean;
}

/** A request still pending this long after its expiry is treated as expired (clock skew, lag). */
const EXPIRY_GRACE_MS = 10_000;

/** `stepgate request`: ask other people to approve an action; with --wait, until they decide. */
export async function requestCommand(
  options: RequestOptions,
  io: StepUpIo = processStepUpIo(),
): Promise<number> {
  return runStepUpCommand(
    'request',
    options,
    io,
    async (client) => {
      const action = nonEmpty(options.action);
      if (action === undefined) throw new UsageError('missing --action <action>, e.g. deploy');
      const resource = parseResource(options.resource, options.resourceKind, action);
      const reason = nonEmpty(options.reason);
      if (reason === undefined) {
        throw new UsageError('approvers need a reason: --reason "why this is needed"');
      }
      refuseRoleFlags(options);
      const context = parseContext(options.context ?? []);
      // The number of approvals is not ours to choose: the control plane takes it from the
      // active policies' decision on this request (for the token's subject, with the roles the
      // policy data gives it).
      const created = await client.createApproval({
        action,
        resource,
        reason,
        ...(context === undefined ? {} : { context }),
        ttlSeconds: options.ttl,
      });
      if (options.json !== true) {
        io.stdout.write(
          `${formatApproval(created)}\nAsk ${created.required === 1 ? 'an approver' : `${created.required} approvers`} to run:\n  npx stepgate approve ${printable(created.id)}\n`,
        );
      }
      if (options.wait !== true) {
        if (options.json === true) io.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        return 0;
      }
      const final = await waitForApproval(client, created, io);
      if (options.json === true) io.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
      else io.stdout.write(`${outcomeLine(final)}\n`);
      return final.status === 'approved' ? 0 : 1;
    },
    EXIT_ERROR,
  );
}

function outcomeLine(approval: ApprovalView): string {
  switch (approval.status) {
    case 'approved':
      return `APPROVED by ${printable(approval.approvals.map((a) => a.approver).join(', '))}${approval.grantId === null ? '' : ` (grant ${printable(approval.grantId)})`}`;
    case 'denied':
      return `DENIED by ${printable(approval.deniedBy ?? 'an approver')}${approval.denialComment === null ? '' : `: ${printable(approval.denialComment)}`}`;
    default:
      return `EXPIRED with ${approval.approvals.length}/${approval.required} approvals`;
  }
}

/** Polls the request until it is no longer pending, with a countdown to its expiry. */
export async function waitForApproval(
  client: ControlPlaneApi,
  created: ApprovalView,
  io: StepUpIo,
  pollMs = POLL_INTERVAL_MS,
): Promise<ApprovalView> {
  const clock = io.clock ?? systemClock;
  const expires = Date.parse(created.expiresAt);
  const deadline = Number.isNaN(expires) ? clock.now() + 3_600_000 : expires;
  const countdown = createCountdown(
    io.stderr,
    io.stderrIsTty === true,
    `waiting for approval of ${printable(created.id)}…`,
    deadline,
  );
  let current = created;
  let status = `${current.approvals.length}/${current.required} approvals`;
  try {
    for (;;) {
      if (current.status !== 'pending') return current;
      const now = clock.now();
      if (now >= deadline + EXPIRY_GRACE_MS) return { ...current, status: 'expired' };
      countdown.tick(now, status);
      await clock.sleep(Math.min(pollMs, Math.max(deadline + EXPIRY_GRACE_MS - now, 0)));
      try {
        current = await client.getApproval(created.id);
        status = `${current.approvals.length}/${current.required} approvals`;
      } catch (error) {
        if (!isTransient(error)) throw error;
        status = `retrying: ${(error as Error).message}`;
      }
    }
  } finally {
    countdown.clear();
  }
}

export function registerRequestCommand(program: Command): void {
  addAdminOptions(
    program
      .command('request')
      .description('ask for approval of an action (others approve with `stepgate approve <id>`)')
      .option('--action <action>', 'the action, e.g. deploy (required)')
      .option(
        '--resource <resource>',
        '<kind>:<id> (split at the last colon) or just <id> (required)',
      )
      .option('--resource-kind <kind>', 'the resource kind; --resource is then the id as written')
      .option('--reason <text>', 'why, for the approvers and the audit log (required)')
      // Gone (roles come from the policy data): hidden, so an old script learns why.
      .addOption(new Option('--role <role>').hideHelp().argParser(collect))
      .addOption(new Option('--group <group>').hideHelp().argParser(collect))
      .option(
        '--context <key=value>',
        'a context attribute the policies look at, e.g. ticket=OPS-42 (repeatable)',
        collect,
      )
      .option('--ttl <duration>', 'how long the request stays open, e.g. 1h', parseDurationSeconds)
      .option('--wait', 'wait until approved (exit 0), denied or expired (exit 1)'),
  )
    .addHelpText(
      'after',
      "\nThe number of approvals comes from the active policies (their decision on this request for your token's subject, with the roles data.people gives it and --context); a request the policies allow anyway, deny, or only want a factor for is refused with the reason.\nExit codes: 0 created (or approved with --wait), 1 denied or expired, 2 usage or connection error.",
    )
    .action(async (options: RequestOptions) => {
      process.exitCode = await requestCommand(options);
    });
}
