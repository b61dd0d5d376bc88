/**
 * The image built from the Dockerfile and run for real (issue 18, points 1, 3 and 4; docs/container.md): on a
 * private dockerd (test/support/container.ts) with the FROM image made locally (scripts/build-base-image.sh),
 * the commands of docs/container.md#run-it as written (plus --network host and TYK_IB_PORT: the engine has no
 * bridge), profiles.json mounted on its own, and two replicas, the portal and the directory image with the
 * compose file's settings (`docker-compose config`) on the suite's Redis. Skipped, saying why, where dockerd
 * cannot run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { startEngine, type Engine } from '../support/container.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { freePort } from '../support/slapd.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

let engine: Engine | undefined;
let skip = '';
let redis: TestRedis | undefined;
let work: string;
let ldapPort: number;
let services: Record<string, ComposeService>;

/** The commands of docs/container.md#run-it, as written there. */
function documentedCommands(): string[] {
  const section = /^## Run it\n([\s\S]*?)\n## /m.exec(read('docs/container.md'))?.[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim() !== '');
}

interface ComposeService {
  image: string;
  command?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

/** docker-compose.yml as docker-compose reads it, with the variables scripts/compose-env.sh writes. */
function composeConfig(): Record<string, ComposeService> {
  const envFile = path.join(work, 'compose.env');
  expect(spawnSync('sh', ['scripts/compose-env.sh', envFile], { cwd: ROOT }).status).toBe(0);
  const r = spawnSync('docker-compose', ['--env-file', envFile, '-f', 'docker-compose.yml', '--project-directory', '.', 'config'], { cwd: ROOT, encoding: 'utf8' });
  expect([r.status, r.stderr]).toEqual([0, '']);
  return (parse(r.stdout) as { services: Record<string, ComposeService> }).services;
}

/**
 * `docker run` for a compose service on the host's network: its image, read-only root, tmpfs, volumes (host
 * paths swapped where the test has its own file), environment (plus the test's), entrypoint and command.
 */
function runArgs(name: string, svc: ComposeService, over: { env?: Record<string, string>; files?: Record<string, string>; hosts?: string[] }): string[] {
  const volumes = (svc.volumes ?? []).map((v) => {
    const [host, target, ...mode] = v.split(':');
    return [over.files?.[target as string] ?? host, target, ...mode].join(':');
  });
  const [entry, ...entryArgs] = svc.entrypoint ?? [];
  return [
    'run', '-d', '--name', name, '--network', 'host',
    ...(svc.read_only ? ['--read-only'] : []),
    ...(svc.tmpfs ?? []).flatMap((t) => ['--tmpfs', t]),
    ...volumes.flatMap((v) => ['-v', v]),
    ...Object.entries({ ...svc.environment, ...over.env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...(over.hosts ?? []).flatMap((h) => ['--add-host', h]),
    ...(entry ? ['--entrypoint', entry] : []),
    svc.image, ...entryArgs, ...(svc.command ?? []),
  ];
}

async function docker(args: string[]): Promise<string> {
  const r = await (engine as Engine).docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function logs(name: string): Promise<string> {
  const r = await (engine as Engine).docker(['logs', name]);
  return r.stdout + r.stderr;
}
const health = (name: string) => docker(['inspect', '-f', '{{.State.Health.Status}}', name]);
/** Waits for `what` of container `name`; a timeout says what the container logged. */
async function waitFor(name: string, what: string, fn: () => Promise<true | undefined>, ms: number): Promise<void> {
  try {
    await until(`${name}: ${what}`, fn, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its log:\n${(await logs(name)).slice(-3000)}`, { cause: err });
  }
}
const waitHealthy = (name: string) => waitFor(name, 'healthy', async () => ((await health(name)) === 'healthy' ? true : undefined), 90_000);
/** `docker stop` (SIGTERM) and the exit code. */
async function stop(name: string): Promise<string> {
  await docker(['stop', '-t', '20', name]);
  return docker(['inspect', '-f', '{{.State.ExitCode}}', name]);
}
const admin = (url: string, secret: string, method: string, body?: unknown) =>
  fetch(url, { method, headers: { Authorization: secret, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const ldapLogin = (url: string, username: string, password: string) =>
  fetch(url, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username, password }).toString() });

/** The compose stack's LDAP profile (deploy/profiles.json), pointed at the test's directory container. */
function ldapProfile(secrets: Record<string, string>): Record<string, unknown> {
  const [profile] = JSON.parse(read('deploy/profiles.json').replace(/\$\{([A-Z0-9_]+)\}/g, (_, n: string) => secrets[n] ?? '')) as Array<Record<string, unknown> & { ProviderConfig: Record<string, unknown> }>;
  const p = profile as Record<string, unknown> & { ProviderConfig: Record<string, unknown> };
  expect(p.ID).toBe('ldap-portal');
  return { ...p, ProviderConfig: { ...p.ProviderConfig, LDAPPort: String(ldapPort) } };
}

beforeAll(async () => {
  const started = await startEngine();
  if (typeof started === 'string') {
    skip = started;
    process.stderr.write(`container.test.ts: skipped: ${started}\n`);
    return;
  }
  engine = started;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'container-test-'));
  const base = await engine.run('bash', ['scripts/build-base-image.sh'], { cwd: ROOT });
  if (base.code !== 0) throw new Error(`scripts/build-base-image.sh: ${base.stderr}`);
  // The directory image's base (deploy/ldap/Dockerfile's FROM) is Debian bookworm too: the same root filesystem.
  const ldapFrom = /^FROM (\S+)/m.exec(read('deploy/ldap/Dockerfile'))?.[1] as string;
  await docker(['tag', base.stdout.trim(), ldapFrom]);
  services = composeConfig();
  // The suite's Redis stands in for the stack's, with its password (the service's --requirepass).
  const redisCommand = services.redis?.command ?? [];
  redis = await startRedis({ password: redisCommand[redisCommand.indexOf('--requirepass') + 1] });
  ldapPort = await freePort();
}, 600_000);

afterAll(async () => {
  await engine?.close();
  await redis?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('the image, run as docs/container.md says', () => {
  const [build, prepare, exportSecrets, run, stopCmd] = documentedCommands();
  const port = { value: 0 };
  let secret = '';
  const url = () => `http://127.0.0.1:${port.value}`;

  it('docs/container.md and the README show the same commands: build, a directory owned by uid 1000, --read-only, loopback only', () => {
    expect(build).toBe('docker build -t identity-broker .');
    expect(prepare).toMatch(/chown -R 1000:1000 tib$/);
    expect(exportSecrets).toMatch(/^export TYK_IB_SECRET=/);
    expect(run).toContain('--read-only');
    expect(run).toContain('-p 127.0.0.1:3010:3010');
    expect(run).toContain('-v "$PWD/tib:/opt/tyk-identity-broker"');
    expect(stopCmd).toBe('docker stop identity-broker');
    const readme = read('README.md');
    for (const line of [build, prepare, exportSecrets, run, stopCmd]) expect(readme).toContain(line as string);
  });

  it('builds from the Dockerfile unchanged (docker build, on the locally made FROM image)', async () => {
    if (skip) return;
    const r = await (engine as Engine).run('sh', ['-c', (build as string).replace(/^docker build/, 'docker build --network host')], { cwd: ROOT });
    expect([r.code, r.code === 0 ? '' : r.stdout.slice(-3000) + r.stderr]).toEqual([0, '']);
  }, 600_000);

  it('runs as node (uid 1000) with a read-only root filesystem, reaches healthy, and saves an admin-API change into the mounted directory', async () => {
    if (skip) return;
    port.value = await freePort();
    const dir = path.join(work, 'run');
    fs.mkdirSync(dir);
    // The LDAP profile saved below logs in to the (stand-in) portal: tib.conf names it.
    fs.writeFileSync(path.join(dir, 'tib.conf'), `${JSON.stringify({ TykAPISettings: { DashboardConfig: { Endpoint: 'http://127.0.0.1', Port: '3012' } } })}\n`);
    fs.writeFileSync(path.join(dir, 'profiles.json'), '[]\n');
    const script = [
      'set -e',
      (prepare as string).replace(/\bsudo /, ''),
      exportSecrets,
      (run as string).replace(/^docker run/, `docker run --network host -e TYK_IB_PORT=${port.value}`),
      'echo "secret=$TYK_IB_SECRET"',
    ].join('\n');
    const r = await (engine as Engine).run('sh', ['-c', script], { cwd: dir });
    expect([r.code, r.stderr.replace(/WARNING: Published ports are discarded when using host network mode\n/, '')]).toEqual([0, '']);
    secret = /^secret=(\w+)$/m.exec(r.stdout)?.[1] ?? '';
    expect(secret).toHaveLength(64);

    expect(await docker(['exec', 'identity-broker', 'id', '-u'])).toBe('1000');
    expect(await docker(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', 'identity-broker'])).toBe('true');
    const write = await (engine as Engine).docker(['exec', 'identity-broker', 'touch', '/opt/identity-broker/x']);
    expect(write.stderr).toContain('Read-only file system');
    await waitHealthy('identity-broker');

    const profile = { ...ldapProfile({ PORTAL_API_SECRET: 'a'.repeat(32), LDAP_ADMIN_PASSWORD: 'b'.repeat(32) }), ID: 'saved' };
    expect((await admin(`${url()}/api/profiles/saved`, secret, 'POST', profile)).status).toBe(201);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'tib', 'profiles.json'), 'utf8')) as Array<{ ID: string }>;
    expect(saved.map((p) => p.ID)).toEqual(['saved']);
    // The new file keeps the old one's mode and owner; the backup is the broker's own, 0600.
    expect(fs.statSync(path.join(dir, 'tib', 'profiles.json')).uid).toBe(1000);
    const backup = fs.readdirSync(path.join(dir, 'tib')).find((f) => /^profiles_backup_\d+\.json$/.test(f)) as string;
    const st = fs.statSync(path.join(dir, 'tib', backup));
    expect([st.uid, st.mode & 0o777]).toEqual([1000, 0o600]);
  }, 180_000);

  it('stops on SIGTERM (docker stop) with exit code 0', async () => {
    if (skip) return;
    const r = await (engine as Engine).run('sh', ['-c', stopCmd as string]);
    expect(r.code).toBe(0);
    expect(await docker(['inspect', '-f', '{{.State.ExitCode}}', 'identity-broker'])).toBe('0');
    expect(await logs('identity-broker')).toContain('SIGTERM: shutting down');
  }, 60_000);

  it('a profiles directory the image\'s user cannot write (owned by root): with the admin API on, the start refuses and says why', async () => {
    if (skip) return;
    const rootOwned = path.join(work, 'root-owned');
    fs.mkdirSync(rootOwned, { mode: 0o755 });
    fs.copyFileSync(path.join(work, 'run', 'tib', 'tib.conf'), path.join(rootOwned, 'tib.conf'));
    fs.writeFileSync(path.join(rootOwned, 'profiles.json'), '[]\n');
    await docker(['run', '-d', '--name', 'root-owned', '--network', 'host', '--read-only', '-e', `TYK_IB_PORT=${await freePort()}`, '-e', `TYK_IB_SECRET=${secret}`, '-v', `${rootOwned}:/opt/tyk-identity-broker`, 'identity-broker']);
    await waitFor('root-owned', 'its exit', async () => ((await docker(['inspect', '-f', '{{.State.Status}}', 'root-owned'])) === 'exited' ? true : undefined), 30_000);
    expect(await docker(['inspect', '-f', '{{.State.ExitCode}}', 'root-owned'])).not.toBe('0');
    expect(await logs('root-owned')).toContain("/opt/tyk-identity-broker, the directory of profiles.json, is not writable by the broker's user");
  }, 60_000);

  it('profiles.json mounted on its own: a warning with the fix at start, and a change answers EBUSY with it', async () => {
    if (skip) return;
    const p = await freePort();
    const tib = path.join(work, 'run', 'tib');
    await docker(['run', '-d', '--name', 'single-file', '--network', 'host', '-e', `TYK_IB_PORT=${p}`, '-e', `TYK_IB_SECRET=${secret}`, '-v', `${tib}/tib.conf:/opt/tyk-identity-broker/tib.conf:ro`, '-v', `${tib}/profiles.json:/opt/tyk-identity-broker/profiles.json`, 'identity-broker']);
    await waitFor('single-file', '/health', async () => ((await fetch(`http://127.0.0.1:${p}/health`)).ok ? true : undefined), 30_000);
    expect(await logs('single-file')).toContain('/opt/tyk-identity-broker/profiles.json is a single-file bind mount');
    const res = await admin(`http://127.0.0.1:${p}/api/profiles/saved`, secret, 'DELETE');
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { Error: string }).Error;
    expect(error).toMatch(/^flush failed: EBUSY/);
    expect(error).toContain('mount the directory that holds it instead');
    expect(await stop('single-file')).toBe('0');
  }, 60_000);
});

describe('the compose stack\'s settings: two replicas on Redis, the directory image, the portal', () => {
  const ports: Record<string, number> = {};
  let env: Record<string, string>;

  it('builds and runs the directory image (deploy/ldap/Dockerfile) with the compose settings; it answers its health check', async () => {
    if (skip) return;
    env = services['broker-1']?.environment ?? {};
    const r = await (engine as Engine).docker(['build', '--network', 'host', '-t', 'identity-broker-demo-ldap:local', 'deploy/ldap'], { cwd: ROOT });
    expect([r.code, r.code === 0 ? '' : r.stdout.slice(-3000) + r.stderr]).toEqual([0, '']);
    const ldap = services.openldap as ComposeService;
    expect(ldap.image).toBe('identity-broker-demo-ldap:local');
    await docker(runArgs('openldap', ldap, { env: { LDAP_PORT: String(ldapPort) } }));
    // The compose healthcheck (CMD-SHELL), on the test's port.
    const [kind, check] = ldap.healthcheck?.test ?? [];
    expect(kind).toBe('CMD-SHELL');
    const probe = (check as string).replace('127.0.0.1:389', `127.0.0.1:${ldapPort}`);
    await waitFor('openldap', 'its health check', async () => ((await (engine as Engine).docker(['exec', 'openldap', 'sh', '-c', probe])).code === 0 ? true : undefined), 60_000);
  }, 300_000);

  it('two replicas and the portal start with the compose settings (read-only, tmpfs, profiles from .env) and reach healthy', async () => {
    if (skip) return;
    for (const name of ['broker-1', 'broker-2', 'portal']) ports[name] = await freePort();
    // docker-compose builds broker-1's image from the same Dockerfile: the one built above, under the stack's tag.
    await docker(['tag', 'identity-broker', services['broker-1']?.image as string]);
    const portal = services.portal as ComposeService;
    await docker(runArgs('portal', portal, { env: { DEMO_PORTAL_PORT: String(ports.portal), DEMO_PORTAL_HOST: '127.0.0.1' } }));
    const seed = path.join(work, 'seed-profiles.json');
    // The stack's ldap-portal profile, its ${NAME} secrets left for compose-broker.mjs, the directory on the test's port.
    const [ldapSeed] = JSON.parse(read('deploy/profiles.json')) as Array<{ ProviderConfig: Record<string, unknown> }>;
    fs.writeFileSync(seed, JSON.stringify([{ ...ldapSeed, ProviderConfig: { ...ldapSeed?.ProviderConfig, LDAPPort: String(ldapPort) } }], null, 2));
    for (const name of ['broker-1', 'broker-2']) {
      const svc = services[name] as ComposeService;
      expect(svc.read_only).toBe(true);
      await docker(
        runArgs(name, svc, {
          env: {
            TYK_IB_PORT: String(ports[name]),
            TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_ADDRS: `127.0.0.1:${redis?.port}`,
            TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ENDPOINT: 'http://127.0.0.1',
            TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_PORT: String(ports.portal),
          },
          files: { '/etc/identity-broker/profiles.json': seed },
          hosts: ['openldap:127.0.0.1'],
        }),
      );
    }
    await Promise.all(['broker-1', 'broker-2'].map(waitHealthy));
    for (const name of ['broker-1', 'broker-2']) expect(await docker(['exec', name, 'id', '-u'])).toBe('1000');
  }, 180_000);

  it('an LDAP login through one replica ends at the portal with a nonce', async () => {
    if (skip) return;
    const res = await ldapLogin(`http://127.0.0.1:${ports['broker-1']}/auth/ldap-portal/ADProvider`, 'alice', 'alice-demo-password');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^http:\/\/localhost:3012\/sso\?nonce=\S+/);
  }, 60_000);

  it('a profile created through one replica\'s admin API is served by the other', async () => {
    if (skip) return;
    const secret = env.TYK_IB_SECRET as string;
    const profile = { ...ldapProfile(env), ID: 'shared' };
    expect((await admin(`http://127.0.0.1:${ports['broker-1']}/api/profiles/shared`, secret, 'POST', profile)).status).toBe(201);
    await until('the change on broker-2', async () => ((await admin(`http://127.0.0.1:${ports['broker-2']}/api/profiles/shared`, secret, 'GET')).status === 200 ? true : undefined), 15_000);
    const res = await ldapLogin(`http://127.0.0.1:${ports['broker-2']}/auth/shared/ADProvider`, 'bob', 'bob-demo-password');
    expect(res.status).toBe(302);
  }, 60_000);

  it('every replica stops on SIGTERM with exit code 0', async () => {
    if (skip) return;
    for (const name of ['broker-1', 'broker-2', 'portal']) expect([name, await stop(name)]).toEqual([name, '0']);
  }, 90_000);
});
