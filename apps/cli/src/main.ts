import { CommanderError } from 'commander';
import { createProgram } from './program.js';

const program = createProgram();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; usage errors exit 2 like other unusable input.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`stepgate: unexpected error: ${(error as Error).message}\n`);
    process.exitCode = 70;
  }
}
