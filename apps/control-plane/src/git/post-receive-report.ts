/**
 * The embedded repository's post-receive hook (installed by ensureEmbeddedRepository):
 *
 *   node post-receive-report.js   (ref updates on stdin; the report endpoint and token in the env)
 *
 * It hands the ref updates to the control plane that serves the push (a loopback endpoint and a
 * token for this push only, passed by the Git HTTP handler) and prints the lines it answers,
 * which git relays to the pusher as `remote: ...`. The control plane judges the pushed commit
 * once, and that verdict is the one its sync stores, so this script judges nothing itself and
 * reads no repository. It only informs: the push is already accepted, so it always exits 0.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

/** Where the hook reports, and the token proving it reports for the push being served. */
export const PUSH_REPORT_URL_ENV = 'STEPGATE_PUSH_REPORT_URL';
export const PUSH_REPORT_TOKEN_ENV = 'STEPGATE_PUSH_REPORT_TOKEN';
/** Under git http-backend's 60 s limit on a push, so the pusher always hears something. */
const WAIT_MS = 50_000;
const PREFIX = 'stepgate:';

/** Parses post-receive's stdin: one `<old> <new> <ref>` line per updated ref. */
export function parseRefUpdates(input: string): RefUpdate[] {
  return input
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts): parts is [string, string, string] => parts.length === 3)
    .map(([oldSha, newSha, ref]) => ({ oldSha, newSha, ref }));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Prints the control plane's lines about `updates` as they come (the verdict first, the impact
 * when known: one JSON object a line), or one line saying why there are none.
 */
async function report(updates: RefUpdate[], print: (lines: string[]) => void): Promise<void> {
  const url = process.env[PUSH_REPORT_URL_ENV];
  const token = process.env[PUSH_REPORT_TOKEN_ENV];
  if (!url || !token)
    return print([`${PREFIX} this push was not served by the control plane; not checked`]);
  let printed = false;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ updates }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    if (!response.ok || response.body === null) {
      const body = (await response.json().catch(() => ({}))) as { message?: unknown };
      return print([
        `${PREFIX} the policy check failed: ${String(body.message ?? response.status)}`,
      ]);
    }
    let buffered = '';
    const decoder = new TextDecoder();
    const flush = (text: string): void => {
      if (text.trim() === '') return;
      const body = JSON.parse(text) as { lines?: unknown };
      if (Array.isArray(body.lines)) {
        print(body.lines.map(String));
        printed = true;
      }
    };
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut: number;
      while ((cut = buffered.indexOf('\n')) !== -1) {
        flush(buffered.slice(0, cut));
        buffered = buffered.slice(cut + 1);
      }
    }
    flush(buffered);
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    print([
      timedOut
        ? printed
          ? `${PREFIX} the impact did not come within ${WAIT_MS / 1000} s; see it with stepgate versions`
          : `${PREFIX} the verdict did not come within ${WAIT_MS / 1000} s; the control plane records it as a version (stepgate versions)`
        : `${PREFIX} the policy check failed: ${(error as Error).message}`,
    ]);
  }
}

async function main(): Promise<void> {
  const updates = parseRefUpdates(await readStdin());
  if (updates.length === 0) return;
  await report(updates, (lines) => {
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main()
    .catch((error: unknown) => {
      process.stdout.write(`${PREFIX} the policy check failed: ${String(error)}\n`);
    })
    .finally(() => {
      process.exitCode = 0;
    });
}
