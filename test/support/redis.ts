/**
 * A throwaway Redis (Debian redis-server) on an ephemeral loopback port, in a temp dir, without persistence:
 * optionally with a password (requirepass, or an ACL user), over TLS only (a certificate from a test CA), and
 * stoppable and restartable on the same port (fault tests). Sentinel and Cluster setups build on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
  /** Run a command with redis-cli (plain servers only); resolves with its output. */
  cli(...args: string[]): Promise<string>;
}

function waitForPort(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port}`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'redis-'));
  const port = opts.port ?? (await freePort());
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
    child = spawn('redis-server', args(), { stdio: 'ignore' });
    await waitForPort(port);
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };

  await start();
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
