// Child process for one bench part (forked by bench/run.js): each part gets a fresh Node
// (no JIT state, heap or leftover handles from the previous part), and a part that overruns
// its budget can be stopped without taking the orchestrator down.
// argv: <module path> [--quick]. Sends { type: 'sections', sections } or { type: 'error', message }.
import { pathToFileURL } from 'node:url';
import { sectionProblems } from './validate.js';

const [modulePath, ...flags] = process.argv.slice(2);
const quick = flags.includes('--quick');
const log = (line) => process.stderr.write(`  ${line}\n`);

async function main() {
  const part = await import(pathToFileURL(modulePath).href);
  if (typeof part.run !== 'function')
    throw new Error(
      `${modulePath} does not export run({ quick, log }) (see bench/report/section.js)`,
    );
  // A part may resolve with one section or several (section.js: "returns BenchSections").
  const result = await part.run({ quick, log });
  const sections = Array.isArray(result) ? result : [result];
  const problems = sectionProblems(sections, modulePath);
  if (problems.length)
    throw new Error(`sections do not match bench/report/section.js:\n${problems.join('\n')}`);
  return sections;
}

const send = (message) => new Promise((resolve) => process.send(message, () => resolve()));
try {
  const sections = await main();
  await send({ type: 'sections', sections });
  process.exit(0);
} catch (error) {
  await send({ type: 'error', message: String(error?.message ?? error), stack: error?.stack });
  process.exit(1);
}
