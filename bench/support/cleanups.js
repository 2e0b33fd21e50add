// Undo steps of one bench part (control plane, simulated agents, temp dirs), run once, newest
// first, whatever happens; and the stand-alone runner of a part (`node bench/x.bench.js
// [--quick]`): prints its section, cleans up on error, timeout or Ctrl-C.
import { pathToFileURL } from 'node:url';
import { killAllNow, stopAll, withTimeout } from './processes.js';

/** Every Cleanups not yet run, so a signal can run them before the process exits. */
const active = new Set();

export class Cleanups {
  constructor() {
    /** @type {(() => unknown)[]} */
    this.undos = [];
    active.add(this);
  }

  /** Registers `undo`; returns a function that runs it now (once) and forgets it. */
  add(undo) {
    this.undos.push(undo);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const index = this.undos.indexOf(undo);
      if (index >= 0) this.undos.splice(index, 1);
      await undo();
    };
  }

  async run() {
    active.delete(this);
    while (this.undos.length) {
      const undo = this.undos.pop();
      await withTimeout(Promise.resolve().then(undo), 30_000, 'a cleanup step').catch((error) =>
        console.error(`warning: cleanup: ${error.message}`),
      );
    }
  }
}

async function runAll() {
  await Promise.all([...active].map((c) => c.run()));
  await stopAll(2000);
}

/** True when `importMetaUrl` is the script node was started with. */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(process.argv[1]).href;
}

function markdown(section) {
  const out = [`## ${section.title}`, ''];
  for (const table of section.tables) {
    out.push(`### ${table.title}`, '', `| ${table.columns.join(' | ')} |`);
    out.push(`| ${table.columns.map(() => '---').join(' | ')} |`);
    for (const row of table.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  out.push('Ratios:', '');
  for (const [key, ratio] of Object.entries(section.ratios))
    out.push(
      `- ${key} = ${ratio.value.toFixed(3)} (${ratio.better} is better): ${ratio.description}`,
    );
  out.push('', 'Metrics:', '');
  for (const [key, value] of Object.entries(section.metrics)) out.push(`- ${key} = ${value}`);
  if (section.notes?.length) out.push('', 'Notes:', '', ...section.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

/**
 * Runs `run({quick, log})` as a script: prints the section as Markdown (and JSON with
 * `--json`), exits 1 on failure; cleans up on SIGINT/SIGTERM and after `timeoutMs`.
 */
export async function runStandalone(name, run, timeoutMs) {
  const quick = process.argv.includes('--quick');
  const t0 = performance.now();
  const log = (line) =>
    console.error(`[${name} +${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      void runAll().finally(() => process.exit(130));
    });
  const limit = timeoutMs(quick);
  const watchdog = setTimeout(() => {
    console.error(`${name}: gave up after ${limit / 1000} s; cleaning up`);
    void runAll().finally(() => process.exit(1));
  }, limit);
  let failed = false;
  try {
    const section = await run({ quick, log });
    console.log(markdown(section));
    if (process.argv.includes('--json')) console.log(JSON.stringify(section, null, 2));
  } catch (error) {
    failed = true;
    console.error(`${name} failed: ${error?.stack ?? error}`);
  } finally {
    clearTimeout(watchdog);
    await runAll();
  }
  process.exit(failed ? 1 : 0);
}
