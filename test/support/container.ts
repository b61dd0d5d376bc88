/**
 * A private Docker engine for test/slow/container.test.ts: Debian's dockerd (docker.io) started by the test with
 * its own data root, exec root and socket under a temp directory, no bridge and no iptables (containers use the
 * host's network), so it touches nothing of the machine's own engine. close() removes every container, stops
 * the engine, unmounts what it left (overlay layers, network namespaces) and deletes the directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Engine {
  /** DOCKER_HOST for this engine, and the environment to give a command that runs `docker`. */
  host: string;
  env: NodeJS.ProcessEnv;
  docker(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<DockerResult>;
  /** Any command with this engine's DOCKER_HOST (the documented commands, scripts/build-base-image.sh). */
  run(file: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<DockerResult>;
  close(): Promise<void>;
}

function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Where `name` is on PATH, or ''. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return '';
}

/**
 * Starts the engine, or answers why it cannot run here (the test then skips with that reason). Debian's own
 * client (/usr/bin/docker) is used when present: it matches the daemon's API version.
 */
export async function startEngine(): Promise<Engine | string> {
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  const dockerd = which('dockerd');
  if (!dockerd) return 'dockerd is not installed (Debian: apt-get install docker.io; scripts/ensure-test-deps.sh installs it as root)';
  const client = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : which('docker');
  if (!client) return 'the docker client is not installed (Debian: docker.io)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-'));
  const host = `unix://${dir}/docker.sock`;
  const ns = `container-test-${process.pid}`;
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  const daemon: ChildProcess = spawn(
    dockerd,
    ['--bridge=none', '--iptables=false', '--ip6tables=false', `--data-root=${dir}/data`, `--exec-root=${dir}/exec`, `--pidfile=${dir}/dockerd.pid`, `-H`, host, `--containerd-namespace=${ns}`, `--containerd-plugins-namespace=${ns}-plugins`],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  let exited = false;
  daemon.on('exit', () => (exited = true));
  // That client is `docker` for the commands run through run() (the documented ones, scripts/build-base-image.sh).
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.symlinkSync(client, path.join(dir, 'bin', 'docker'));
  const env = { ...process.env, PATH: `${dir}/bin:${process.env.PATH ?? ''}`, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' };
  const docker = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) => run(client, args, { ...opts, env: { ...env, ...opts.env } });

  const close = async () => {
    if (!exited) {
      const ids = (await docker(['ps', '-aq'])).stdout.split(/\s+/).filter(Boolean);
      if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
      daemon.kill('SIGTERM');
      const deadline = Date.now() + 30_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (!exited) daemon.kill('SIGKILL');
    }
    // What the engine mounted under its directories (overlay layers, shm, network namespaces), deepest first.
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if ((await docker(['version'])).code === 0) break;
    if (exited || Date.now() > deadline) {
      const tail = fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
      await close();
      return `dockerd could not start here: ${tail}`;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { host, env, docker, run: (file, args, opts = {}) => run(file, args, { ...opts, env: { ...env, ...opts.env } }), close };
}
