// What the figures were measured on: recorded with every run so a reader (and the README) can
// tell a quiet 2-core machine from a busy laptop.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

function git(args, cwd) {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** @param {string} repoRoot */
export function machineInfo(repoRoot) {
  const cpus = os.cpus();
  const sha = git(['rev-parse', 'HEAD'], repoRoot);
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    cpuCount: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    gitSha: sha,
    // Other people's uncommitted work in the tree may be part of what was measured.
    gitDirty: sha
      ? Boolean(git(['status', '--porcelain', '--untracked-files=no'], repoRoot))
      : undefined,
    loadAverage: os.loadavg(),
  };
}
