// A server this bench starts must not outlive it, even when the bench dies without running any
// handler (SIGKILL, or a V8 fatal error, which Node 20 has been seen to hit under heavy load).
// A tiny watchdog process per server notices that its parent is gone (it is re-parented), then
// SIGKILLs the server and removes its directory; it exits on its own once the server has ended.
import { spawn } from 'node:child_process';

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
