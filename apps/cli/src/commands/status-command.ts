import type { Command } from 'commander';
import type { FleetView, Readiness, VersionView } from '@stepgate/protocol';
import { processIo, type AdminIo } from '../api/admin-command-runner.js';
import { ControlPlaneError, type ControlPlaneApi } from '../api/control-plane-client.js';
import { runStepUpCommand } from '../api/step-up-runner.js';
import { addAdminOptions, type AdminOptions } from '../config/admin-options.js';
import { colourStatus, stdoutStyle } from '../output/colour.js';
import type { Style } from '../output/style.js';
import { createStyle } from '../output/style.js';
import { printable } from '../output/table.js';
import { versionLabel } from './versions-command.js';

/** `stepgate status` exit codes, worst first wins: see STATUS_EXIT_HELP. */
export const STATUS_EXIT = {
  healthy: 0,
  /** The control plane cannot be reached or refused the token (as every admin command). */
  unreachable: 1,
  usage: 2,
  notReady: 3,
  noActiveVersion: 4,
  notConverged: 5,
} as const;

export const STATUS_EXIT_HELP = `
Exit codes: 0 healthy (ready, a version active, every connected agent on its revision and live data),
1 control plane unreachable or token refused, 2 usage error, 3 control plane not ready (/readyz),
4 no active policy version, 5 fleet not converged (agents behind, suspect, or live data behind).
Pending approvals are shown but never fail the status.`;

/** The readings `stepgate status` reports (its --json output). */
export interface StatusReport {
  healthy: boolean;
  exitCode: number;
  problems: string[];
  controlPlane: { live: boolean; ready: Readiness };
  activeVersion: VersionView | null;
  fleet: FleetView;
  /** null when the token may not list approvals. */
  pendingApprovals: number | null;
  pendingApprovalsCapped: boolean;
}

const APPROVALS_LIMIT = 500;
const VERSIONS_LOOKED_AT = 100;

export async function readStatus(client: ControlPlaneApi): Promise<StatusReport> {
  const controlPlane = await client.health();
  const [fleet, versions, approvals] = await Promise.all([
    client.getFleet(),
    client.listVersions({ limit: VERSIONS_LOOKED_AT }),
    client.listApprovals({ status: 'pending', limit: APPROVALS_LIMIT }).catch((error: unknown) => {
      // Approvals are a side reading: a token that may not list them still gets a status.
      if (error instanceof ControlPlaneError && error.status === 403) return undefined;
      throw error;
    }),
  ]);
  const activeVersion = versions.versions.find((version) => version.active) ?? null;
  const problems: string[] = [];
  let exitCode: number = STATUS_EXIT.healthy;
  const fail = (code: number, problem: string): void => {
    problems.push(problem);
    if (exitCode === STATUS_EXIT.healthy) exitCode = code;
  };
  const { ready } = controlPlane;
  if (ready.status !== 'ready') {
    const failing = Object.entries(ready.checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}${check.error === undefined ? '' : ` (${check.error})`}`);
    fail(STATUS_EXIT.notReady, `control plane not ready: ${failing.join(', ') || 'unknown'}`);
  }
  if (fleet.activeRevision === null) fail(STATUS_EXIT.noActiveVersion, 'no active policy version');
  if (fleet.behind.length > 0) {
    fail(
      STATUS_EXIT.notConverged,
      `${fleet.behind.length} connected agent(s) behind revision ${fleet.activeRevision}: ${fleet.behind.map((a) => a.id).join(', ')}`,
    );
  }
  if (fleet.suspect.length > 0) {
    fail(
      STATUS_EXIT.notConverged,
      `${fleet.suspect.length} agent(s) report a revision never issued: ${fleet.suspect.map((a) => a.id).join(', ')}`,
    );
  }
  if (!fleet.data.converged && fleet.data.behind.length > 0) {
    fail(
      STATUS_EXIT.notConverged,
      `${fleet.data.behind.length} connected agent(s) behind live-data revision ${fleet.data.revision}: ${fleet.data.behind.map((a) => a.id).join(', ')}`,
    );
  }
  return {
    healthy: exitCode === STATUS_EXIT.healthy,
    exitCode,
    problems,
    controlPlane,
    activeVersion,
    fleet,
    pendingApprovals: approvals === undefined ? null : approvals.approvals.length,
    pendingApprovalsCapped:
      approvals !== undefined && approvals.approvals.length >= APPROVALS_LIMIT,
  };
}

export function formatStatus(report: StatusReport, style: Style = createStyle(false)): string {
  const { ready } = report.controlPlane;
  const ok = (good: boolean) => colourStatus(style, good ? 'ok' : 'FAILING', good);
  const lines = [
    `Control plane  ${colourStatus(style, ready.status, ready.status === 'ready')}`,
    ...Object.entries(ready.checks).map(
      ([name, check]) =>
        `  ${name.padEnd(12)} ${ok(check.ok)}${check.error === undefined ? '' : `  ${printable(check.error)}`}`,
    ),
  ];
  for (const source of ready.dataSources ?? []) {
    const good = source.status === 'ok' ? true : 'warn';
    const error = source.lastError === null ? '' : `  ${printable(source.lastError)}`;
    lines.push(
      `  data source ${printable(source.name)}: ${colourStatus(style, printable(source.status), good)}${error}`,
    );
  }
  const { fleet } = report;
  lines.push(
    `Active version ${report.activeVersion === null ? (fleet.activeRevision === null ? colourStatus(style, 'none', false) : '(older than the newest 100)') : versionLabel(report.activeVersion)}${fleet.activeRevision === null ? '' : `, revision ${fleet.activeRevision}`}`,
  );
  const connected = fleet.agents.connected;
  const onActive = fleet.byRevision.find((r) => r.revision === fleet.activeRevision)?.count ?? 0;
  const converged = fleet.behind.length === 0 && fleet.suspect.length === 0;
  lines.push(
    `Fleet          ${connected === 0 ? colourStatus(style, 'no agent connected', 'warn') : colourStatus(style, `${onActive} of ${connected} connected agent(s) converged`, converged)} (${fleet.agents.total} known)`,
    `Live data      revision ${fleet.data.revision}, ${fleet.data.converged || connected === 0 ? 'converged' : colourStatus(style, `${fleet.data.behind.length} agent(s) behind`, false)}`,
    `Approvals      ${report.pendingApprovals === null ? 'unknown (the token may not list approvals)' : `${report.pendingApprovals}${report.pendingApprovalsCapped ? '+' : ''} pending`}`,
  );
  if (report.problems.length > 0) {
    lines.push(
      '',
      ...report.problems.map((problem) => `${style.red('problem:')} ${printable(problem)}`),
    );
  }
  return lines.join('\n');
}

/** `stepgate status`: health, active version, convergence, pending approvals; exit code = verdict. */
export async function statusCommand(
  options: AdminOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runStepUpCommand('status', options, io, async (client) => {
    const report = await readStatus(client);
    io.stdout.write(
      options.json === true
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${formatStatus(report, io.env === undefined ? stdoutStyle() : createStyle(false))}\n`,
    );
    return report.exitCode;
  });
}

export function registerStatusCommand(program: Command): void {
  addAdminOptions(
    program
      .command('status')
      .description('control-plane health, active version, fleet convergence and pending approvals'),
  )
    .addHelpText('after', STATUS_EXIT_HELP)
    .action(async (options: AdminOptions) => {
      process.exitCode = await statusCommand(options);
    });
}
