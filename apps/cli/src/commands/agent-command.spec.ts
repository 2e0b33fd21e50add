import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentCommand, resolveAgentMain, shebangNodeFlags } from './agent-command.js';

const CLI = join(import.meta.dirname, '../../bin/stepgate.js');

describe('stepgate agent', () => {
  it('runs the agent with the flags given: --help prints the agent usage and exits 0', () => {
    const run = spawnSync(process.execPath, [CLI, 'agent', '--help'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/STEPGATE_AGENT_TOKEN/);
    // The recovery from a poisoned cache is reachable as `stepgate agent --reset-trust`.
    expect(run.stdout).toMatch(/--reset-trust/);
  });

  it('passes the agent exit code through (missing token -> 2, one line, no stack)', () => {
    const env = { ...process.env, STEPGATE_AGENT_TOKEN: '' };
    const run = spawnSync(process.execPath, [CLI, 'agent', '--port', '0'], {
      encoding: 'utf8',
      timeout: 20_000,
      env,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/STEPGATE_AGENT_TOKEN is required/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('says how to build when the agent is missing', async () => {
    expect(await agentCommand([], '/nonexistent/main.js')).toBe(2);
  });

  it('runs the installed @stepgate/agent bin, else the workspace build', () => {
    const root = mkdtempSync(join(tmpdir(), 'stepgate-cli-agent-'));
    try {
      const cli = join(root, 'node_modules/@stepgate/cli/dist/commands/agent-command.js');
      const from = pathToFileURL(cli).href;
      // Nothing installed: the path of the workspace layout.
      expect(resolveAgentMain(from)).toBe(join(root, 'node_modules/@stepgate/agent/dist/main.js'));
      const agent = join(root, 'node_modules/@stepgate/agent');
      mkdirSync(agent, { recursive: true });
      writeFileSync(
        join(agent, 'package.json'),
        JSON.stringify({ name: '@stepgate/agent', bin: { 'stepgate-agent': './dist/bundle.js' } }),
      );
      expect(resolveAgentMain(from)).toBe(join(agent, 'dist/bundle.js'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("gives node the V8 flags of the bundled agent's first line, and none otherwise", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-agent-flags-'));
    try {
      const bundled = join(dir, 'bundled.js');
      writeFileSync(
        bundled,
        '#!/usr/bin/env -S node --max-semi-space-size=2 --flag-b\nprocess.exit(0);\n',
      );
      expect(shebangNodeFlags(bundled)).toEqual(['--max-semi-space-size=2', '--flag-b']);
      const plain = join(dir, 'plain.js');
      writeFileSync(plain, '#!/usr/bin/env node\nprocess.exit(0);\n');
      expect(shebangNodeFlags(plain)).toEqual([]);
      // Only node options: anything else on the line is not passed on.
      const odd = join(dir, 'odd.js');
      writeFileSync(odd, '#!/usr/bin/env -S node --ok; rm -rf /\n');
      expect(shebangNodeFlags(odd)).toEqual([]);
      expect(shebangNodeFlags(join(dir, 'missing.js'))).toEqual([]);
      // And `stepgate agent` really starts node with them (the probe exits 7 only if so).
      const probe = join(dir, 'probe.js');
      writeFileSync(
        probe,
        "#!/usr/bin/env -S node --max-semi-space-size=3\nprocess.exit(process.execArgv.includes('--max-semi-space-size=3') ? 7 : 1);\n",
      );
      expect(await agentCommand([], probe)).toBe(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
