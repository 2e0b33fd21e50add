// A server this bench starts must not outlive it, even when the bench dies without running any
// handler (SIGKILL, or a V8 fatal error, which Node 20 has been seen to hit under heavy load).
// A tiny watchdog process per server notices that its parent is gone (it is re-parented), then
// SIGKILLs the server and removes its directory; it exits on its own once the server has ended.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { stopProcess } from '../support/processes.js';

const WATCHDOG = `
const [parent, target, dir] = process.argv.slice(1);
const alive = (pid) => {
  try { process.kill(Number(pid), 0); return true; } catch (error) { return error.code === 'EPERM'; }
};
setInterval(() => {
  if (!alive(target)) process.exit(0);
  if (process.ppid !== Number(parent)) {
    try { process.kill(Number(target), 'SIGKILL'); } catch {}
    if (dir) require('node:fs').rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
}, 250);
`;

/** Watches `child` on behalf of this process; `dir` is removed with it when this process dies. */
export function guardAgainstOrphans(child, dir) {
  const watchdog = spawn(
    process.execPath,
    ['-e', WATCHDOG, String(process.pid), String(child.pid), dir],
    {
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  return watchdog;
}

/**
 * Everything a bench server needs around its process: the orphan watchdog, the tail of its
 * output (for error messages), `stop()` (graceful, then the directory removed) and
 * `stopNow()` (synchronous, for a signal handler: SIGKILL and remove the directory).
 */
export function superviseServer(child, dir, graceMs) {
  guardAgainstOrphans(child, dir);
  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > 100_000) output = output.slice(-50_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return {
    output: () => output,
    stop: async () => {
      await stopProcess(child, graceMs);
      rmSync(dir, { recursive: true, force: true });
    },
    stopNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
