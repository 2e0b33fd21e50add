// Child processes of a bench run: every one is registered, so that whatever happens (an error,
// a timeout, Ctrl-C) none outlives the run. Plus /proc readings (RSS, CPU time) and small helpers.
import { spawn, fork } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds since the epoch with sub-millisecond resolution; comparable across processes. */
export const now = () => performance.timeOrigin + performance.now();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** spawn() that is killed with the run. */
export function spawnTracked(command, args, options) {
  return track(spawn(command, args, options));
}

/** fork() (IPC channel) that is killed with the run. */
export function forkTracked(modulePath, args, options) {
  return track(fork(modulePath, args, options));
}

export function alive(child) {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopProcess(child, graceMs = 5000) {
  if (!child || !alive(child)) return;
  const gone = new Promise((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** SIGKILL to every child still running (synchronous: usable in an 'exit' handler). */
export function killAllNow() {
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
}

/** Stops every child still running, politely first. */
export async function stopAll(graceMs = 5000) {
  await Promise.all([...children].map((child) => stopProcess(child, graceMs)));
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitFor(what, probe, timeoutMs = 30_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`,
  );
}

/** Rejects after `ms` with a message naming `what`. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** VmRSS and VmHWM (peak RSS) of a process in MiB; undefined when it is gone. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** Starts a CPU measurement of `pid`; the returned function gives the share of one core since. */
export function cpuMeter(pid) {
  const startCpu = cpuSecondsOf(pid);
  const start = performance.now();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    return {
      cpuSeconds: cpuSecondsOf(pid) - startCpu,
      seconds,
      cores: (cpuSecondsOf(pid) - startCpu) / seconds,
    };
  };
}

function machineTicks() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = fields.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle: values[3] + values[4], total };
}

/** Starts a measurement of the whole machine; the returned function gives busy cores since. */
export function machineMeter() {
  const before = machineTicks();
  const cores = os.cpus().length;
  return () => {
    const after = machineTicks();
    const total = after.total - before.total;
    return total > 0 ? (1 - (after.idle - before.idle) / total) * cores : NaN;
  };
}

/** Busy share of the whole machine (0..1) over `ms`: what else is running. */
export async function machineBusy(ms = 2000) {
  const meter = machineMeter();
  await sleep(ms);
  return meter() / os.cpus().length;
}

/** Nearest-rank percentile of numbers (sorted or not); NaN for none. */
export function percentile(values, p) {
  const list = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (list.length === 0) return NaN;
  return list[Math.min(list.length - 1, Math.max(0, Math.ceil(p * list.length) - 1))];
}

export const median = (values) => percentile(values, 0.5);
