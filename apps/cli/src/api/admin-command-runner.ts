import type { AdminOptions } from '../config/admin-options.js';
import { resolveConnection, type Environment } from '../config/connection.js';
import { UsageError } from '../config/usage-error.js';
import { printable } from '../output/table.js';
import {
  ControlPlaneClient,
  ControlPlaneError,
  ControlPlaneUnreachableError,
  type ControlPlaneApi,
} from './control-plane-client.js';

export const EXIT_OK = 0;
/** The control plane refused, failed, or could not be reached. */
export const EXIT_REFUSED = 1;
/** Bad or missing arguments, no token: same as commander's usage errors. */
export const EXIT_USAGE = 2;

export interface TextSink {
  write(text: string): unknown;
}

/** What an admin command needs from the outside world; tests pass their own. */
export interface AdminIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Defaults to process.env (read by config/connection.ts only). */
  env?: Environment;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function processIo(): AdminIo {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** A command's result: `data` for --json, `text` for people. */
export interface AdminOutput {
  data: unknown;
  text: string;
}

/**
 * Runs one admin command: resolves the connection, calls the control plane through `run`,
 * prints the result, and turns every expected failure into a one-line message and an exit code
 * (never a stack trace, never the token).
 */
export async function runAdminCommand(
  commandName: string,
  options: AdminOptions,
  io: AdminIo,
  run: (client: ControlPlaneApi) => Promise<AdminOutput>,
): Promise<number> {
  let token: string | undefined;
  // Error text may quote what the server or a library saw; keep the token out of terminals and
  // CI logs. Tokens shorter than 8 characters are not real tokens and would mangle messages.
  const redact = (text: string): string =>
    token === undefined || token.length < 8 ? text : text.split(token).join('<token>');
  try {
    const connection = resolveConnection(options, io.env);
    token = connection.token;
    const client = new ControlPlaneClient(connection, { fetch: io.fetch, timeoutMs: io.timeoutMs });
    const output = await run(client);
    io.stdout.write(
      options.json ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    const exit = reportFailure(commandName, error, io, redact, EXIT_REFUSED, options.json);
    if (exit === undefined) throw error;
    return exit;
  }
}

/**
 * Prints an expected failure as one line (plus a hint where one helps) and returns its exit
 * code: usage errors EXIT_USAGE, refusals and unreachable control planes `refusedExit`.
 * With `json`, the failure is one JSON object `{error, message}` on stderr instead, for scripts.
 * Returns undefined for anything else (a bug), which the caller rethrows.
 */
export function reportFailure(
  commandName: string,
  error: unknown,
  io: Pick<AdminIo, 'stderr'>,
  redact: (text: string) => string,
  refusedExit = EXIT_REFUSED,
  json = false,
): number | undefined {
  if (json) {
    const failure = jsonFailure(error);
    if (failure === undefined) return undefined;
    const body = { error: failure.error, message: redact(failure.message) };
    io.stderr.write(`${JSON.stringify(body)}\n`);
    return failure.usage ? EXIT_USAGE : refusedExit;
  }
  if (error instanceof UsageError) {
    io.stderr.write(
      `error: ${redact(error.message)}\n(run \`stepgate ${commandName} --help\` for usage)\n`,
    );
    return EXIT_USAGE;
  }
  if (error instanceof ControlPlaneError) {
    io.stderr.write(`error: ${redact(printable(error.message))} (${printable(error.code)})\n`);
    // A 401 about something else (a wrong TOTP code) is not the token's fault.
    const aboutToken = error.code.startsWith('auth/') || error.code.startsWith('http/');
    if (error.status === 401 && aboutToken) {
      io.stderr.write('hint: check the token given with --token or STEPGATE_TOKEN\n');
    }
    if (error.status === 403 && aboutToken) {
      io.stderr.write('hint: the token lacks a scope this call needs; ask an admin for one\n');
    }
    return refusedExit;
  }
  if (error instanceof ControlPlaneUnreachableError) {
    io.stderr.write(`error: ${redact(error.message)}\n`);
    return refusedExit;
  }
  return undefined;
}

/** The `{error, message}` of an expected failure (the control plane's own code when it has one). */
function jsonFailure(
  error: unknown,
): { error: string; message: string; usage: boolean } | undefined {
  if (error instanceof UsageError) return { error: 'usage', message: error.message, usage: true };
  if (error instanceof ControlPlaneError) {
    return { error: error.code, message: error.message, usage: false };
  }
  if (error instanceof ControlPlaneUnreachableError) {
    return { error: 'unreachable', message: error.message, usage: false };
  }
  return undefined;
}
