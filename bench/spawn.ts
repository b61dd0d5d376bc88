/** Starting the bench's servers as processes of their own, each announcing its URL, and stopping them. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';

export interface Proc {
  name: string;
  pid: number;
  /** What the process announced on its READY line. */
  ready: Record<string, unknown>;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The last CPU for the measured server, the others for everything else, when `taskset` exists and there are two or more. */
const CPUS = os.availableParallelism();
const PIN = process.env.BENCH_PIN !== '0' && CPUS >= 2 && fs.existsSync('/usr/bin/taskset');
export const pinning = PIN ? `servers on CPU ${CPUS - 1}, load generator and peers on CPUs 0-${CPUS - 2}` : 'not pinned';

function command(args: string[], measured: boolean): [string, string[]] {
  if (!PIN) return [process.execPath, args];
  return ['taskset', ['-c', measured ? String(CPUS - 1) : `0-${CPUS - 2}`, process.execPath, ...args]];
}

/** Pins this process (the load generator) and what it starts later to the CPUs the servers do not use. */
export function pinSelf(): void {
  // Before anything is started: children inherit the affinity.
  if (PIN) spawnSync('taskset', ['-pc', `0-${CPUS - 2}`, String(process.pid)], { stdio: 'ignore' });
}

/**
 * Runs `node <args>` and waits for its `READY {json}` stdout line (or, with `readyUrl`, for that URL to
 * answer 200). Output after that goes to `logFile` (or nowhere); stderr lines starting `HEAP ` go to `onHeap`.
 */
export async function startProc(
  name: string,
  args: string[],
  o: { env?: Record<string, string>; measured?: boolean; readyUrl?: string; logFile?: string; readyLog?: RegExp; onHeap?: (line: string) => void } = {},
): Promise<Proc> {
  const [cmd, argv] = command(args, o.measured ?? false);
  const out = o.logFile ? fs.openSync(o.logFile, 'a') : 'ignore';
  const child = spawn(cmd, argv, { env: { ...process.env, ...o.env }, stdio: ['ignore', o.readyUrl ? out : 'pipe', 'pipe'] });
  const errors: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('HEAP ')) o.onHeap?.(line.slice(5));
    else if (errors.length < 20) errors.push(line);
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${errors.join('\n')}`))));
  exited.catch(() => undefined);
  let ready: Record<string, unknown>;
  if (o.readyUrl) {
    // Its own log line first: another process may hold the port and answer the URL.
    if (o.logFile && o.readyLog) await Promise.race([waitForLine(o.logFile, o.readyLog), exited]);
    ready = await Promise.race([poll(o.readyUrl), exited]);
  } else {
    const lines = readline.createInterface({ input: child.stdout! });
    ready = await Promise.race([
      new Promise<Record<string, unknown>>((resolve) => lines.on('line', (line) => line.startsWith('READY ') && resolve(JSON.parse(line.slice(6)) as Record<string, unknown>))),
      exited,
    ]);
  }
  // With taskset in front, the pid to read in /proc is node's: taskset execs it, so it is the same pid.
  const pid = child.pid ?? 0;
  return {
    name,
    pid,
    ready,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

async function waitForLine(file: string, line: RegExp): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (line.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no line matching ${line} in ${file} within 30 s`);
}

async function poll(url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status === 200) return { url: new URL(url).origin };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}
