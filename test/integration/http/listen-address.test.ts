/**
 * tib.conf ListenAddress (issue 18, point 2): the main listener binds where it says (127.0.0.1: reachable on
 * loopback, not on this machine's other addresses), and a Secret from the repository's samples
 * (src/config/sample-secrets.ts) keeps the admin API and /metrics closed beyond loopback (403 saying why and
 * how to make one, one ERROR at start) while loopback serves them with a WARN.
 */
import fs from 'node:fs/promises';
import { request as httpRequest, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createBroker, type Broker } from '../../../src/broker.js';
import { defaultConfig } from '../../../src/config/load.js';
import { SAMPLE_SECRETS } from '../../../src/config/sample-secrets.js';
import type { Config } from '../../../src/config/types.js';
import { captureLogs } from '../../support/logs.js';

const SAMPLE = SAMPLE_SECRETS[0] as string;
const OWN = 'an-operators-own-secret-0123456789-abcdef';

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

let running: { broker: Broker; dir: string; stop(): void } | undefined;
afterEach(async () => {
  if (!running) return;
  await running.broker.close();
  running.stop();
  await fs.rm(running.dir, { recursive: true, force: true });
  running = undefined;
});

/** A broker with no profiles, listening as main.ts makes it: no port or host given, so from the config. */
async function start(settings: Partial<Config>): Promise<{ server: Server; port: number; logs: string[] }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'listen-address-'));
  const profilesPath = path.join(dir, 'profiles.json');
  await fs.writeFile(profilesPath, '[]');
  const capture = captureLogs();
  const broker = await createBroker({ config: { ...defaultConfig(), ProfileDir: dir, Port: 0, ...settings }, profilesPath, watch: false });
  running = { broker, dir, stop: capture.stop };
  const server = await broker.listen();
  return { server, port: (server.address() as AddressInfo).port, logs: capture.lines };
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The status of a request whose target is sent as written (fetch would normalise it). */
function statusOf(port: number, target: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: target, headers: { Authorization: secret }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const get = (port: number, p: string, secret: string) => fetch(`http://127.0.0.1:${port}${p}`, { headers: { Authorization: secret } });

describe('ListenAddress', () => {
  it('127.0.0.1: the listener answers on loopback', async () => {
    const { server, port, logs } = await start({ ListenAddress: '127.0.0.1' });
    expect((server.address() as AddressInfo).address).toBe('127.0.0.1');
    expect(await connects('127.0.0.1', port)).toBe(true);
    expect(logs.some((l) => l.includes(`MAIN: listening on http://127.0.0.1:${port}`))).toBe(true);
  });

  // Skipped, with the reason in its name, on a machine with no other address to try.
  (external ? it : it.skip)(`127.0.0.1: not reachable on this machine's other address (${external ?? 'none here: skipped'})`, async () => {
    const { port } = await start({ ListenAddress: '127.0.0.1' });
    expect(await connects(external as string, port)).toBe(false);
  });

  it('empty (the default): all interfaces, as TIB', async () => {
    const { port, logs } = await start({ ListenAddress: '' });
    expect(await connects('127.0.0.1', port)).toBe(true);
    if (external !== undefined) expect(await connects(external, port)).toBe(true);
    expect(logs.some((l) => l.includes('MAIN: listening on') && l.includes('(all interfaces)'))).toBe(true);
  });

  it('a host name is resolved: localhost binds loopback', async () => {
    const { server } = await start({ ListenAddress: 'localhost' });
    expect(['127.0.0.1', '::1']).toContain((server.address() as AddressInfo).address);
  });
});

describe('a sample admin Secret', () => {
  it('beyond loopback (0.0.0.0): the admin API and /metrics answer 403 saying why and how to make one; one ERROR at start', async () => {
    const { port, logs } = await start({ ListenAddress: '0.0.0.0', Secret: SAMPLE });
    for (const p of ['/api/profiles', '/API/profiles', '//api/profiles/x', '/%61pi/profiles', '/metrics']) {
      const res = await get(port, p, SAMPLE);
      const body = (await res.json()) as { Status: string; Error: string };
      expect([p, res.status]).toEqual([p, 403]);
      expect(body.Status).toBe('error');
      expect(body.Error).toContain('sample published in the identity broker');
      expect(body.Error).toContain('openssl rand -base64 32');
    }
    // An absolute-form request target, which Express routes on its path.
    for (const target of [`http://127.0.0.1:${port}/api/profiles`, 'http://other.example/metrics']) {
      expect([target, await statusOf(port, target, SAMPLE)]).toEqual([target, 403]);
    }
    // Everything else is served as usual.
    expect((await get(port, '/health', '')).status).toBe(200);
    expect((await get(port, '/health?x=1', '')).status).toBe(200);
    const errors = logs.filter((l) => l.includes('[ERROR]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('is a sample published in the identity broker');
    expect(errors[0]).toContain('the admin API and /metrics on the main port answer 403');
    expect(errors[0]).toContain('openssl rand -base64 32');
  });

  it('beyond loopback with an own Secret: served (TIB accepts any Secret)', async () => {
    const { port, logs } = await start({ ListenAddress: '0.0.0.0', Secret: OWN });
    expect((await get(port, '/api/profiles', OWN)).status).toBe(200);
    expect((await get(port, '/metrics', OWN)).status).toBe(200);
    expect(logs.filter((l) => l.includes('sample'))).toEqual([]);
  });

  it('on loopback (127.0.0.1): served, with a WARN', async () => {
    const { port, logs } = await start({ ListenAddress: '127.0.0.1', Secret: SAMPLE });
    expect((await get(port, '/api/profiles', SAMPLE)).status).toBe(200);
    expect((await get(port, '/metrics', SAMPLE)).status).toBe(200);
    expect(logs.filter((l) => l.includes('[ERROR]'))).toEqual([]);
    const warn = logs.filter((l) => l.includes('[WARN]') && l.includes('is a sample published in the identity broker'));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toContain('served only because the broker listens on loopback');
  });
});
