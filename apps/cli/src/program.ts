import { Command, Option } from 'commander';
import { registerActivateCommand } from './commands/activate-command.js';
import { registerApproveCommands } from './commands/approve-command.js';
import { registerCheckCommand } from './commands/check-command.js';
import { registerDataCommand } from './commands/data-command.js';
import { registerElevateCommand } from './commands/elevate-command.js';
import { registerEnrolmentCodesCommand } from './commands/enrolment-codes-command.js';
import { registerExecCommand } from './commands/exec-command.js';
import { registerGrantsCommand } from './commands/grants-command.js';
import { registerRequestCommand } from './commands/request-command.js';
import { registerAgentCommand } from './commands/agent-command.js';
import { registerAuditCommand } from './commands/audit-command.js';
import { registerRollbackCommand } from './commands/rollback-command.js';
import { registerReplayCommand } from './commands/replay-command.js';
import { registerShadowCommand } from './commands/shadow-command.js';
import {
  TEST_REPORT_FORMATS,
  testCommand,
  type TestCommandOptions,
} from './commands/test-command.js';
import { registerVersionsCommand } from './commands/versions-command.js';
import { registerAgentsCommand } from './commands/agents-command.js';
import { registerCompletionCommand } from './commands/completion-command.js';
import { registerDecisionsCommand } from './commands/decisions-command.js';
import { registerLoginCommands } from './commands/login-command.js';
import { registerSourcesCommand } from './commands/sources-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerTokensCommand } from './commands/tokens-command.js';

/** The stepgate program with every command (main.ts parses argv with it; specs walk it). */
export function createProgram(): Command {
  const program = new Command()
    .name('stepgate')
    .description(
      'Stepgate: policy-as-code step-up authentication.\nTest policies locally; talk to the control plane and agents.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run `stepgate --help` for usage)')
    // `exec` passes everything after its command through untouched, which needs positional options.
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('test')
    .description(
      'compile a policy directory and run its *.test.yaml cases (exit 0 pass, 1 failures, 2 compile errors)',
    )
    .argument('[dir]', 'the policy repository (the folder with stepgate.yaml)', 'policies')
    .addOption(
      new Option('--format <format>', 'report format: text, json, or junit (JUnit XML for CI)')
        .choices(TEST_REPORT_FORMATS)
        .default('text'),
    )
    .addOption(new Option('--json', 'the same as --format json').conflicts('format'))
    .option(
      '--output <file>',
      'write the report to <file> instead of stdout (stdout then shows the text report)',
    )
    .action(async (dir: string, options: TestCommandOptions) => {
      process.exitCode = await testCommand(dir, options);
    });

  // Control-plane admin commands (--url/STEPGATE_URL, --token/STEPGATE_TOKEN, --profile).
  registerLoginCommands(program);
  registerStatusCommand(program);
  registerVersionsCommand(program);
  registerActivateCommand(program);
  registerRollbackCommand(program);
  registerShadowCommand(program);
  registerReplayCommand(program);
  registerAuditCommand(program);
  registerAgentCommand(program);
  registerDataCommand(program);
  registerAgentsCommand(program);
  registerDecisionsCommand(program);
  registerTokensCommand(program);
  registerSourcesCommand(program);

  // Step-up for pipelines and people.
  registerCheckCommand(program);
  registerExecCommand(program);
  registerElevateCommand(program);
  registerEnrolmentCodesCommand(program);
  registerRequestCommand(program);
  registerApproveCommands(program);
  registerGrantsCommand(program);

  // Last, so it sees every command above.
  registerCompletionCommand(program);
  return program;
}
