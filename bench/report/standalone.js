// Lets a bench part still run on its own (`node bench/engine.bench.js [--quick]`): when the part
// is the entry module, run it and print its sections the way the orchestrator does.
import { argv } from 'node:process';
import { pathToFileURL } from 'node:url';
import { renderSection } from './markdown.js';
import { sectionProblems } from './validate.js';

/** True when `moduleUrl` (import.meta.url) is the script node was started with. */
export function isEntryModule(moduleUrl) {
  return Boolean(argv[1]) && pathToFileURL(argv[1]).href === moduleUrl;
}

/**
 * @param {string} name
 * @param {(options: import('./section.js').BenchRunOptions) => Promise<import('./section.js').BenchSection[]>} run
 */
export async function runAlone(name, run) {
  const started = performance.now();
  const log = (line) =>
    console.error(`[${name} +${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  try {
    const sections = await run({ quick: argv.includes('--quick'), log });
    const problems = sectionProblems(sections, name);
    if (problems.length) throw new Error(problems.join('\n'));
    for (const section of sections) console.log(renderSection(section));
    console.log(`${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    process.exit(0);
  } catch (error) {
    console.error(`${name} failed: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
