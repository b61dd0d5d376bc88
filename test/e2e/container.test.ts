/**
 * The container image and the compose stack, checked without a container engine (test/slow/container.test.ts
 * runs them): Debian's docker-compose validates docker-compose.yml with the .env scripts/compose-env.sh makes;
 * ports on loopback, images pinned, healthchecks waited for, no secret written in the files; the Dockerfile
 * builds with the README's `npm run build` and copies only files that exist and are in the build context; the
 * stack's tib.conf and profiles.json pass the broker's own checks (with the variables compose gives it), and its
 * parts agree with each other (secrets, hosts, the IdP client, the directory's groups); the image's health
 * check answers for a running broker.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { preflight } from '../../src/preflight.js';
import { loadProfilesFile } from '../../src/profiles/file-store.js';
import type { Profile } from '../../src/profiles/profile.js';
import { startTestBroker } from '../support/broker.js';
import { freePort } from '../support/slapd.js';
import { TIB_RULES } from '../support/rules.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
function dockerStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of lines) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const ins = { op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() };
    if (ins.op === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push(ins);
  }
  return stages;
}

/** .dockerignore as Docker reads it: Go filepath.Match patterns plus `**`, a match excludes everything below, `!` re-includes. */
function dockerIgnored(patterns: string[], file: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/^\/+|\/+$/g, '')
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part === '**/' || part === '**' ? '(?:.*/)?' + (part === '**' ? '.*' : '') : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}(?:/.*)?$`,
    );
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    if (toRegex(negate ? raw.slice(1) : raw).test(file)) ignored = !negate;
  }
  return ignored;
}

describe('the Dockerfile', () => {
  const stages = dockerStages(read('Dockerfile'));
  const [build, run] = stages as [Instruction[], Instruction[]];
  const runs = (stage: Instruction[]) => stage.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('is multi-stage: a build stage with devDependencies running the README\'s npm run build, a node:24 slim run stage (the target runtime: scripts/test.sh runs the whole suite on it)', () => {
    expect(stages).toHaveLength(2);
    expect(build[0]?.args).toMatch(/^node:24[-.\w]*slim\S* AS build$/);
    expect(run[0]?.args).toMatch(/^node:24[-.\w]*slim/);
    // The README's build command, run as is in the build stage, after a full `npm ci`.
    const readmeBuild = /^npm run build$/m.exec(read('README.md'));
    expect(readmeBuild).not.toBeNull();
    const buildRuns = runs(build);
    const ci = buildRuns.findIndex((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'));
    const built = buildRuns.findIndex((r) => r.split('&&').map((c) => c.trim()).includes('npm run build'));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(built).toBeGreaterThan(ci);
    // Every npm script the image runs exists.
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const r of [...runs(build), ...runs(run)]) for (const [, name] of r.matchAll(/npm run ([\w:-]+)/g)) expect(Object.keys(scripts)).toContain(name);
  });

  it('runs with production dependencies only, as a non-root user, TIB\'s directory, flags and port, and a health check on /health', () => {
    expect(runs(run).some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    // npm's cache never reaches a layer, without `npm cache clean --force` (issue 18, point 7).
    expect(read('Dockerfile')).not.toContain('npm cache clean');
    const user = run.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(run.filter((i) => i.op === 'WORKDIR').pop()?.args).toBe('/opt/tyk-identity-broker');
    expect(run.find((i) => i.op === 'CMD')?.args).toBe('["--conf=/opt/tyk-identity-broker/tib.conf"]');
    expect(run.find((i) => i.op === 'ENTRYPOINT')?.args).toContain('dist/main.js');
    expect(run.find((i) => i.op === 'EXPOSE')?.args).toBe('3010');
    const health = run.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/CMD \["node", "\/opt\/identity-broker\/healthcheck\.mjs"\]/);
    expect(read('deploy/healthcheck.mjs')).toContain("path: '/health'");
    // The directory the broker writes profile saves and backups to belongs to that user.
    expect(runs(run).some((r) => r.includes(`chown ${user}`) && r.includes('/opt/tyk-identity-broker'))).toBe(true);
  });

  it('copies only files that exist in the repository and are not excluded by .dockerignore', () => {
    const ignore = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sources = stages
      .flat()
      .filter((i) => (i.op === 'COPY' || i.op === 'ADD') && !/--from=/.test(i.args))
      .flatMap((i) => {
        const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        return words.slice(0, -1);
      });
    expect(sources.length).toBeGreaterThan(4);
    for (const src of sources) {
      expect([src, fs.existsSync(path.join(ROOT, src))]).toEqual([src, true]);
      expect([src, dockerIgnored(ignore, src.replace(/^\.\//, ''))]).toEqual([src, false]);
    }
    // What must stay out of the context does.
    for (const out of ['node_modules/express/package.json', '.git/config', 'dist/main.js', 'test/unit/container.test.ts', '.env']) expect([out, dockerIgnored(ignore, out)]).toEqual([out, true]);
  });
});

describe('docker-compose.yml', () => {
  interface Service {
    image?: string;
    command?: string[];
    build?: { context: string };
    ports?: string[];
    scale?: number;
    volumes?: string[];
    tmpfs?: string[];
    read_only?: boolean;
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { test: string[] };
    networks?: Record<string, { aliases?: string[] } | null>;
  }
  let config: { services: Record<string, Service> };
  let envDir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    // The README's first step: .env with random secrets; compose refuses to start without it.
    envDir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-env-'));
    const envFile = path.join(envDir, '.env');
    expect(spawnSync('sh', ['scripts/compose-env.sh', envFile], { cwd: ROOT }).status).toBe(0);
    env = Object.fromEntries([...fs.readFileSync(envFile, 'utf8').matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    // Debian's docker-compose (scripts/ensure-test-deps.sh installs it): a missing command fails, never skips.
    const compose = (args: string[]) => spawnSync('docker-compose', [...args, '-f', 'docker-compose.yml', '--project-directory', '.', 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'identity-broker' } });
    const r = compose(['--env-file', envFile]);
    if (r.error) throw new Error(`docker-compose could not run (${r.error.message}): install it with scripts/ensure-test-deps.sh`);
    expect([r.status, r.stderr]).toEqual([0, '']);
    config = parse(r.stdout) as typeof config;
    // Without the .env, compose refuses and says what to run.
    fs.writeFileSync(path.join(envDir, 'empty.env'), '');
    const without = compose(['--env-file', path.join(envDir, 'empty.env')]);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain('run sh scripts/compose-env.sh first');
  });
  afterAll(() => fs.rmSync(envDir, { recursive: true, force: true }));

  it('scripts/compose-env.sh writes random secrets, 0600, and never overwrites them', () => {
    const st = fs.statSync(path.join(envDir, '.env'));
    expect(st.mode & 0o777).toBe(0o600);
    const values = Object.values(env);
    expect(values.length).toBeGreaterThanOrEqual(6);
    for (const v of values) expect(v).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(values).size).toBe(values.length);
    const before = fs.readFileSync(path.join(envDir, '.env'), 'utf8');
    expect(spawnSync('sh', ['scripts/compose-env.sh', path.join(envDir, '.env')], { cwd: ROOT }).status).toBe(0);
    expect(fs.readFileSync(path.join(envDir, '.env'), 'utf8')).toBe(before);
  });

  it('passes `docker-compose config`: two named broker replicas, Redis, the directory, Dex and the demo portal; one image build', () => {
    const s = config.services;
    expect(Object.keys(s).sort()).toEqual(['broker-1', 'broker-2', 'dex', 'openldap', 'portal', 'redis']);
    expect(s['broker-1']?.scale ?? 1).toBe(1);
    expect(s['broker-1']?.ports).toEqual(['127.0.0.1:3010:3010/tcp']);
    expect(s['broker-2']?.ports).toEqual(['127.0.0.1:3011:3010/tcp']);
    expect(s.dex?.image).toMatch(/dexidp\/dex:v2\.(4[5-9]|[5-9]\d)/);
    expect(s.redis?.image).toMatch(/^redis:/);
    // One service builds the broker's image; the others run it, so no two builds race for one tag.
    const builders = Object.entries(s).filter(([, svc]) => svc.build?.context === ROOT);
    expect(builders.map(([name]) => name)).toEqual(['broker-1']);
    for (const name of ['broker-2', 'portal']) expect(s[name]?.image).toBe(s['broker-1']?.image);
    // The directory: Debian's slapd built from deploy/ldap, not an unmaintained image.
    expect(s.openldap?.build?.context).toBe(`${ROOT}/deploy/ldap`);
    expect(read('deploy/ldap/Dockerfile')).toMatch(/^FROM debian:\d+\.\d+-slim$/m);
  });

  it('publishes every port on 127.0.0.1 only, pins every image to an exact version, and waits for healthy services', () => {
    const s = config.services;
    for (const [name, svc] of Object.entries(s)) for (const p of svc.ports ?? []) expect([name, p]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
    // An image is built here (a `:local` tag some service builds) or pulled at an exact version.
    const built = Object.values(s).filter((svc) => svc.build).map((svc) => svc.image);
    for (const svc of Object.values(s).filter((v) => v.build)) expect(svc.image).toMatch(/:local$/);
    for (const [name, svc] of Object.entries(s).filter(([, v]) => !built.includes(v.image))) expect([name, svc.image]).toEqual([name, expect.stringMatching(/:v?\d+\.\d+\.\d+(-[a-z]+)?$/)]);
    for (const from of [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1])) expect(from).toMatch(/^node:\d+\.\d+\.\d+-\w+-slim$/);
    for (const name of ['redis', 'openldap', 'dex']) {
      expect(s[name]?.healthcheck?.test.length).toBeGreaterThan(1);
      expect(s['broker-1']?.depends_on?.[name]).toEqual({ condition: 'service_healthy' });
    }
    expect(s['broker-2']?.depends_on?.['broker-1']).toEqual({ condition: 'service_healthy' });
  });

  it('writes no secret: compose and deploy/ name each one as a variable from the .env', () => {
    const files = ['docker-compose.yml', 'deploy/profiles.json', 'deploy/dex.yaml', 'deploy/tib.conf', ...fs.readdirSync(path.join(ROOT, 'deploy/ldap')).map((f) => `deploy/ldap/${f}`)];
    for (const f of files) {
      for (const v of Object.values(env)) expect([f, read(f).includes(v)]).toEqual([f, false]);
      expect([f, /change-me|demo-[a-z-]*secret|demo-ldap-admin-password/.test(read(f))]).toEqual([f, false]);
    }
    // Each secret in the running stack is a value from the .env.
    const s = config.services;
    expect(s['broker-1']?.environment?.TYK_IB_SECRET).toBe(env.TIB_ADMIN_SECRET);
    expect(s['broker-1']?.environment?.TYK_IB_SESSION_SECRET).toBe(env.TIB_SESSION_SECRET);
    expect(s['broker-2']?.environment).toEqual(s['broker-1']?.environment);
    // Redis is not published, and has a password all the same: the brokers' and its health check's.
    expect(s.redis?.ports).toBeUndefined();
    expect(s.redis?.command).toEqual(['redis-server', '--requirepass', env.REDIS_PASSWORD]);
    expect(s.redis?.environment?.REDISCLI_AUTH).toBe(env.REDIS_PASSWORD);
    expect(s['broker-1']?.environment?.TYK_IB_BACKEND_IDENTITYBACKENDSETTINGS_PASSWORD).toBe(env.REDIS_PASSWORD);
  });

  it('mounts tib.conf where TIB\'s image has it and never profiles.json on its own there (a save must replace it); read-only root, a tmpfs for uid 1000; every mounted file exists', () => {
    const mounts = Object.values(config.services).flatMap((svc) => svc.volumes ?? []);
    for (const m of mounts) {
      const [host] = m.split(':');
      expect([host, fs.existsSync(host as string)]).toEqual([host, true]);
    }
    for (const name of ['broker-1', 'broker-2']) {
      const b = config.services[name] as Service;
      expect(b.volumes).toEqual([`${ROOT}/deploy/tib.conf:/opt/tyk-identity-broker/tib.conf:ro`, `${ROOT}/deploy/profiles.json:/etc/identity-broker/profiles.json:ro`, `${ROOT}/deploy/compose-broker.mjs:/etc/identity-broker/compose-broker.mjs:ro`]);
      expect(b.read_only).toBe(true);
      expect(b.tmpfs).toEqual(['/opt/tyk-identity-broker:uid=1000,gid=1000,mode=0700']);
    }
  });

  it('the stack\'s tib.conf and profiles.json pass the broker\'s own checks (--strict) with the variables compose sets', async () => {
    const all = config.services['broker-1']?.environment ?? {};
    const env = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('TYK_IB_')));
    // The image creates /opt/tyk-identity-broker for its user (checked above); here a writable stand-in, with
    // profiles.json as deploy/compose-broker.mjs writes it (the ${NAME} secrets filled in).
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'container-test-'));
    fs.writeFileSync(path.join(profileDir, 'profiles.json'), read('deploy/profiles.json').replace(/\$\{([A-Z0-9_]+)\}/g, (_, n: string) => all[n] ?? ''));
    try {
      const r = await preflight({ confPath: path.join(ROOT, 'deploy/tib.conf'), profilesPath: path.join(profileDir, 'profiles.json'), env: { ...env, TYK_IB_PROFILEDIR: profileDir }, strict: true });
      expect(r.errors).toEqual([]);
      expect(r.profileCount).toBe(2);
      expect(r.loaded?.config.Storage.storage_type).toBe('redis');
      expect(r.loaded?.config.BackEnd.Name).toBe('redis');
    } finally {
      fs.rmSync(profileDir, { recursive: true, force: true });
    }
  });

  it('its parts agree: hosts are services, the portal and IdP secrets match the profiles, the directory holds the mapped groups', async () => {
    const s = config.services;
    const brokerEnv = s['broker-1']?.environment ?? {};
    /** The value a profile field takes once deploy/compose-broker.mjs fills in `${NAME}`. */
    const filled = (v: unknown) => String(v).replace(/\$\{([A-Z0-9_]+)\}/g, (_, n: string) => brokerEnv[n] ?? '');
    const conf = JSON.parse(read('deploy/tib.conf')) as { BackEnd: { IdentityBackendSettings: { Addrs: string[] } }; TykAPISettings: { DashboardConfig: { Endpoint: string; Port: string } } };
    const { profiles, problems } = await loadProfilesFile(path.join(ROOT, 'deploy/profiles.json'), undefined, TIB_RULES);
    expect(problems).toEqual([]);
    const byId = (id: string) => profiles.find((p) => p.ID === id) as Profile;
    const services = Object.keys(s);
    const aliases = Object.values(s).flatMap((svc) => Object.values(svc.networks ?? {}).flatMap((n) => n?.aliases ?? []));
    expect(services).toContain(conf.BackEnd.IdentityBackendSettings.Addrs[0]?.split(':')[0]);

    // The demo portal: the Dashboard endpoint, the profiles' DashboardCredential, the admin secret.
    const portalEnv = s.portal?.environment ?? {};
    expect(new URL(conf.TykAPISettings.DashboardConfig.Endpoint).hostname).toBe('portal');
    expect(conf.TykAPISettings.DashboardConfig.Port).toBe(portalEnv.DEMO_PORTAL_PORT);
    for (const p of profiles) expect(filled(p.IdentityHandlerConfig?.DashboardCredential)).toBe(portalEnv.DEMO_PORTAL_API_SECRET);
    expect(portalEnv.DEMO_PORTAL_ADMIN_SECRET).toBe(brokerEnv.TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ADMINSECRET);
    expect(s.portal?.ports).toEqual([`127.0.0.1:${portalEnv.DEMO_PORTAL_PORT}:${portalEnv.DEMO_PORTAL_PORT}/tcp`]);

    // Dex: the issuer the profile discovers, the client it authenticates as, the callback it registers.
    const dex = parse(read('deploy/dex.yaml')) as { issuer: string; staticClients: Array<{ id: string; secretEnv: string; redirectURIs: string[] }>; staticPasswords: Array<{ groups?: string[] }> };
    const oidc = byId('oidc-dashboard');
    const entry = (oidc.ProviderConfig?.UseProviders as Array<Record<string, string>>)[0] as Record<string, string>;
    expect(entry.DiscoverURL).toBe(`${dex.issuer}/.well-known/openid-configuration`);
    // One issuer name for the browser (*.localhost is loopback, port 5556 published there) and the brokers (Dex's alias).
    const issuerHost = new URL(dex.issuer).hostname;
    expect(issuerHost).toMatch(/\.localhost$/);
    expect(s.dex?.networks?.default?.aliases).toContain(issuerHost);
    expect(s.dex?.ports).toEqual([`127.0.0.1:${new URL(dex.issuer).port}:5556/tcp`]);
    expect(dex.staticClients).toEqual([{ id: entry.Key, name: expect.any(String), secretEnv: 'DEX_CLIENT_SECRET', redirectURIs: [`${oidc.ProviderConfig?.CallbackBaseURL}/auth/${oidc.ID}/openid-connect/callback`] }]);
    expect(filled(entry.Secret)).toBe(s.dex?.environment?.DEX_CLIENT_SECRET);
    // Some Dex user in each mapped group, and one in none (the default team).
    const dexGroups = dex.staticPasswords.map((u) => u.groups ?? []);
    for (const g of Object.keys(oidc.UserGroupMapping ?? {})) expect(dexGroups.some((gs) => gs.includes(g))).toBe(true);
    expect(dexGroups.some((gs) => gs.length === 0)).toBe(true);

    // OpenLDAP: the server, the admin password, and entries for the users and the mapped groups.
    const ldap = byId('ldap-portal');
    const pc = ldap.ProviderConfig as Record<string, string>;
    const baseDn = String(pc.LDAPBaseDN).toLowerCase();
    expect([...services, ...aliases]).toContain(pc.LDAPServer);
    expect(s.openldap?.environment?.LDAP_ADMIN_PASSWORD).toBe(filled(pc.LDAPAdminPassword));
    const ldif = fs.readdirSync(path.join(ROOT, 'deploy/ldap')).filter((f) => f.endsWith('.ldif')).map((f) => read(`deploy/ldap/${f}`)).join('\n');
    const dns = [...ldif.matchAll(/^dn: (.+)$/gm)].map((m) => (m[1] as string).toLowerCase());
    const suffix = /^suffix "(.+)"$/m.exec(read('deploy/ldap/slapd.conf'))?.[1] as string;
    expect(baseDn.endsWith(suffix)).toBe(true);
    for (const group of Object.keys(ldap.UserGroupMapping ?? {})) expect(dns).toContain(group.toLowerCase());
    for (const member of [...ldif.matchAll(/^uniqueMember: (.+)$/gm)]) expect(dns).toContain((member[1] as string).toLowerCase());
    expect(dns.filter((dn) => dn.startsWith('uid=') && dn.endsWith(baseDn)).length).toBeGreaterThanOrEqual(3);
  });
});

describe('the image\'s health check (deploy/healthcheck.mjs)', () => {
  const exec = promisify(execFile);
  const script = path.join(ROOT, 'deploy/healthcheck.mjs');
  const check = (env: Record<string, string>) =>
    exec(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', TIB_CONF_PATH: '/nonexistent', ...env } }).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
  let closeBroker: (() => Promise<void>) | undefined;
  afterAll(async () => closeBroker?.());

  it('exits 0 for a running broker on TYK_IB_PORT (or tib.conf\'s Port), 1 when nothing answers', async () => {
    const b = await startTestBroker({ profiles: [] });
    closeBroker = () => b.close();
    const port = new URL(b.url).port;
    expect(await check({ TYK_IB_PORT: port })).toBe(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcheck-'));
    fs.writeFileSync(path.join(dir, 'tib.conf'), JSON.stringify({ port: Number(port) }));
    expect(await check({ TIB_CONF_PATH: path.join(dir, 'tib.conf') })).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(await check({ TYK_IB_PORT: String(await freePort()) })).toBe(1);
  });
});
