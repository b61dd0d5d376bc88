/**
 * The container image and the compose stack, checked without a container engine: Debian's docker-compose
 * validates docker-compose.yml; the Dockerfile builds with the README's `npm run build` and copies only files
 * that exist and are in the build context; the stack's tib.conf and profiles.json pass the broker's own
 * checks (with the variables compose gives it), and its parts agree with each other (secrets, hosts, the
 * IdP client, the directory's groups); the image's health check answers for a running broker.
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
  let config: { services: Record<string, { image?: string; ports?: unknown[]; scale?: number; volumes?: string[]; environment?: Record<string, string>; depends_on?: unknown }> };

  beforeAll(() => {
    // Debian's docker-compose (scripts/ensure-test-deps.sh installs it): a missing command fails, never skips.
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--project-directory', '.', 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'identity-broker' } });
    if (r.error) throw new Error(`docker-compose could not run (${r.error.message}): install it with scripts/ensure-test-deps.sh`);
    expect([r.status, r.stderr]).toEqual([0, '']);
    config = parse(r.stdout) as typeof config;
  });

  it('passes `docker-compose config`: two broker replicas on one published port range, Redis, OpenLDAP, Dex and the demo portal', () => {
    const s = config.services;
    expect(Object.keys(s).sort()).toEqual(['broker', 'dex', 'openldap', 'portal', 'redis']);
    expect(s.broker?.scale).toBe(2);
    expect(s.broker?.ports).toEqual([{ published: '3010-3011', target: 3010 }]);
    expect(s.openldap?.image).toMatch(/openldap/);
    expect(s.dex?.image).toMatch(/dexidp\/dex:v2\.(4[5-9]|[5-9]\d)/);
    expect(s.redis?.image).toMatch(/^redis:/);
  });

  it('mounts tib.conf and profiles.json where TIB\'s image has them, and every mounted file exists', () => {
    const mounts = Object.values(config.services).flatMap((svc) => svc.volumes ?? []);
    for (const m of mounts) {
      const [host] = m.split(':');
      expect([host, fs.existsSync(host as string)]).toEqual([host, true]);
    }
    expect(config.services.broker?.volumes).toEqual([`${ROOT}/deploy/tib.conf:/opt/tyk-identity-broker/tib.conf:ro`, `${ROOT}/deploy/profiles.json:/opt/tyk-identity-broker/profiles.json:ro`]);
  });

  it('the stack\'s tib.conf and profiles.json pass the broker\'s own checks (--strict) with the variables compose sets', async () => {
    const env = config.services.broker?.environment ?? {};
    expect(Object.keys(env).every((k) => k.startsWith('TYK_IB_'))).toBe(true);
    // The image creates /opt/tyk-identity-broker for its user (checked above); here a writable stand-in.
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'container-test-'));
    try {
      const r = await preflight({ confPath: path.join(ROOT, 'deploy/tib.conf'), profilesPath: path.join(ROOT, 'deploy/profiles.json'), env: { ...env, TYK_IB_PROFILEDIR: profileDir }, strict: true });
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
    const conf = JSON.parse(read('deploy/tib.conf')) as { BackEnd: { IdentityBackendSettings: { Addrs: string[] } }; TykAPISettings: { DashboardConfig: { Endpoint: string; Port: string } } };
    const { profiles, problems } = await loadProfilesFile(path.join(ROOT, 'deploy/profiles.json'), undefined, TIB_RULES);
    expect(problems).toEqual([]);
    const byId = (id: string) => profiles.find((p) => p.ID === id) as Profile;
    const services = Object.keys(s);
    expect(services).toContain(conf.BackEnd.IdentityBackendSettings.Addrs[0]?.split(':')[0]);

    // The demo portal: the Dashboard endpoint, the profiles' DashboardCredential, the admin secret.
    const portalEnv = s.portal?.environment ?? {};
    expect(new URL(conf.TykAPISettings.DashboardConfig.Endpoint).hostname).toBe('portal');
    expect(conf.TykAPISettings.DashboardConfig.Port).toBe(portalEnv.DEMO_PORTAL_PORT);
    for (const p of profiles) expect(p.IdentityHandlerConfig?.DashboardCredential).toBe(portalEnv.DEMO_PORTAL_API_SECRET);
    expect(portalEnv.DEMO_PORTAL_ADMIN_SECRET).toBe(s.broker?.environment?.TYK_IB_TYKAPISETTINGS_DASHBOARDCONFIG_ADMINSECRET);
    expect(s.portal?.ports).toEqual([{ published: Number(portalEnv.DEMO_PORTAL_PORT), target: Number(portalEnv.DEMO_PORTAL_PORT) }]);

    // Dex: the issuer the profile discovers, the client it authenticates as, the callback it registers.
    const dex = parse(read('deploy/dex.yaml')) as { issuer: string; staticClients: Array<{ id: string; secret: string; redirectURIs: string[] }>; staticPasswords: Array<{ groups?: string[] }> };
    const oidc = byId('oidc-dashboard');
    const entry = (oidc.ProviderConfig?.UseProviders as Array<Record<string, string>>)[0] as Record<string, string>;
    expect(entry.DiscoverURL).toBe(`${dex.issuer}/.well-known/openid-configuration`);
    expect(services).toContain(new URL(dex.issuer).hostname);
    expect(dex.staticClients).toEqual([{ id: entry.Key, name: expect.any(String), secret: entry.Secret, redirectURIs: [`${oidc.ProviderConfig?.CallbackBaseURL}/auth/${oidc.ID}/openid-connect/callback`] }]);
    // Some Dex user in each mapped group, and one in none (the default team).
    const dexGroups = dex.staticPasswords.map((u) => u.groups ?? []);
    for (const g of Object.keys(oidc.UserGroupMapping ?? {})) expect(dexGroups.some((gs) => gs.includes(g))).toBe(true);
    expect(dexGroups.some((gs) => gs.length === 0)).toBe(true);

    // OpenLDAP: the server, the admin password, and entries for the users and the mapped groups.
    const ldap = byId('ldap-portal');
    const pc = ldap.ProviderConfig as Record<string, string>;
    const baseDn = String(pc.LDAPBaseDN).toLowerCase();
    expect(services).toContain(pc.LDAPServer);
    expect(s.openldap?.environment?.LDAP_ADMIN_PASSWORD).toBe(pc.LDAPAdminPassword);
    const ldif = fs.readdirSync(path.join(ROOT, 'deploy/ldap')).map((f) => read(`deploy/ldap/${f}`)).join('\n');
    const dns = [...ldif.matchAll(/^dn: (.+)$/gm)].map((m) => (m[1] as string).toLowerCase());
    const suffix = `dc=${String(s.openldap?.environment?.LDAP_DOMAIN).split('.').join(',dc=')}`;
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
