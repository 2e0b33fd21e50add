import { createInterface, type Interface } from 'node:readline';
import type { ConnectionFlags } from '../config/connection.js';
import { resolveConnection } from '../config/connection.js';
import { resolveIdToken, type IdTokenFlags } from '../config/id-token.js';
import { EXIT_REFUSED, reportFailure, type AdminIo } from './admin-command-runner.js';
import { ControlPlaneClient, type ControlPlaneApi } from './control-plane-client.js';

/** A clock the waiting loops use; tests pass a fake one that never really sleeps. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Everything a step-up command touches outside itself. */
export interface StepUpIo extends AdminIo {
  /** Whether stderr is a terminal (a countdown redraws in place, else prints a line now and then). */
  stderrIsTty?: boolean;
  clock?: Clock;
  /** Reads one line typed or piped in (a TOTP code), prompting on stderr; undefined at end of input. */
  readLine?: (prompt: string) => Promise<string | undefined>;
  /** Releases whatever readLine opened. */
  closeInput?: () => void;
}

export function processStepUpIo(): StepUpIo {
  const input = stdinLineReader();
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTty: process.stderr.isTTY === true,
    clock: systemClock,
    readLine: (prompt) => input.read(prompt),
    closeInput: () => input.close(),
  };
}

/**
 * A line reader over stdin, opened on first use and kept between prompts (enrolment asks twice,
 * and piped input may carry both answers at once). `close()` lets go of stdin so a finished
 * command does not hang on an open terminal.
 */
export function stdinLineReader(
  input: NodeJS.ReadableStream = process.stdin,
  prompts: { write(text: string): unknown } = process.stderr,
): { read(prompt: string): Promise<string | undefined>; close(): void } {
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let ended = false;
  let reader: Interface | undefined;
  const open = (): void => {
    if (reader !== undefined) return;
    reader = createInterface({ input, terminal: false });
    reader.on('line', (line) => {
      const next = waiting.shift();
      if (next === undefined) lines.push(line);
      else next(line);
    });
    reader.once('close', () => {
      ended = true;
      for (const next of waiting.splice(0)) next(undefined);
    });
  };
  return {
    read(prompt) {
      prompts.write(prompt);
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.resolve(undefined);
      open();
      return new Promise((resolve) => waiting.push(resolve));
    },
    close() {
      reader?.close();
    },
  };
}

/**
 * Runs a step-up command: resolves the connection, hands the client to `run` (which prints and
 * returns the exit code itself), and turns expected failures into one line on stderr. Commands
 * whose exit code is a verdict (check 0/1/3, exec) pass `refusedExit` 2, so a failure never
 * looks like a deny.
 */
export async function runStepUpCommand(
  commandName: string,
  options: ConnectionFlags & IdTokenFlags & { json?: boolean },
  io: StepUpIo,
  run: (client: ControlPlaneApi) => Promise<number>,
  refusedExit = EXIT_REFUSED,
): Promise<number> {
  let token: string | undefined;
  const redact = (text: string): string =>
    token === undefined || token.length < 8 ? text : text.split(token).join('<token>');
  try {
    // A CI job's OIDC token, when given, is the credential: the principal is whoever it names.
    const idToken = await resolveIdToken(options, io.env ?? process.env, io.fetch ?? fetch);
    const connection = resolveConnection(
      idToken === undefined ? options : { ...options, token: idToken },
      io.env,
    );
    token = connection.token;
    const client = new ControlPlaneClient(connection, { fetch: io.fetch, timeoutMs: io.timeoutMs });
    return await run(client);
  } catch (error) {
    const exit = reportFailure(commandName, error, io, redact, refusedExit, options.json === true);
    if (exit === undefined) throw error;
    return exit;
  }
}
