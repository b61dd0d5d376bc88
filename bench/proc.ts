/** What Linux says about a process and the machine (/proc): CPU time, peak resident memory, other load. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 nearly everywhere). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of one process so far, in ticks (0 once it is gone). */
export function cpuTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is [0], utime [11], stime [12].
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) in MB. */
export function peakRssMb(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Starts the peak RSS over from the current RSS (clear_refs 5), so a peak belongs to one measurement. */
export function resetPeakRss(pid: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not allowed here: the peak then covers the process's whole life, which the table says.
  }
}

/** Busy CPU ticks of the whole machine (all cores: everything but idle and iowait). */
export function machineBusyTicks(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...n] = line.trim().split(/\s+/).map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - (n[3] ?? 0) - (n[4] ?? 0);
}

export function loadAverage(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * CPU the machine spent outside the given processes while `fn` ran, in cores (0.5 = half a core busy on
 * average): the bench's own processes are known, anything else is someone else's load.
 */
export async function withOtherLoad<T>(pids: number[], fn: () => Promise<T>): Promise<{ value: T; otherCores: number }> {
  const ticks = () => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const [busy0, ours0, t0] = [machineBusyTicks(), ticks(), performance.now()];
  const value = await fn();
  const [busy1, ours1, t1] = [machineBusyTicks(), ticks(), performance.now()];
  const seconds = (t1 - t0) / 1000;
  return { value, otherCores: Math.max(0, (busy1 - busy0 - (ours1 - ours0)) / CLK_TCK / seconds) };
}

/** Resident set size now (VmRSS) in MB. */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}
