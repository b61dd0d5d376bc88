/**
 * A throwaway Redis (Debian redis-server) on an ephemeral loopback port, in a temp dir, without persistence:
 * optionally with a password (requirepass, or an ACL user), over TLS only (a certificate from a test CA), and
 * stoppable and restartable on the same port (fault tests). Sentinel and Cluster setups build on it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './slapd.js';
import { makeTestCa, type TestCa } from './test-ca.js';

export interface RedisOptions {
  /** requirepass (the `default` user's password). */
  password?: string;
  /** An ACL user with every permission, besides the default user. */
  user?: { name: string; password: string };
  /** Serve TLS only (the port speaks TLS; no plain port). */
  tls?: boolean;
  /** Extra redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  args?: string[];
  /** Reuse this port (e.g. a restart). */
  port?: number;
  /** Reuse this directory (and its CA). */
  dir?: string;
}

export interface TestRedis {
  host: string;
  port: number;
  dir: string;
  /** The test CA, when tls. */
  ca?: TestCa;
  /** Stop the server (SIGTERM, waits for the exit). */
  stop(): Promise<void>;
  /** Start it again on the same port, with the same options. */
  restart(): Promise<void>;
  /** Freeze the process (SIGSTOP): connections stay open, nothing answers (a hung Redis). */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
  /** Run a command with redis-cli (plain servers only); resolves with its output. */
  cli(...args: string[]): Promise<string>;
}

/**
 * Resolves once the port accepts connections; rejects early when the server exits (a port taken since freePort
 * chose it), or after `ms` (generous: on a loaded CI machine a start can take seconds).
 */
function waitForPort(port: number, child: ChildProcess, logFile: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const lastLog = () => {
      try {
        return fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-2).join(' | ');
      } catch {
        return 'no log';
      }
    };
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return reject(new ExitedEarly(`redis-server exited before listening on ${port}: ${lastLog()}`));
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port} within ${ms / 1000} s: ${lastLog()}`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

class ExitedEarly extends Error {}

/**
 * The directories startRedis made in this test file, removed after it (test/support/setup.ts): stop() keeps its
 * directory, since restart() (an outage and its end) needs the same one, and most tests never remove it themselves.
 */
const madeDirs: Set<string> = ((globalThis as { __testRedisDirs?: Set<string> }).__testRedisDirs ??= new Set());

export async function startRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'redis-'));
  if (opts.dir === undefined) madeDirs.add(dir);
  let port = opts.port ?? (await freePort());
  const ca = opts.tls ? makeTestCa(dir, 'redis') : undefined;
  let child: ChildProcess | undefined;

  const args = (): string[] => {
    const a = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', path.join(dir, 'redis.log')];
    if (ca) a.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', ca.serverCert, '--tls-key-file', ca.serverKey, '--tls-ca-cert-file', ca.caCert, '--tls-auth-clients', 'no');
    else a.push('--port', String(port));
    if (opts.password) a.push('--requirepass', opts.password);
    if (opts.user) a.push('--user', opts.user.name, 'on', `>${opts.user.password}`, '~*', '&*', '+@all');
    return [...a, ...(opts.args ?? [])];
  };

  const start = async () => {
    const c = spawn('redis-server', args(), { stdio: 'ignore' });
    child = c;
    // A server that never answered is stopped here: the caller gets no handle to stop it with.
    await waitForPort(port, c, path.join(dir, 'redis.log')).catch((err: unknown) => {
      c.kill('SIGKILL');
      throw err;
    });
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };

  // A port freePort chose can be taken by another suite before redis-server binds it: then another port.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (!(err instanceof ExitedEarly) || opts.port !== undefined || attempt >= 3) throw err;
      port = await freePort();
    }
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    ca,
    stop,
    async restart() {
      await stop();
      await start();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    cli(...cmd: string[]) {
      const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
      return new Promise((resolve, reject) => {
        const p = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...cmd]);
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.once('error', reject);
        p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli exited ${code}`))));
      });
    },
  };
}

export interface TestSentinel {
  host: string;
  port: number;
  masterName: string;
  stop(): Promise<void>;
}

/**
 * One Sentinel (`redis-server <conf> --sentinel`) watching `master` under `masterName`, optionally with its
 * own password (requirepass) and the master's password (auth-pass). Resolves once it knows the master.
 */
export async function startSentinel(opts: { master: TestRedis; masterName?: string; password?: string; masterPassword?: string }): Promise<TestSentinel> {
  const masterName = opts.masterName ?? 'mymaster';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sentinel-'));
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    `logfile ${path.join(dir, 'sentinel.log')}`,
    `sentinel monitor ${masterName} ${opts.master.host} ${opts.master.port} 1`,
    `sentinel down-after-milliseconds ${masterName} 5000`,
  ];
  if (opts.masterPassword) lines.push(`sentinel auth-pass ${masterName} ${opts.masterPassword}`);
  if (opts.password) lines.push(`requirepass ${opts.password}`);
  fs.writeFileSync(conf, lines.join('\n') + '\n'); // Sentinel rewrites its file: it must be writable
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await waitForPort(port, child, path.join(dir, 'sentinel.log'));
  const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
  const until = Date.now() + 5000;
  for (;;) {
    const out = await runCli(['-p', String(port), ...auth, 'SENTINEL', 'get-master-addr-by-name', masterName]).catch(() => '');
    if (out.includes(String(opts.master.port))) break;
    if (Date.now() > until) throw new Error(`sentinel on ${port} does not know ${masterName}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    masterName,
    async stop() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestCluster {
  nodes: TestRedis[];
  /** "127.0.0.1:p1", ... */
  addrs: string[];
  stop(): Promise<void>;
}

/** Three masters (no replicas) joined with `redis-cli --cluster create`; resolves when cluster_state is ok. */
export async function startCluster(opts: { password?: string } = {}): Promise<TestCluster> {
  const nodes: TestRedis[] = [];
  for (let n = 0; n < 3; n++) {
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'];
    if (opts.password) args.push('--masterauth', opts.password);
    nodes.push(await startRedis({ password: opts.password, args }));
  }
  const addrs = nodes.map((r) => `${r.host}:${r.port}`);
  const auth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
  await runCli([...auth, '--cluster', 'create', ...addrs, '--cluster-yes']);
  const until = Date.now() + 10_000;
  for (;;) {
    const states = await Promise.all(nodes.map((r) => r.cli('CLUSTER', 'INFO').catch(() => '')));
    if (states.every((s) => s.includes('cluster_state:ok'))) break;
    if (Date.now() > until) throw new Error('the test cluster did not become ok');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    nodes,
    addrs,
    async stop() {
      await Promise.all(nodes.map((r) => r.stop()));
      for (const r of nodes) fs.rmSync(r.dir, { recursive: true, force: true });
    },
  };
}

function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', ...args], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}
