import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../program.js';
import { COMPLETION_SHELLS, completionScript } from './completion.js';

/** Every command of the real program, with its path (`tokens create`). */
function commandsOf(command: Command, prefix = ''): { path: string; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    return [{ path, command: sub }, ...commandsOf(sub, `${path} `)];
  });
}

const program = createProgram();
const commands = commandsOf(program);
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'stepgate-completion-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What bash offers for the words typed so far (the last one is being completed). */
function bashComplete(words: string[]): string[] {
  const script = join(work, 'stepgate.bash');
  writeFileSync(script, completionScript('bash', program));
  const run = spawnSync(
    'bash',
    [
      '-c',
      `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _stepgate; printf '%s\\n' "\${COMPREPLY[@]}"`,
      script,
      ...words,
    ],
    { encoding: 'utf8', cwd: work },
  );
  expect(run.stderr).toBe('');
  return run.stdout.split('\n').filter((line) => line !== '');
}

describe('shell completion', () => {
  it('the program has the commands of the CLI (the walk below sees them)', () => {
    const paths = commands.map((c) => c.path);
    for (const expected of [
      'login',
      'status',
      'decisions',
      'tokens create',
      'sources sync',
      'completion',
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it.each(COMPLETION_SHELLS)('the %s script names every command and every option', (shell) => {
    const script = completionScript(shell, program);
    for (const { path, command } of commands) {
      // As a word (bash: 'a b c', zsh: 'name:description', fish: 'name').
      const word = new RegExp(`(^|[\\s'])${command.name()}([\\s':]|$)`, 'm');
      expect(script, `${shell}: ${path}`).toMatch(word);
      // Its own key, under which its options and subcommands are listed.
      expect(script, `${shell}: key of ${path}`).toContain(`'stepgate ${path}'`);
      // Hidden options (the refused --role/--group) are not offered.
      for (const option of command.options.filter((candidate) => !candidate.hidden)) {
        const long = option.long!;
        // fish writes --name as -l name.
        expect(script, `${shell}: ${path} ${long}`).toContain(
          shell === 'fish' ? `-l ${long.slice(2)}` : long,
        );
      }
    }
  });

  it('the bash script is valid bash (bash -n)', () => {
    const script = join(work, 'syntax.bash');
    writeFileSync(script, completionScript('bash', program));
    const run = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  // zsh and fish are not installed on the CI machine (and nothing is installed for a test), so
  // their scripts are checked by content above; bash completes for real here.
  it('bash completes commands, subcommands, options and option values', () => {
    expect(bashComplete(['stepgate', 'tok'])).toEqual(['tokens']);
    expect(bashComplete(['stepgate', 'tokens', ''])).toEqual(['list', 'create', 'revoke']);
    expect(bashComplete(['stepgate', 'tokens', 'create', '--s'])).toEqual([
      '--scopes',
      '--subject',
    ]);
    expect(bashComplete(['stepgate', 'decisions', '--effect', ''])).toEqual([
      'allow',
      'deny',
      'step_up',
    ]);
    // Options before the command and values of other options do not confuse the walk.
    expect(bashComplete(['stepgate', 'decisions', '--principal', 'tokens', '--ef'])).toEqual([
      '--effect',
    ]);
    expect(bashComplete(['stepgate', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete(['stepgate', 'status', '--js'])).toEqual(['--json']);
  });

  it('a new command shows up without touching the generator', () => {
    const extended = createProgram();
    extended.command('brand-new-command').option('--shiny-flag');
    for (const shell of COMPLETION_SHELLS) {
      const script = completionScript(shell, extended);
      expect(script).toContain('brand-new-command');
      expect(script).toContain(shell === 'fish' ? '-l shiny-flag' : '--shiny-flag');
    }
  });
});

describe('--json everywhere', () => {
  // agent hands its flags to the agent process; exec's stdout belongs to the command it runs;
  // completion prints a shell script.
  const WITHOUT_JSON = ['agent', 'exec', 'completion'];

  it('every other command takes --json', () => {
    const missing = commands
      .filter(({ path }) => !WITHOUT_JSON.includes(path))
      .filter(({ command }) => !command.options.some((option) => option.long === '--json'))
      .map(({ path }) => path);
    expect(missing).toEqual([]);
  });
});
