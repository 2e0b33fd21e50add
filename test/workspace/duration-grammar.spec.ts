/**
 * One duration grammar: every duration-typed setting of the control plane and the agent, and
 * every `<duration>` flag of the CLI, gives the same verdict on the same text, because all of
 * them parse with the policy package's `parseDuration`. The second half fails when an ad-hoc
 * duration parser appears anywhere else in the sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../apps/agent/src/config.js';
import { loadConfig as loadControlPlaneConfig } from '../../apps/control-plane/src/config/configuration.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CONTROL_PLANE_CONFIG = 'apps/control-plane/src/config/configuration.ts';

/** What the grammar says about a text: a duration (then the setting may still refuse its range), or not. */
type Verdict = 'duration' | 'not a duration';

const INPUTS: [string, Verdict][] = [
  ['1h30m', 'duration'],
  ['90s', 'duration'],
  ['1.5h', 'duration'],
  ['3600', 'not a duration'],
  ['0', 'not a duration'],
  ['-1m', 'not a duration'],
  ['abc', 'not a duration'],
];

/** The text every refusal of a non-duration ends with, wherever it was written. */
function grammarRefusal(input: string): string {
  return `"${input}" is not a duration; write e.g. 1h or 3600s`;
}

function verdictOf(run: () => unknown, input: string): Verdict {
  try {
    run();
    return 'duration';
  } catch (error) {
    return (error as Error).message.includes(grammarRefusal(input)) ? 'not a duration' : 'duration';
  }
}

/** Every control-plane variable whose schema is `seconds` or `milliseconds` (read from the source, so a new one is included). */
function controlPlaneDurationVariables(): string[] {
  const source = readFileSync(join(repoRoot, CONTROL_PLANE_CONFIG), 'utf8');
  return [...source.matchAll(/^\s+(STEPGATE_\w+): (?:seconds|milliseconds)\b/gm)].map(
    (match) => match[1] as string,
  );
}

interface Setting {
  name: string;
  verdict(input: string): Verdict;
}

async function cliDurationFlags(): Promise<Setting[]> {
  const program = new Command().enablePositionalOptions().exitOverride();
  const dir = join(repoRoot, 'apps/cli/src/commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('-command.ts'))) {
    const module = (await import(join(dir, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (name.startsWith('register') && typeof value === 'function')
        (value as (program: Command) => void)(program);
    }
  }
  const settings: Setting[] = [];
  const walk = (command: Command): void => {
    for (const option of command.options as Option[]) {
      if (!option.flags.includes('<duration>')) continue;
      const parse = option.parseArg;
      if (parse === undefined) throw new Error(`${option.flags} has no parser`);
      settings.push({
        name: `stepgate ${command.name()} ${option.long ?? option.flags}`,
        verdict: (input) => verdictOf(() => parse(input, undefined), input),
      });
    }
    command.commands.forEach(walk);
  };
  walk(program);
  return settings;
}

async function everyDurationSetting(): Promise<Setting[]> {
  const controlPlane = controlPlaneDurationVariables().map((name) => ({
    name,
    verdict: (input: string) => verdictOf(() => loadControlPlaneConfig({ [name]: input }), input),
  }));
  const agent: Setting[] = [
    {
      name: 'STEPGATE_MAX_STALENESS',
      verdict: (input) =>
        verdictOf(
          () => loadAgentConfig({ STEPGATE_AGENT_TOKEN: 't', STEPGATE_MAX_STALENESS: input }, []),
          input,
        ),
    },
    {
      // `=`: a separate `-1m` would be read as an option by parseArgs before the grammar sees it.
      name: 'stepgate agent --max-staleness',
      verdict: (input) =>
        verdictOf(
          () => loadAgentConfig({ STEPGATE_AGENT_TOKEN: 't' }, [`--max-staleness=${input}`]),
          input,
        ),
    },
  ];
  return [...controlPlane, ...agent, ...(await cliDurationFlags())];
}

describe('one duration grammar', () => {
  it('finds the duration settings and flags it compares (no vacuous pass)', async () => {
    const names = (await everyDurationSetting()).map((setting) => setting.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'STEPGATE_GRANT_TTL',
        'STEPGATE_INGEST_RETRY_BASE',
        'STEPGATE_MAX_STALENESS',
        'stepgate request --ttl',
        'stepgate check --timeout',
      ]),
    );
    expect(names.length).toBeGreaterThanOrEqual(16);
  });

  it('gives every setting and flag the same verdict on the same text', async () => {
    const settings = await everyDurationSetting();
    const verdicts = Object.fromEntries(
      settings.map((setting) => [
        setting.name,
        Object.fromEntries(INPUTS.map(([input]) => [input, setting.verdict(input)])),
      ]),
    );
    const expected = Object.fromEntries(INPUTS);
    for (const setting of settings) expect(verdicts[setting.name], setting.name).toEqual(expected);
  });

  it('names the setting in the refusal of a bare number', () => {
    expect(() => loadControlPlaneConfig({ STEPGATE_GRANT_TTL: '3600' })).toThrow(
      `STEPGATE_GRANT_TTL: ${grammarRefusal('3600')}`,
    );
    expect(() =>
      loadAgentConfig({ STEPGATE_AGENT_TOKEN: 't', STEPGATE_MAX_STALENESS: '3600' }, []),
    ).toThrow(`STEPGATE_MAX_STALENESS: ${grammarRefusal('3600')}`);
  });
});

describe('no other duration parser', () => {
  const GRAMMAR = 'packages/policy/src/duration.ts';
  /** Unit alternations or classes next to a digit pattern: `(s|m|h)`, `(ms|s|m)`, `[smhd]`. */
  const UNIT_REGEXP = /\\d[^\n]*(?:\((?:\?:)?(?:ms\|)?s\|m|\[s?m?h?d?\]|s\|m\|h)/;
  const PARSER_DEFINITION = /(?:function|const|let)\s+parse\w*Duration\w*\b/;

  function sources(dir: string): string[] {
    return readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
      .filter(
        (entry) =>
          entry.isFile() &&
          /\.(ts|js|mjs)$/.test(entry.name) &&
          !entry.name.endsWith('.spec.ts') &&
          !entry.parentPath.includes('node_modules') &&
          !entry.parentPath.includes(`${join('', 'dist')}`) &&
          !entry.parentPath.includes('generated'),
      )
      .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)));
  }

  it('parses durations only in the policy package (the CLI adapter delegates to it)', () => {
    const offenders: string[] = [];
    for (const file of [...sources('packages'), ...sources('apps'), ...sources('scripts')]) {
      if (file === GRAMMAR) continue;
      const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        const definesParser =
          PARSER_DEFINITION.test(line) && !line.includes('parseDurationSeconds(value: string)');
        if (UNIT_REGEXP.test(line) || definesParser)
          offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('the CLI adapter calls the policy grammar', () => {
    const source = readFileSync(join(repoRoot, 'apps/cli/src/config/step-up-options.ts'), 'utf8');
    expect(source).toMatch(/import \{[^}]*\bparseDuration\b[^}]*\} from '@stepgate\/policy'/);
  });
});
