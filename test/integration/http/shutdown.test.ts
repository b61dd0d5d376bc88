/**
 * Graceful shutdown (issue 11, item 8) with a login in flight, held at a real upstream login service
 * (ProxyProvider) until the test lets it answer: broker.close() and the CLI's SIGTERM stop accepting
 * connections at once, let the held login finish and reach Tyk, then release everything and (the CLI) exit 0.
 * A login that outlasts the drain limit has its connection dropped and close() still ends.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestBroker } from '../../support/broker.js';
import { freePort } from '../../support/slapd.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const root = path.resolve(import.meta.dirname, '../../..');
const CRED = 'dashboard-credential-for-shutdown';
const ADMIN = 'dashboard-admin-secret-for-shutdown';
const PASSWORD = 'shutdown-test-password';

/** The upstream login service: every request waits until `release()`; `arrived` resolves when one is held. */
let upstream: http.Server;
let upstreamUrl = '';
let held: http.ServerResponse[] = [];
let arrived: Promise<void>;
let onArrive: () => void;
let stub: TykStub;

function armArrival(): void {
  arrived = new Promise((resolve) => (onArrive = resolve));
}
function release(): void {
  for (const res of held.splice(0)) res.end('welcome');
}

const profile = {
  ID: 'slow',
  OrgID: 'org-1',
  ActionType: 'GenerateTemporaryAuthToken',
  MatchedPolicyID: 'policy-1',
  ProviderName: 'ProxyProvider',
  ReturnURL: 'http://app.example.com/cb',
  IdentityHandlerConfig: { DashboardCredential: CRED, TokenAuth: { BaseAPIID: 'api-base', Expires: 600 } },
  ProviderConfig: { ExtractUserNameFromBasicAuthHeader: true, TargetHost: '', UpstreamTimeout: 30_000 },
};
const profileFor = () => ({ ...profile, ProviderConfig: { ...profile.ProviderConfig, TargetHost: `${upstreamUrl}/login` } });
const tykConfig = () => ({ DashboardConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN }, GatewayConfig: { Endpoint: stub.endpoint, Port: stub.port, AdminSecret: ADMIN } });

/** A login as the upstream sees it; resolves with the broker's status, or rejects when the connection drops. */
function login(port: number, prefix = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `${prefix}/auth/slow/proxy`, auth: `alice:${PASSWORD}`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a new TCP connection to the port is refused (nothing listens any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Whether `p` has settled by the time the event loop has turned a few times. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    held.push(res);
    onArrive();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
});

afterAll(async () => {
  release();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  await stub?.close();
});

beforeEach(() => {
  held = [];
  armArrival();
  stub.reset();
});

describe('broker.close() with a login in flight', () => {
  it('refuses new connections at once, lets the login finish, then closes', async () => {
    const b = await startTestBroker({ profiles: [profileFor()], config: { TykAPISettings: tykConfig() } });
    const port = Number(new URL(b.url).port);
    const inFlight = login(port);
    await arrived;

    const closing = b.broker.close();
    expect(await refused(port)).toBe(true);
    // Still waiting for the login the upstream holds.
    expect(await settled(closing)).toBe(false);

    release();
    // The temporary token's redirect to ReturnURL: the login went through to the end.
    expect(await inFlight).toBe(302);
    expect(stub.requests.some((r) => r.path.startsWith('/api/keys'))).toBe(true);
    await closing;
    await b.close();
  });

  it('mounted in a host application, waits for the login before closing its pools and clients', async () => {
    const b = await startTestBroker({ profiles: [profileFor()], config: { TykAPISettings: tykConfig() }, mountPath: '/tib' });
    const url = new URL(b.url);
    const inFlight = login(Number(url.port), '/tib');
    await arrived;
    // The host's server is the host's business; the broker's close() must still not pull the Tyk client away.
    const closing = b.broker.close();
    expect(await settled(closing)).toBe(false);
    release();
    expect(await inFlight).toBe(302);
    expect(stub.requests.some((r) => r.path.startsWith('/api/keys'))).toBe(true);
    await closing;
    await b.close();
  });

  it('drops a login that outlasts the drain limit, and still closes', async () => {
    const b = await startTestBroker({ profiles: [profileFor()], config: { TykAPISettings: tykConfig() } });
    // startTestBroker takes no drain option: a broker of our own on the same files, with a short limit.
    const { createBroker } = await import('../../../src/broker.js');
    const short = await createBroker({ config: b.config, profilesPath: b.profilesPath, watch: false, drainMs: 200 });
    const server = await short.listen(0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    const inFlight = login(port);
    inFlight.catch(() => undefined);
    await arrived;
    await short.close();
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
    release();
    await b.close();
  });
});

describe('the CLI on SIGTERM with a login in flight', () => {
  it('stops accepting, finishes the login, and exits 0', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shutdown-cli-'));
    const port = await freePort();
    const conf = path.join(dir, 'tib.conf');
    const profiles = path.join(dir, 'profiles.json');
    await fs.writeFile(conf, JSON.stringify({ Port: port, TykAPISettings: tykConfig() }));
    await fs.writeFile(profiles, JSON.stringify([profileFor()]));
    const child = spawn(process.execPath, [path.join(root, 'dist/main.js'), '-c', conf, '-p', profiles], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TYK_LOGLEVEL: 'info' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Generous bounds: a loaded machine may take a while to start a process (these are waits, not assertions).
      for (let i = 0; i < 800 && !output.includes('listening on') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain('listening on');

      const inFlight = login(port);
      await arrived;
      child.kill('SIGTERM');
      for (let i = 0; i < 600 && !(await refused(port)); i++) await new Promise((r) => setTimeout(r, 25));
      expect(await refused(port)).toBe(true);
      expect(await settled(exit)).toBe(false);

      release();
      expect(await inFlight).toBe(302);
      expect(await exit).toBe(0);
      expect(output).toMatch(/SIGTERM: shutting down/);
      expect(output).toMatch(/stopped/);
      expect(output).not.toContain(PASSWORD);
    } finally {
      child.kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
